// The compiled policy: built once from a Policy plus the session's variables, then
// immutable and safe to share between threads.
//
// File and network questions are answered by the snapshot (policy/snapshot_view.h) that
// the engine compiles — the very blob the hook maps — so the supervisor, the proxy, the
// tracer and the hook cannot disagree. Command questions (PCRE2 args_patterns, wrapper
// unwrapping) are answered here, in the supervisor.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/decision.h"
#include "policy/policy_model.h"
#include "policy/snapshot_view.h"

namespace agentsh::policy {

class Regex;

// Variables for ${NAME} / ${NAME:-default} expansion. PROJECT_ROOT, GIT_ROOT, HOME,
// TMPDIR, WORKSPACE are filled by the caller; anything else falls back to the process
// environment, then to the default, else expansion fails at compile time. An empty value
// counts as no value: an empty ${GIT_ROOT} must not turn "${GIT_ROOT}/**" into "/**".
using Variables = std::map<std::string, std::string>;

struct EngineOptions {
  ApprovalMode approval_mode = ApprovalMode::kNone;
  bool enforce = true;  // false = observe: decide and audit, never deny
  // Session plumbing copied into the snapshot header (see snapshot_format.h).
  std::string session_id, broker_socket, hook_library, snapshot_path;
  uint16_t proxy_port = 0, dns_port = 0;
  std::string trash_dir;
  uint64_t gate_addr = 0;
  uint32_t snapshot_flags = 0;  // snapshot::HeaderFlags beyond kFlagEnforce
  // Compile the exec fast table into the snapshot (snapshot_format.h ExecFast). Off: the
  // hook asks the broker about every exec (AGENTSH_HOOK_EXEC_FAST=0, for A/B runs).
  bool exec_fast_table = true;
  // agentsh's own files: always readable, never writable (library, snapshot, runtime
  // dir), and hidden paths (audit database, CA key).
  std::vector<std::string> protect_readonly, protect_hidden;
};

// What happens, after approvals are taken into account.
enum class Effect : uint8_t {
  kAllow,
  kDeny,
  kAsk,  // approve, and someone can approve: the caller must ask, then allow or deny
};

struct Verdict {
  Decision decision = Decision::kDeny;  // what the policy says
  Effect effect = Effect::kDeny;        // what happens
  std::string rule;                     // matching rule name (or default-deny-*)
  std::string message;                  // message with {{.Path}} etc. expanded
  std::string reason;                   // one line for humans: why this effect
  std::string redirect_to;              // file redirect target / signal
  std::optional<CommandRedirect> command_redirect;
  // For commands: the command (after unwrapping) that decided, e.g. "sudo" for
  // `env sudo whoami`. For files: the normalised path. For network: "host:port".
  std::string subject;
};

class Engine {
 public:
  // Returns null and fills `error` if a variable cannot be expanded or a pattern does
  // not compile (the loader has already validated syntax).
  static std::unique_ptr<Engine> compile(const Policy& policy, const Variables& vars,
                                         const EngineOptions& options, std::string* error);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // `abs_path` is normalised here ("..", "//"); a relative path is denied.
  Verdict check_file(std::string_view abs_path, FileOp op) const;
  // argv[0] is the command as given (name or path); `resolved` the executable path if
  // known (both are judged; the stricter wins). Wrappers (env, nice, nohup, timeout,
  // time, stdbuf, xargs, setsid, chrt, ionice, taskset, exec, command, find -exec, eval,
  // sh/bash/dash/zsh/ksh -c SCRIPT) are unwrapped (policy/command_unwrap.h); every layer
  // is checked; the strictest wins. Rules with `context: [nested]` apply to layers found
  // inside the command line, and to the whole command line when `nested` is true (the
  // caller saw it exec'd by another governed process rather than asked for directly).
  // Precedence between rules: see policy/README.md ("two tiers, stricter wins").
  Verdict check_command(const std::vector<std::string>& argv, std::string_view resolved = {},
                        bool nested = false) const;
  // `domain` may be empty; `ip` may be empty (not resolved). Port 0 = any.
  Verdict check_network(std::string_view domain, std::string_view ip, uint16_t port) const;
  // True if the variable may reach the command (deny globs win, then allow globs; no
  // allow list = allow).
  bool env_allowed(std::string_view name) const;
  // True if a deny glob names the variable (the allow list is not consulted): the test
  // for variables passed on purpose (API exec `env`, `agentsh exec --env`).
  bool env_denied(std::string_view name) const;
  // Builds the environment a command sees from `in`: denied names removed, then
  // max_keys / max_bytes enforced (what does not fit is dropped, in order, and reported).
  std::vector<std::string> filter_env(const std::vector<std::string>& in,
                                      std::vector<std::string>* dropped) const;

  // dns_redirects: the first rule whose regex matches the whole (lower-case) name, or null.
  const DnsRedirect* dns_redirect_for(std::string_view name) const;
  // connect_redirects: the first rule whose regex matches "host:port" (or "host" alone),
  // or null.
  const ConnectRedirect* connect_redirect_for(std::string_view host, uint16_t port) const;

  const Policy& policy() const { return policy_; }
  const Variables& variables() const { return vars_; }
  ApprovalMode approval_mode() const { return options_.approval_mode; }
  // The compiled snapshot (write it to a file for the hook) and a view over it.
  const std::string& snapshot_bytes() const { return snapshot_; }
  const snapshot::View& view() const { return view_; }

 private:
  Engine() = default;
  struct CompiledCommandRule;
  Verdict effect_of(Decision d, std::string rule, std::string message) const;
  Verdict check_one_command(const std::vector<std::string>& argv, std::string_view resolved,
                            bool nested) const;

  Policy policy_;
  Variables vars_;
  EngineOptions options_;
  std::string snapshot_;
  snapshot::View view_;
  std::vector<std::unique_ptr<CompiledCommandRule>> command_rules_;
  std::vector<std::string> env_allow_, env_deny_;
  std::vector<std::unique_ptr<Regex>> dns_match_, connect_match_;  // parallel to policy_
};

// Like expand_vars, for text that becomes a glob: the values of variables are inserted
// literally (glob metacharacters and brace syntax in them are escaped with '\').
bool expand_vars_glob(std::string_view in, const Variables& vars, std::string* out,
                      std::string* error);

// Expands ${NAME} and ${NAME:-default} in `in`. Returns false (and names the variable in
// `error`) when a variable has no value and no default.
bool expand_vars(std::string_view in, const Variables& vars, std::string* out, std::string* error);

// Checks the ${NAME} / ${NAME:-default} syntax of `in` (nested defaults allowed) without
// looking anything up; `out` gets the text with each variable replaced by `stand_in`.
bool check_vars(std::string_view in, std::string_view stand_in, std::string* out,
                std::string* error);

// Expands {a,b} alternatives (nested allowed) into every combination. A brace group
// without a top-level comma, and anything escaped with '\', stays literal.
std::vector<std::string> expand_braces(std::string_view pattern);

}  // namespace agentsh::policy
