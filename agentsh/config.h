// The server/runtime configuration (config.yaml), schema-compatible with the reference.
// Lookup: --config, $AGENTSH_CONFIG, ./config.yaml, /etc/agentsh/config.yaml, else the
// embedded default (agentsh/embedded.h).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "policy/decision.h"
#include "proxy/llm_rate_limiter.h"

namespace agentsh {

struct DlpPattern {
  std::string name, display, regex;
};

struct Config {
  std::string source;  // path, or "<embedded>"

  // server
  std::string http_addr = "127.0.0.1:18080";
  int64_t read_timeout_ms = 30000, write_timeout_ms = 60000;
  uint64_t max_request_bytes = 10u << 20;

  // logging
  std::string log_level = "info", log_format = "text", log_output = "stderr";

  // sessions
  std::string sessions_dir = "/var/lib/agentsh/sessions";
  int max_sessions = 50;
  int64_t session_timeout_ms = 3600000, session_idle_timeout_ms = 900000;

  // audit
  bool audit_enabled = true;
  std::string audit_db = "/var/lib/agentsh/events.db";

  // sandbox
  bool sandbox_enabled = true, allow_degraded = true;
  bool network_enabled = true;
  bool seccomp_enabled = true, ptrace_enabled = true;
  // agentsh extension (not in the reference schema): sandbox.hook.enabled: false runs
  // the tracer alone — used to show the safety net holds the line by itself.
  bool hook_enabled = true;
  std::map<std::string, std::string> env_inject;  // bypasses env_policy

  // proxy
  std::string proxy_mode = "embedded";
  int proxy_port = 0;
  std::map<std::string, std::string> providers;  // name → base URL
  // proxy.rate_limits (agentsh extension): LLM requests/tokens per minute, 0 = unlimited.
  proxy::LlmRateLimits llm_rate_limits;

  // dlp
  std::string dlp_mode = "redact";          // redact | disabled
  std::map<std::string, bool> dlp_builtin;  // email, phone, credit_card, ssn, api_keys
  std::vector<DlpPattern> dlp_custom;

  // policies
  std::string policies_dir = "/etc/agentsh/policies";
  std::string default_policy = "default";

  // approvals
  bool approvals_enabled = false;
  std::string approvals_mode = "api";  // api | tty | shadow
  int64_t approvals_timeout_ms = 300000;

  // metrics / health
  bool metrics_enabled = true;
  std::string metrics_path = "/metrics", health_path = "/health", ready_path = "/ready";

  // The effective approval mode for the policy engine: kNone unless approvals are
  // enabled (api/tty) or the mode is explicitly "shadow".
  policy::ApprovalMode approval_mode() const;
};

struct ConfigLoad {
  bool ok = false;
  Config config;
  std::string error;                  // "file:line:col: message"
  std::vector<std::string> warnings;  // known reference sections we do not use yet
};

// Finds and loads the config following the lookup order. `explicit_path` may be empty.
ConfigLoad load_config(const std::string& explicit_path);
ConfigLoad load_config_text(const std::string& yaml, const std::string& origin);

// Resolves --policy NAME|PATH (empty = the config's default): a path if it contains '/'
// or ends in .yaml/.yml; else <policies_dir>/<NAME>.yaml; the name "default" falls back
// to the embedded default policy when no such file exists. Sets `origin` to the path or
// "<embedded>" and `text` to the YAML. Returns false with `error` set if not found.
bool resolve_policy(const Config& cfg, const std::string& policy_arg, std::string* origin,
                    std::string* text, std::string* error);

// A writable state directory for files the config does not place: the directory of
// audit_db if writable, else $XDG_STATE_HOME/agentsh or ~/.local/state/agentsh.
std::string state_dir(const Config& cfg);

// Where `agentsh exec` keeps validated policies (policy/loader_cache.h):
// <state_dir>/policy-cache. Hidden from the agent by the exec's snapshot: a file the
// agent could replace would decide what the agent may do.
std::string policy_cache_dir(const Config& cfg);

// Parses "30s", "5m", "1h", "250ms", "2h30m" → milliseconds; false if malformed.
bool parse_duration_ms(const std::string& s, int64_t* out);
// Parses "10MB", "512KB", "1GB", "1000" → bytes.
bool parse_size_bytes(const std::string& s, uint64_t* out);

}  // namespace agentsh
