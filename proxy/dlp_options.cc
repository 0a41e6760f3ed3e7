#include "proxy/dlp_options.h"

#include <algorithm>

#include "proxy/dlp_builtin_rules.h"

namespace agentsh::proxy {

bool DlpOptions::from_config(const Config& cfg, DlpOptions* out, std::string* error) {
  DlpOptions o;
  if (cfg.dlp_mode == "redact" || cfg.dlp_mode.empty()) {
    o.enabled = true;
  } else if (cfg.dlp_mode == "disabled") {
    o.enabled = false;
  } else {
    *error = "dlp.mode: unknown mode '" + cfg.dlp_mode + "' (expected redact or disabled)";
    return false;
  }
  const auto& known = dlp_builtin_rules::categories();
  for (const auto& [name, on] : cfg.dlp_builtin) {
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      *error = "dlp.patterns: unknown detector '" + name +
               "' (expected email, phone, credit_card, ssn or api_keys)";
      return false;
    }
    o.builtin[name] = on;
  }
  o.custom = cfg.dlp_custom;
  *out = std::move(o);
  return true;
}

}  // namespace agentsh::proxy
