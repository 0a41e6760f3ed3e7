// agentsh exec [--config F] [--policy P] [--workspace DIR] [--session ID] [--env K=V]…
//              [--no-tracer] -- CMD ARGS…
#include <cstdio>

#include "agentsh/arg_parser.h"
#include "agentsh/command_runner.h"
#include "agentsh/commands.h"

namespace agentsh::cmd {

int exec(const Args& args) {
  ArgParser p("exec");
  p.option("config").option("policy").option("workspace").option("session").option("command-id");
  p.repeated("env").flag("no-tracer").flag("no-hook");
  if (!p.parse(args, /*stop_at_positional=*/true)) return p.usage_error();
  RunOptions o;
  o.config_path = p.get("config");
  o.policy_arg = p.get("policy");
  o.workspace = p.get("workspace");
  o.session_id = p.get("session");
  o.session_explicit = p.has("session");
  o.command_id = p.get("command-id");
  o.hook_only = p.has("no-tracer");
  o.no_hook = p.has("no-hook");
  for (const auto& kv : p.get_all("env")) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0)
      return p.usage_error("--env wants NAME=VALUE, got '" + kv + "'");
    o.explicit_env.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  o.argv = p.rest();
  if (o.argv.empty()) return p.usage_error("no command given (agentsh exec -- CMD ARGS...)");
  return CommandRunner(o).run();
}

}  // namespace agentsh::cmd
