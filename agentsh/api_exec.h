// Runs one API exec request: the command goes through the agentsh binary itself,
//
//   /proc/self/exe exec --config <cfg> [--policy P] --session <id> --workspace <ws>
//                       [--env K=V]…
//                       -- <command> <args…>
//
// so the API gets exactly the policy, hook, tracer and audit of `agentsh exec`.
//
// * Environment: a clean, minimal one — PATH, HOME and LANG inherited from the server
//   (PATH and HOME defaulted when unset), TERM=dumb, AGENTSH_COMMAND_ID (so the
//   command's audit rows can be found) and AGENTSH_SERVER (so approvals reach this
//   server). Nothing else of the server's environment reaches the command; variables the
//   request names travel as --env K=V (subject to the env_policy deny list in exec).
// * Process: its own process group (stdin/stdout/stderr are pipes; every other fd of the
//   server is closed; signal mask and dispositions reset). stdin gets the request's
//   bytes, then EOF. stdout/stderr are captured up to `output_cap` bytes each (the rest
//   is read and dropped so the command never blocks on a full pipe; *_truncated says
//   so).
// * Timeout / cancel: SIGTERM to the group, SIGKILL after `kill_grace_ms`; exit_code is
//   then 124 and timed_out is set.
// * Request-scoped processes: when the command (agentsh exec) exits, whatever is left of
//   its process group (background jobs) is killed at once — before the command is reaped,
//   so the group id cannot have been reused. Output still held open by processes that
//   left the group (setsid daemons) is drained for at most `kill_grace_ms`.
//
// Thread-safety: run() may be called concurrently from many threads (no shared state;
// posix_spawn is safe in a multi-threaded process). It blocks for the command's life.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace agentsh {

struct ApiExecRequest {
  std::string session_id, workspace, command_id;
  std::string policy;  // the session's policy ("" = the config's default)
  std::string command;
  std::vector<std::string> args;
  std::vector<std::pair<std::string, std::string>> env;
  std::string working_dir;  // absolute; "" = the workspace
  std::string stdin_data;
  int64_t timeout_ms = 300000;
};

struct ApiExecResult {
  bool started = false;
  std::string error;  // why it could not start
  int exit_code = -1;
  bool timed_out = false;
  bool cancelled = false;
  std::string out, err;
  bool out_truncated = false, err_truncated = false;
  int64_t start_us = 0, end_us = 0, duration_ms = 0;
};

class ApiExec {
 public:
  struct Options {
    std::string agentsh = "/proc/self/exe";
    std::string config_path;  // "" = let exec do its own lookup
    std::string server_url;   // exported as AGENTSH_SERVER ("" = not set)
    size_t output_cap = 1u << 20;
    int64_t kill_grace_ms = 2000;
  };

  explicit ApiExec(Options opts) : opts_(std::move(opts)) {}

  std::vector<std::string> argv(const ApiExecRequest& req) const;
  std::vector<std::string> envp(const ApiExecRequest& req) const;
  // `cancel` (optional): when it becomes true the command is stopped like a timeout.
  ApiExecResult run(const ApiExecRequest& req, const std::atomic<bool>* cancel = nullptr) const;

 private:
  Options opts_;
};

}  // namespace agentsh
