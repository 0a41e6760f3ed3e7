// The default config.yaml and policies/default.yaml, compiled in (agentsh/embedded.S).
#pragma once

#include <string_view>

extern "C" const char agentsh_embedded_config[], agentsh_embedded_config_end[];
extern "C" const char agentsh_embedded_policy[], agentsh_embedded_policy_end[];

namespace agentsh::embedded {
inline std::string_view config() {
  return {agentsh_embedded_config,
          static_cast<size_t>(agentsh_embedded_config_end - agentsh_embedded_config)};
}
inline std::string_view policy() {
  return {agentsh_embedded_policy,
          static_cast<size_t>(agentsh_embedded_policy_end - agentsh_embedded_policy)};
}
}  // namespace agentsh::embedded
