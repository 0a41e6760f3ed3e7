#include "tracer/process_guard.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "tracer/remote_memory.h"

namespace agentsh::tracer {

namespace {
pid_t as_pid(uint64_t v) {
  return static_cast<pid_t>(static_cast<int32_t>(v));
}
}  // namespace

bool ProcessGuard::in_tree(pid_t pid) const {
  return pid > 0 && ctx_.procs.contains_tid(pid);
}

bool ProcessGuard::nested_pid_ns(const Caller& c) const {
  ino_t ns = proc_fs::ns_inode(c.tid, "pid");
  return ns != 0 && ns != ctx_.self_pid_ns;
}

Outcome ProcessGuard::deny(const Caller& c, const char* type, const char* what, pid_t target,
                           int sig) {
  std::string t = "pid " + std::to_string(target);
  if (sig >= 0) t += " signal " + std::to_string(sig);
  ctx_.audit_builtin(c.tgid, type, what, t, "tracer-outside-session",
                     "the target is not part of this session");
  return Outcome::error(c.info->deny_errno);
}

Outcome ProcessGuard::broadcast(const Caller& c, pid_t pgid, int sig) {
  int sent = 0, last_err = ESRCH;
  for (pid_t p : ctx_.procs.tgids()) {
    if (pgid == -1 ? p == c.tgid : getpgid(p) != pgid) continue;
    if (kill(p, sig) == 0)
      ++sent;
    else
      last_err = errno;
  }
  return sent > 0 ? Outcome::result(0) : Outcome::error(last_err);
}

Outcome ProcessGuard::signal(const Caller& c) {
  // A caller in a pid namespace of its own can only name processes inside it, all of
  // which descend from the tree.
  if (nested_pid_ns(c)) return Outcome::proceed();
  const char* name = c.info->name;
  switch (c.data->nr) {
    case SYS_kill: {
      pid_t pid = as_pid(c.arg(0));
      int sig = static_cast<int>(c.arg(1));
      if (pid > 0) return in_tree(pid) ? Outcome::proceed() : deny(c, "signal", name, pid, sig);
      if (pid == -1) return broadcast(c, -1, sig);
      pid_t pgid = pid == 0 ? getpgid(c.tid) : -pid;
      if (pgid <= 0) return Outcome::error(ESRCH);
      if (pgid == ctx_.self_pgid) return broadcast(c, pgid, sig);
      // A group whose leader is in the tree was made by the tree.
      if (in_tree(pgid)) return Outcome::proceed();
      return deny(c, "signal", name, pid, sig);
    }
    case SYS_tkill:
      return in_tree(as_pid(c.arg(0)))
                 ? Outcome::proceed()
                 : deny(c, "signal", name, as_pid(c.arg(0)), static_cast<int>(c.arg(1)));
    case SYS_tgkill:
    case SYS_rt_tgsigqueueinfo:
      return in_tree(as_pid(c.arg(1)))
                 ? Outcome::proceed()
                 : deny(c, "signal", name, as_pid(c.arg(1)), static_cast<int>(c.arg(2)));
    case SYS_rt_sigqueueinfo:
      return in_tree(as_pid(c.arg(0)))
                 ? Outcome::proceed()
                 : deny(c, "signal", name, as_pid(c.arg(0)), static_cast<int>(c.arg(1)));
    default:
      return Outcome::error(ENOSYS);
  }
}

Outcome ProcessGuard::pidfd_signal(const Caller& c) {
  ScopedFd pidfd = proc_fs::getfd(c.tid, static_cast<int>(c.arg(0)));
  if (!pidfd) return Outcome::error(EBADF);
  pid_t target = proc_fs::pidfd_target(pidfd.get());
  int sig = static_cast<int>(c.arg(1));
  if (target < 0) return Outcome::error(ESRCH);
  if (!in_tree(target)) return deny(c, "signal", c.info->name, target, sig);
  // Emulated on our duplicate: the caller cannot swap the pidfd after the check.
  siginfo_t info{};
  bool has_info = c.arg(2) != 0;
  if (has_info) {
    int r = remote_memory::read(c.tid, c.arg(2), &info, sizeof info);
    if (r < 0) return Outcome::error(-r);
  }
  long r = syscall(SYS_pidfd_send_signal, pidfd.get(), sig, has_info ? &info : nullptr,
                   static_cast<unsigned>(c.arg(3)));
  return Outcome::from_ret(r < 0 ? -errno : r);
}

Outcome ProcessGuard::ptrace(const Caller& c) {
  // Every tree member is already traced by the supervisor, so attaching inside the tree
  // could not work either; outside it is exactly what must not happen.
  return deny(c, "process", "ptrace", as_pid(c.arg(1)), -1);
}

Outcome ProcessGuard::process_vm(const Caller& c) {
  pid_t pid = as_pid(c.arg(0));
  bool self = pid == c.tgid || ctx_.procs.tgid_of(pid) == c.tgid;
  if (c.data->nr == SYS_process_vm_writev) {
    // Writing into another process could plant code in a hooked sibling; only a
    // process's own memory is fair game.
    if (self && !nested_pid_ns(c)) return Outcome::proceed();
    return deny(c, "process", c.info->name, pid, -1);
  }
  if (self || in_tree(pid) || nested_pid_ns(c)) return Outcome::proceed();
  return deny(c, "process", c.info->name, pid, -1);
}

Outcome ProcessGuard::pidfd_getfd(const Caller& c) {
  if (c.arg(2) != 0) return Outcome::error(EINVAL);
  ScopedFd pidfd = proc_fs::getfd(c.tid, static_cast<int>(c.arg(0)));
  if (!pidfd) return Outcome::error(EBADF);
  pid_t target = proc_fs::pidfd_target(pidfd.get());
  if (target < 0) return Outcome::error(ESRCH);
  if (!in_tree(target)) return deny(c, "process", c.info->name, target, -1);
  ScopedFd fd = proc_fs::pidfd_getfd(pidfd.get(), static_cast<int>(c.arg(1)));
  if (!fd) return Outcome::error(errno);
  return Outcome::install(std::move(fd), true);
}

}  // namespace agentsh::tracer
