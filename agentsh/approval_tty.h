// tty-mode approvals: one question on the terminal, with a timeout.
//
//   agentsh: approval needed — file read /root/.ssh/id_rsa
//     rule: protect-ssh-keys (SSH keys need approval)
//   Allow? [y/N] (denied in 300s):
//
// Typed-ahead input is discarded before asking (a stray "y" must not approve). Only
// "y"/"yes" (any case) approve; anything else, EOF, an error or the timeout deny.
// Thread-safety: questions are serialised process-wide (one at a time on the terminal).
#pragma once

#include <cstdint>
#include <string>

#include "agentsh/approval_client.h"

namespace agentsh::approval_tty {

// Asks on `tty_path` (normally /dev/tty, the controlling terminal). Never throws.
ApprovalOutcome ask(const ApprovalRequest& req, int64_t timeout_ms,
                    const std::string& tty_path = "/dev/tty");

}  // namespace agentsh::approval_tty
