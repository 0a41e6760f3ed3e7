#include "tracer/notification_handler.h"

#include <sys/prctl.h>
#include <sys/syscall.h>

#include <time.h>

#include <cerrno>
#include <string>

#include "tracer/arch_x86_64.h"

namespace agentsh::tracer {

namespace {
uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}
}  // namespace

void NotificationHandler::handle(const seccomp_notif& n) {
  const uint64_t t0 = ctx_.stats.enabled() ? now_ns() : 0;
  Outcome o = decide(n);
  // Measured up to the answer: once answered, the caller may run on this CPU first.
  if (t0 != 0) ctx_.stats.notification(static_cast<int>(n.data.nr), now_ns() - t0);
  respond(n, o);
}

Outcome NotificationHandler::decide(const seccomp_notif& n) {
  Caller c;
  c.tid = static_cast<pid_t>(n.pid);
  c.id = n.id;
  c.data = &n.data;
  c.info = syscall_table::find(n.data.nr);
  Outcome o;
  if (c.info == nullptr || n.data.arch != arch::kAuditArch) {
    o = Outcome::error(ENOSYS);  // the filter only sends table rows; refuse anything else
  } else {
    c.tgid = ctx_.procs.tgid_of(c.tid);
    if (c.tgid == 0) {
      // Not registered yet (a fresh task whose first stop the ptrace thread has not
      // processed — it cannot run before that, so this is a process that left the table
      // in a race). Ask /proc; it is then treated with default state.
      proc_fs::Creds pc;
      c.tgid = proc_fs::read_creds(c.tid, &pc) ? pc.tgid : c.tid;
    }
    if (auto st = ctx_.procs.state(c.tid)) c.state = *st;
    try {
      o = dispatch(c);
    } catch (...) {
      // Out of memory or a Decider that threw: the call fails, the tree goes on.
      o = Outcome::error(c.info->deny_errno ? c.info->deny_errno : EPERM);
    }
  }
  return o;
}

void NotificationHandler::respond(const seccomp_notif& n, Outcome& o) {
  switch (o.kind) {
    case Outcome::Kind::kContinue:
      ctx_.listener.respond_continue(n.id);
      break;
    case Outcome::Kind::kError:
      ctx_.listener.respond_error(n.id, o.err == 0 ? EPERM : o.err);
      break;
    case Outcome::Kind::kValue:
      ctx_.listener.respond_value(n.id, o.value);
      break;
    case Outcome::Kind::kFd: {
      int r = ctx_.listener.respond_fd(n.id, o.fd.get(), o.cloexec);
      // EMFILE and friends: the caller gets the error instead of the fd.
      if (r < 0 && r != -ENOENT) ctx_.listener.respond_error(n.id, -r);
      break;
    }
  }
}

Outcome NotificationHandler::dispatch(const Caller& c) {
  switch (c.info->handler) {
    case Handler::kExec:
      return exec_.check(c);
    case Handler::kOpen:
      return fs_.open(c);
    case Handler::kPathOp:
      return fs_.path_op(c);
    case Handler::kTwoPathOp:
      return fs_.two_path_op(c);
    case Handler::kSymlink:
      return fs_.symlink(c);
    case Handler::kFdMeta:
      return fs_.fd_meta(c);
    case Handler::kConnect:
      return net_.connect(c);
    case Handler::kSendto:
      return net_.sendto(c);
    case Handler::kSendmsg:
      return net_.sendmsg(c);
    case Handler::kGetpeername:
      return net_.getpeername(c);
    case Handler::kSignal:
      return proc_.signal(c);
    case Handler::kPidfdSignal:
      return proc_.pidfd_signal(c);
    case Handler::kPtrace:
      return proc_.ptrace(c);
    case Handler::kProcessVm:
      return proc_.process_vm(c);
    case Handler::kPidfdGetfd:
      return proc_.pidfd_getfd(c);
    case Handler::kAlwaysDeny:
      return always_deny(c);
    case Handler::kTaint:
      return taint(c);
    case Handler::kUmask:
      ctx_.procs.update(c.tid, [&](ProcState& s) { s.umask = c.arg(0) & 0777; });
      return Outcome::proceed();
    case Handler::kPrctl:
      return prctl(c);
    case Handler::kMemoryGuard:
      return gate_.check(c);
  }
  return Outcome::error(ENOSYS);
}

bool NotificationHandler::changes_nothing(const Caller& c) {
  // make's children call setresuid(-1, 0, -1) as root before every recipe: a taint
  // there made every compiler of a build pay a /proc read and a credential switch on
  // each emulated call. A set*id whose every named id is already the calling thread's
  // (ids are per thread; glibc's broadcast makes each thread a caller of its own) changes
  // no id and so, by the kernel's rules, no capability either. The arguments are
  // registers: nothing to race.
  const int nr = c.data->nr;
  if (nr != SYS_setuid && nr != SYS_setgid && nr != SYS_setresuid && nr != SYS_setresgid &&
      nr != SYS_setfsuid && nr != SYS_setfsgid)
    return false;
  proc_fs::Creds cur;
  if (!proc_fs::read_creds(c.tid, &cur) || !ctx_.listener.id_valid(c.id)) return false;
  const bool uid = nr == SYS_setuid || nr == SYS_setresuid || nr == SYS_setfsuid;
  uint32_t ids[4];  // real, effective, saved, filesystem
  for (int i = 0; i < 4; ++i) ids[i] = uid ? cur.uid[i] : cur.gid[i];
  auto same = [&](int arg, int field) {
    uint32_t v = static_cast<uint32_t>(c.arg(arg));
    return v == 0xffffffffu || v == ids[field];
  };
  auto all = [&](int arg) {
    uint32_t v = static_cast<uint32_t>(c.arg(arg));
    return v == ids[0] && v == ids[1] && v == ids[2] && v == ids[3];
  };
  switch (nr) {
    case SYS_setuid:
    case SYS_setgid:
      return all(0);
    case SYS_setresuid:
    case SYS_setresgid:
      // The effective id is also the new filesystem id.
      return same(0, 0) && same(1, 1) && same(2, 2) && same(1, 3);
    default:  // setfsuid, setfsgid
      return same(0, 3);
  }
}

Outcome NotificationHandler::taint(const Caller& c) {
  if (c.state.foreign_creds || changes_nothing(c)) return Outcome::proceed();
  // Recorded before the call runs, so no emulated operation can see the new credentials
  // without knowing they changed. Sticky and inherited: conservative, never wrong.
  ctx_.procs.update(c.tid, [](ProcState& s) { s.foreign_creds = true; });
  return Outcome::proceed();
}

Outcome NotificationHandler::prctl(const Caller& c) {
  if (static_cast<int>(c.arg(0)) == PR_SET_DUMPABLE) {
    // An unprivileged supervisor cannot read the memory of a non-dumpable process, and
    // then could not decide its calls at all. It keeps the process dumpable and says
    // yes; a root supervisor lets the change happen.
    if (c.arg(1) == 0 && !ctx_.privileged) return Outcome::result(0);
    return Outcome::proceed();
  }
  return taint(c);
}

Outcome NotificationHandler::always_deny(const Caller& c) {
  std::string rule = std::string("tracer-deny-") + c.info->name;
  ctx_.audit_builtin(c.tgid, "system", c.info->name, "pid " + std::to_string(c.tgid), rule,
                     std::string(c.info->name) + " is not allowed under agentsh");
  return Outcome::error(c.info->deny_errno);
}

}  // namespace agentsh::tracer
