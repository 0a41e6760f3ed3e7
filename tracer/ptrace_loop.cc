#include "tracer/ptrace_loop.h"

#include <linux/kcmp.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace agentsh::tracer {

void PtraceLoop::add_child(pid_t parent, pid_t child, int event) {
  bool thread = false, shares_files = false;
  if (event == PTRACE_EVENT_CLONE) {
    pid_t ptgid = ctx_.procs.tgid_of(parent);
    // tgkill(tgid, tid, 0) succeeds iff tid belongs to tgid: a thread, not a process.
    thread = ptgid != 0 && syscall(SYS_tgkill, ptgid, child, 0) == 0;
    if (!thread) shares_files = syscall(SYS_kcmp, parent, child, KCMP_FILES, 0, 0) == 0;
  }
  ctx_.procs.add_child(parent, child, thread, shares_files);
}

void PtraceLoop::add_unannounced(pid_t pid) {
  // The new task's first stop overtook its creator's clone event.
  proc_fs::Creds pc;
  if (!proc_fs::read_creds(pid, &pc)) {
    ctx_.procs.add_child(0, pid, false, false);
    return;
  }
  if (pc.tgid != pid)
    ctx_.procs.add_child(pc.tgid, pid, true, false);
  else
    ctx_.procs.add_child(pc.ppid, pid, false,
                         syscall(SYS_kcmp, pc.ppid, pid, KCMP_FILES, 0, 0) == 0);
}

int PtraceLoop::run(pid_t root) {
  int root_status = 0;
  for (;;) {
    int st = 0;
    pid_t pid = waitpid(-1, &st, __WALL | __WNOTHREAD);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: the whole tree is gone
    }
    if (WIFEXITED(st) || WIFSIGNALED(st)) {
      if (pid == root) root_status = st;
      if (ctx_.stats.enabled()) ctx_.stats.exit_reaped();
      if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
        ctx_.audit_builtin(pid, "system", "foreign-abi", "pid " + std::to_string(pid),
                           "tracer-foreign-abi",
                           "killed by SIGSYS: an i386 (int $0x80) or x32 system call");
      }
      ctx_.procs.remove(pid);
      continue;
    }
    if (!WIFSTOPPED(st)) continue;
    const int sig = WSTOPSIG(st);
    const int event = st >> 16;
    unsigned long msg = 0;
    if (ctx_.stats.enabled()) ctx_.stats.stop(event);
    switch (event) {
      case PTRACE_EVENT_FORK:
      case PTRACE_EVENT_VFORK:
      case PTRACE_EVENT_CLONE:
        if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) == 0)
          add_child(pid, static_cast<pid_t>(msg), event);
        ptrace(PTRACE_CONT, pid, 0, 0);
        break;
      case PTRACE_EVENT_EXEC:
        if (ptrace(PTRACE_GETEVENTMSG, pid, 0, &msg) != 0) msg = static_cast<unsigned long>(pid);
        if (!exec_.verify(pid, static_cast<pid_t>(msg))) kill(pid, SIGKILL);
        ptrace(PTRACE_CONT, pid, 0, 0);
        break;
      case PTRACE_EVENT_STOP:
        if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) {
          ptrace(PTRACE_LISTEN, pid, 0, 0);  // group-stop: stay stopped, keep watching
        } else {
          if (!ctx_.procs.contains_tid(pid)) add_unannounced(pid);
          ptrace(PTRACE_CONT, pid, 0, 0);
        }
        break;
      case 0:
        ptrace(PTRACE_CONT, pid, 0, sig);  // signal-delivery-stop: deliver it unchanged
        break;
      default:
        ptrace(PTRACE_CONT, pid, 0, 0);
        break;
    }
  }
  return root_status;
}

}  // namespace agentsh::tracer
