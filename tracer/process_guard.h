// Keeps the tree's hands off everything outside it: signals (kill family, pidfd
// signals) reach only processes of the supervised tree, ptrace is refused, another
// process's memory can be read only inside the tree and written by nobody but its owner,
// and pidfd_getfd works only on tree members. The supervisor is never in the tree, so
// the agent can neither kill it nor attach to it nor take its fds (the notification fd
// among them). Denials are EPERM, audited.
// Thread-safety: as FsEmulator.
#pragma once

#include "tracer/notification.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class ProcessGuard {
 public:
  explicit ProcessGuard(SupervisorContext& ctx) : ctx_(ctx) {}
  Outcome signal(const Caller& c);        // kill, tkill, tgkill, rt_(tg)sigqueueinfo
  Outcome pidfd_signal(const Caller& c);  // pidfd_send_signal
  Outcome ptrace(const Caller& c);
  Outcome process_vm(const Caller& c);
  Outcome pidfd_getfd(const Caller& c);

 private:
  bool in_tree(pid_t pid) const;
  bool nested_pid_ns(const Caller& c) const;
  Outcome deny(const Caller& c, const char* type, const char* what, pid_t target, int sig);
  // kill(0)/kill(-pgid)/kill(-1) when the group is shared with the supervisor: the
  // signal goes to each tree member of the group, one by one.
  Outcome broadcast(const Caller& c, pid_t pgid, int sig);
  SupervisorContext& ctx_;
};

}  // namespace agentsh::tracer
