// Guards the syscall gate page against forgery and tampering (see README.md).
//
// The prefilter sends a memory call here only when its range may touch the gate's
// 4 GiB slice. Here the exact rule: in an address space whose image is dynamic (so the
// hook can be loaded: GateState::kEligible) the gate may be set up once, exactly as the
// hook does it — mmap(gate, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS|
// MAP_FIXED_NOREPLACE), then mprotect(gate, 4096, PROT_READ|PROT_EXEC) (that exact call
// is allowed by the filter without a round trip), after which nothing else may touch it. Everything
// else that touches the page — a static binary mapping code there, remapping it writable, unmapping
// or moving it, mremap-ing another mapping onto it, executable shared memory over it,
// READ_IMPLIES_EXEC — is EPERM, audited. Thread-safety: state transitions happen under the process
// table's lock.
#pragma once

#include "tracer/notification.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class GateGuard {
 public:
  explicit GateGuard(SupervisorContext& ctx) : ctx_(ctx) {}
  Outcome check(const Caller& c);

 private:
  Outcome deny(const Caller& c, const char* why);
  SupervisorContext& ctx_;
};

}  // namespace agentsh::tracer
