// Everything a command needs before the policy is compiled: the config (lookup order),
// the session (if any), the workspace and its project roots, the policy variables and
// the loaded (validated) policy. Shared by exec, debug policy-test and the server.
#pragma once

#include <optional>
#include <string>

#include "agentsh/config.h"
#include "agentsh/session_store.h"
#include "policy/engine.h"
#include "policy/policy_model.h"

namespace agentsh {

struct ContextRequest {
  std::string config_path;
  std::string policy_arg;
  std::string workspace;          // "" = session workspace, else cwd
  std::string session_id;         // "" = none
  bool session_required = false;  // an unknown session is an error (else ignored)
  // Keep validated policies in <state>/cache (policy/loader_cache.h): a valid policy
  // seen before is read back instead of parsed. Invalid policies are always parsed, so
  // diagnostics are the same either way. For `agentsh exec`, whose start-up it shortens
  // and whose snapshot hides that directory from the agent.
  bool use_policy_cache = false;
};

struct PolicyContext {
  Config cfg;
  std::optional<SessionInfo> session;
  std::string session_id;  // as requested, even when no session file was found
  std::string workspace;   // absolute, real
  policy::Variables vars;
  std::string policy_origin;  // path or "<embedded>"
  policy::Policy policy;
  std::vector<std::string> warnings;  // config + policy warnings (callers decide to show)
  std::string policy_cache_dir;       // the policy cache used ("" = none): to hide it
};

// Returns false with a one-line `error` (already prefixed with what failed).
bool load_policy_context(const ContextRequest& req, PolicyContext* out, std::string* error);

}  // namespace agentsh
