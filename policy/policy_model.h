// The validated policy model: what a policy YAML says, after the loader checked it.
// Mirrors the reference schema (see ../shared/reference/policies). Plain data.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "policy/decision.h"

namespace agentsh::policy {

// Where a rule came from, for error messages and `Rule:` lines.
struct SourcePos {
  std::string file;
  int line = 0;    // 1-based; 0 = unknown
  int column = 0;  // 1-based
};

struct EnvPolicy {
  std::vector<std::string> allow;  // globs; empty = allow all not denied
  std::vector<std::string> deny;   // globs; deny wins
  uint64_t max_bytes = 0;          // 0 = unlimited
  uint32_t max_keys = 0;           // 0 = unlimited
  bool block_iteration = false;
  bool present = false;
};

struct FileRule {
  std::string name, description, message;
  std::vector<std::string> paths;  // globs, variables not yet expanded
  OpMask ops = 0;
  Decision decision = Decision::kDeny;
  std::string redirect_to;
  bool preserve_tree = false;  // redirect: keep the directory structure under redirect_to
  int64_t timeout_ms = 0;
  SourcePos pos;
};

struct NetworkRule {
  std::string name, description, message;
  std::vector<std::string> domains;
  std::vector<std::string> cidrs;
  std::vector<std::pair<uint16_t, uint16_t>> ports;  // inclusive ranges
  Decision decision = Decision::kDeny;
  int64_t timeout_ms = 0;
  SourcePos pos;
};

struct CommandRedirect {
  std::string command;
  std::vector<std::string> args;                   // put before the original arguments
  std::vector<std::string> args_append;            // put after them
  std::map<std::string, std::string> environment;  // overrides for the redirected command
};

struct CommandRule {
  std::string name, description, message;
  std::vector<std::string> commands;       // basename, path or glob
  std::vector<std::string> args_patterns;  // PCRE2, unanchored, over args joined by ' '
  Decision decision = Decision::kDeny;
  std::optional<CommandRedirect> redirect_to;
  std::vector<std::string> context;  // optional: "direct", "nested" (where the rule applies)
  int64_t timeout_ms = 0;
  SourcePos pos;
};

struct SignalRule {
  std::string name, description, message;
  std::vector<std::string> signals;        // "SIGTERM", "15", "@all", "@job", "@fatal", …
  std::string target;                      // self, children, descendants, siblings, session,
                                           // parent, external, system, user, process, pid_range
  std::string target_pattern;              // target process: a glob over the process name
  int64_t target_min = 0, target_max = 0;  // target pid_range: inclusive
  Decision decision = Decision::kDeny;
  std::string redirect_to;  // a signal name, for decision redirect
  std::optional<Decision> fallback;
  int64_t timeout_ms = 0;
  SourcePos pos;
};

// dns_redirects / connect_redirects follow the reference schema: `match` is a regular
// expression (PCRE2 here) that must match the whole name (the reference design: "regex,
// full string match"). Use Engine::dns_redirect_for / connect_redirect_for to evaluate.
struct DnsRedirect {
  std::string name;
  std::string match;       // regex over the queried name (lower-case, no trailing dot)
  std::string resolve_to;  // IP address
  std::string visibility;  // "silent" | "audit_only" (default) | "warn"
  std::string on_failure;  // "fail_closed" (default) | "fail_open" | "retry_original"
  SourcePos pos;
};

struct ConnectRedirect {
  std::string name;
  std::string match;        // regex over "host:port", or over "host" alone (any port)
  std::string redirect_to;  // "host:port"
  std::string tls_mode;     // "passthrough" (default) | "rewrite_sni"
  std::string sni;          // for rewrite_sni
  std::string visibility;   // "silent" | "audit_only" (default) | "warn"
  std::string message;
  std::string on_failure;  // "fail_closed" (default) | "fail_open" | "retry_original"
  SourcePos pos;
};

struct ResourceLimits {
  int64_t max_memory_mb = 0, memory_swap_max_mb = -1, cpu_quota_percent = 0, pids_max = 0;
  int64_t disk_read_bps_max = 0, disk_write_bps_max = 0, net_bandwidth_mbps = 0;
  int64_t command_timeout_ms = 0, session_timeout_ms = 0, idle_timeout_ms = 0;
  bool present = false;
};

struct AuditSettings {
  bool log_allowed = false, log_denied = true, log_approved = true;
  bool include_stdout = false, include_stderr = false, include_file_content = false;
  int retention_days = 0;
  bool present = false;
};

struct Policy {
  int version = 1;
  std::string name, description;
  std::string source;  // file path, or "<embedded>"
  EnvPolicy env;
  std::vector<FileRule> file_rules;
  std::vector<NetworkRule> network_rules;
  std::vector<CommandRule> command_rules;
  std::vector<SignalRule> signal_rules;
  std::vector<DnsRedirect> dns_redirects;
  std::vector<ConnectRedirect> connect_redirects;
  ResourceLimits limits;
  AuditSettings audit;
};

}  // namespace agentsh::policy
