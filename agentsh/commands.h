// Every `agentsh` subcommand: int cmd_x(args) where args excludes "agentsh" and the
// subcommand word. Returns the process exit status (2 = bad usage).
#pragma once

#include <string>
#include <vector>

namespace agentsh::cmd {

using Args = std::vector<std::string>;

int exec(const Args& args);     // agentsh/cmd_exec.cc
int debug(const Args& args);    // agentsh/cmd_debug.cc   (policy-test)
int policy(const Args& args);   // agentsh/cmd_policy.cc  (validate, show)
int events(const Args& args);   // agentsh/cmd_events.cc  (query)
int server(const Args& args);   // agentsh/cmd_server.cc
int session(const Args& args);  // agentsh/cmd_session.cc (create, list, destroy)
int approve(const Args& args);  // agentsh/cmd_approve.cc (list, resolve)
int shim(const Args& args);     // agentsh/cmd_shim.cc    (install-shell, …)
int detect(const Args& args);   // agentsh/cmd_detect.cc
int llm(const Args& args);      // agentsh/cmd_llm.cc     (log)

}  // namespace agentsh::cmd
