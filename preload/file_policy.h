// File decisions: the policy's verdict on a path (snapshot::View::check_file) turned into
// what the hook does — proceed, deny with an errno, soft-delete, redirect, ask a person —
// with the audit record each of those owes.
//
// Two steps so the allow path costs nothing but the lookup: peek_allows() is pure (no
// syscalls, no side effects), decide() acts (audit, approval, warnings) and runs only
// once the exact path is known.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// untouched. Async-signal-safe except decide() for `approve`, which blocks on the broker.
#pragma once

#include <cstddef>

#include "policy/decision.h"

namespace agentsh::hook::file_policy {

// One or two operations that must both be allowed (O_CREAT|O_WRONLY = create + write).
struct Ops {
  policy::FileOp a;
  policy::FileOp b = policy::FileOp::kCount;  // kCount = none
};

struct Outcome {
  enum class Act : unsigned char { kProceed, kDeny, kSoftDelete, kRedirect };
  Act act = Act::kProceed;
  int err = 0;                   // for kDeny
  const char* redirect_to = "";  // for kRedirect (points into the snapshot)
  const char* rule = "";
  const char* message = "";
  policy::FileOp op = policy::FileOp::kRead;  // the operation that decided
};

// True when every op in `ops` is plainly allowed (decision allow) on `path`. False for
// audit, redirect, soft_delete, approve, deny, and in fail-closed mode.
bool peek_allows(const char* path, size_t len, Ops ops) noexcept;

// Decides `ops` on `path` (the exact, resolved path) and does what the decision owes:
// audit records, the approval round trip, observe-mode bookkeeping.
Outcome decide(const char* path, size_t len, Ops ops) noexcept;

// Sends the audit record for an operation the caller carried out itself (soft delete).
void audit(policy::FileOp op, const char* target, const char* rule, const char* decision,
           const char* message, int err) noexcept;

}  // namespace agentsh::hook::file_policy
