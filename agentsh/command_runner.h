// CommandRunner: what `agentsh exec` does. Loads config, session and policy, compiles
// the policy once into a snapshot, checks the top-level command, starts the broker (and,
// when available, the proxy and the tracer), builds the command's environment from
// env_policy, runs the command with the user's stdin/stdout/stderr and TTY untouched,
// forwards signals, and returns the command's status (128+N for a signal).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace agentsh {

struct RunOptions {
  std::string config_path;  // --config
  std::string policy_arg;   // --policy NAME|PATH
  std::string workspace;    // --workspace
  std::string session_id;   // --session (else $AGENTSH_SESSION_ID)
  bool session_explicit = false;
  std::string command_id;  // else $AGENTSH_COMMAND_ID, else generated
  std::vector<std::string> argv;
  // --env K=V: passed on purpose by the caller (e.g. the API); subject only to the deny
  // list of env_policy, not to its allow list.
  std::vector<std::pair<std::string, std::string>> explicit_env;
  bool hook_only = false;  // --no-tracer
  bool no_hook = false;    // --no-hook (tracer alone; for tests of the safety net)
};

class ExecEnv;

class CommandRunner {
 public:
  explicit CommandRunner(RunOptions opts);
  ~CommandRunner();
  // Returns the exit status for `agentsh exec`.
  int run();

 private:
  struct State;
  bool start_broker(const std::string& path, std::string* err);
  int spawn_and_wait(std::vector<std::string>& argv, const std::string& resolved,
                     const ExecEnv& env);

  RunOptions opts_;
  std::unique_ptr<State> st_;
};

}  // namespace agentsh
