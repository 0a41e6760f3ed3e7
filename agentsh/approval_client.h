// Asking a person: what the supervisor calls when a rule's decision is `approve`.
//
//   ApprovalOutcome out = approval_client::request_approval(cfg, {session, "file", "read",
//                                                                 "/root/.ssh/id_rsa", rule,
//                                                                 message, 0});
//
// Modes (cfg.approvals_mode, only when cfg.approvals_enabled; "shadow" needs neither):
//  * api    POSTs the request to the server's internal endpoint
//           (POST <server>/api/v1/internal/approvals) and waits — a long poll — until a
//           person answers through `GET /api/v1/approvals` + `POST /api/v1/approvals/{id}`
//           or `agentsh approve resolve ID --allow|--deny`, or the timeout passes. The
//           server is $AGENTSH_SERVER if set, else http://<cfg.http_addr>. The server
//           audits the request and its answer (who, when, why).
//  * tty    asks on /dev/tty ("Allow? [y/N]") with the timeout; audited here.
//  * shadow approved at once (approve = allow + audit), who = "shadow-mode".
// Fails closed: approvals disabled, no server reachable, no terminal, a timeout or any
// error → approved=false with a reason that says exactly which.
//
// Thread-safety: callable from any thread; tty prompts are serialised (one question on
// the terminal at a time). Blocks for up to timeout_ms (plus a few seconds of network
// slack in api mode). Not async-signal-safe; never call it in a forked child.
#pragma once

#include <cstdint>
#include <string>

#include "agentsh/config.h"

namespace agentsh {

struct ApprovalRequest {
  std::string session;     // session id ("" = none)
  std::string kind;        // audit type: file | exec | network | env | …
  std::string operation;   // read, write, exec, connect, …
  std::string target;      // path, command line, host:port
  std::string rule;        // the rule that said approve
  std::string message;     // the rule's message, shown to the person
  int64_t timeout_ms = 0;  // 0 = cfg.approvals_timeout_ms
};

struct ApprovalOutcome {
  bool approved = false;
  std::string who;     // "api:127.0.0.1", "cli:root", "tty:alice", "timeout", "shadow-mode", ""
  std::string reason;  // why (the person's reason, or why nobody could say yes)
};

namespace approval_client {

ApprovalOutcome request_approval(const Config& cfg, const ApprovalRequest& req);

// The server base URL the api mode talks to: $AGENTSH_SERVER, else http://<http_addr>
// (an empty or 0.0.0.0 host becomes 127.0.0.1).
std::string server_url(const Config& cfg);

}  // namespace approval_client
}  // namespace agentsh
