// The ptrace thread: follows the tree (every fork/vfork/clone/clone3 child is
// auto-attached, with PTRACE_O_EXITKILL so the tree dies with the supervisor), verifies
// each exec at PTRACE_EVENT_EXEC, passes signals and group-stops through unchanged, and
// keeps the process table in step with the kernel. It never stops a syscall: governed
// calls reach the supervisor through seccomp user notifications instead.
//
// Thread-safety: must run on the thread that PTRACE_SEIZEd the root (ptrace is
// per-thread).
#pragma once

#include <sys/types.h>

#include "tracer/exec_checker.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class PtraceLoop {
 public:
  PtraceLoop(SupervisorContext& ctx, ExecChecker& exec) : ctx_(ctx), exec_(exec) {}
  // Returns when no tracee is left: the raw wait status of `root` (which must already
  // be seized by this thread).
  int run(pid_t root);

 private:
  void add_child(pid_t parent, pid_t child, int event);
  void add_unannounced(pid_t pid);
  SupervisorContext& ctx_;
  ExecChecker& exec_;
};

}  // namespace agentsh::tracer
