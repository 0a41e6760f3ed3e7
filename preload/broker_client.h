// Talking to the supervisor's broker (protocol: common/broker_protocol.h) over the unix
// stream socket named in the snapshot header. One connection per request.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// untouched. Everything here is async-signal-safe and usable between vfork() and exec
// (stack buffers and iovecs only; the socket is SOCK_CLOEXEC and closed before return).
#pragma once

#include "common/broker_protocol.h"

namespace agentsh::hook::broker_client {

// Fire-and-forget audit record (kAudit). Never blocks the caller: a non-blocking socket,
// MSG_DONTWAIT; a broker that is gone or saturated loses the record, the call goes on.
// `err` is the errno returned to the program (0 = the operation was allowed).
void audit(const char* op, const char* target, const char* rule, const char* decision,
           const char* message, int err) noexcept;

// Asks a person through the broker (kApproval) and blocks until the Reply arrives.
// Returns true only for an explicit allow; an unreachable broker means no.
bool approve(const char* kind, const char* op, const char* target, const char* rule,
             const char* message) noexcept;

// Asks whether an exec may run (kExecCheck). Returns 0 with *reply filled, or -errno
// when the broker cannot be reached or answers garbage (the caller fails closed).
long exec_check(const char* resolved, const char* cwd, char* const argv[],
                broker::Reply* reply) noexcept;

// Hands the broker the audit record of an exec the hook allowed in-process (kExecAudit):
// one datagram to the door, no reply channel, MSG_DONTWAIT — the caller never waits.
// True only when the whole request was queued at the broker; false (too big for one
// datagram, no door, queue full, broker gone) means nothing was delivered and the
// caller must ask with exec_check instead, which records the exec itself.
bool exec_audit(const char* resolved, const char* cwd, char* const argv[]) noexcept;

}  // namespace agentsh::hook::broker_client
