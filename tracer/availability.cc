// Availability::probe(): can this process trace and filter here? Containers often say
// no (no CAP_SYS_PTRACE, a seccomp profile that refuses ptrace or seccomp(2), Yama
// ptrace_scope 3). Each question is asked of a throwaway child, so the caller itself
// never gets a filter or a tracer.
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "common/scoped_fd.h"
#include "tracer/arch_x86_64.h"
#include "tracer/supervisor.h"

namespace agentsh::tracer {

namespace {

int reap(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR) {
  }
  return st;
}

// Child exit codes of the seccomp probe.
enum : int {
  kSeccompOk = 0,     // filter, listener, sync wake-up all work
  kNoSyncWakeup = 1,  // filter and listener work, sync wake-up does not
  kNoListener = 2,    // a plain filter works, a listener does not
  kNoSeccomp = 3,     // no filter at all
  kNoNoNewPrivs = 4,
};

int seccomp_probe_child() {
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return kNoNoNewPrivs;
  sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  sock_fprog prog{1, allow};
  long fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, arch::kFilterFlagNewListener, &prog);
  if (fd < 0) {
    return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0 ? kNoListener : kNoSeccomp;
  }
  if (ioctl(static_cast<int>(fd), arch::kIoctlNotifSetFlags, arch::kUserNotifFdSyncWakeUp) != 0)
    return kNoSyncWakeup;
  return kSeccompOk;
}

}  // namespace

Availability Availability::probe() {
  Availability a;
  std::string why;

  // seccomp: in a child, because a filter can never be removed.
  pid_t c = fork();
  if (c == 0) _exit(seccomp_probe_child());
  if (c < 0) {
    a.why_not = std::string("fork: ") + strerror(errno);
    return a;
  }
  int st = reap(c);
  int code = WIFEXITED(st) ? WEXITSTATUS(st) : kNoSeccomp;
  a.seccomp = code <= kNoListener;
  a.user_notif = code <= kNoSyncWakeup;
  a.sync_wakeup = code == kSeccompOk;
  if (code == kNoNoNewPrivs)
    why = "prctl(PR_SET_NO_NEW_PRIVS) refused";
  else if (code == kNoSeccomp)
    why = "seccomp(2) filters are not allowed here";
  else if (code == kNoListener)
    why = "seccomp user notifications are not supported (kernel < 5.0?)";

  // ptrace: seize a child that waits on a pipe.
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    a.why_not = std::string("pipe: ") + strerror(errno);
    return a;
  }
  ScopedFd r(p[0]), w(p[1]);
  c = fork();
  if (c == 0) {
    char b;
    ssize_t n = read(r.get(), &b, 1);
    _exit(n == 1 ? 0 : 1);
  }
  if (c < 0) {
    a.why_not = std::string("fork: ") + strerror(errno);
    return a;
  }
  r.reset();
  if (::ptrace(PTRACE_SEIZE, c, 0, PTRACE_O_EXITKILL) == 0) {
    a.ptrace = true;
  } else {
    std::string e = strerror(errno);
    if (!why.empty()) why += "; ";
    why += "PTRACE_SEIZE failed: " + e +
           " (no CAP_SYS_PTRACE, a seccomp profile, or kernel.yama.ptrace_scope=3)";
  }
  kill(c, SIGKILL);
  w.reset();
  reap(c);
  a.why_not = why;
  return a;
}

}  // namespace agentsh::tracer
