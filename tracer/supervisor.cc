#include "tracer/supervisor.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "tracer/arch_x86_64.h"
#include "tracer/gate.h"
#include "tracer/notification_handler.h"
#include "tracer/ptrace_loop.h"
#include "tracer/supervisor_context.h"
#include "tracer/worker_pool.h"

namespace agentsh::tracer {

struct Supervisor::Impl {
  std::shared_ptr<SupervisorContext> ctx = std::make_shared<SupervisorContext>();
  std::shared_ptr<NotificationHandler> handler;
};

namespace {

bool make_pipe(ScopedFd* r, ScopedFd* w) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  r->reset(p[0]);
  w->reset(p[1]);
  return true;
}

// Async-signal-safe full write/read of a small buffer.
bool write_all(int fd, const void* buf, size_t len) {
  const char* p = static_cast<const char*>(buf);
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

bool read_all(int fd, void* buf, size_t len) {
  char* p = static_cast<char*>(buf);
  while (len > 0) {
    ssize_t n = read(fd, p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

long install_filter(unsigned long flags, const sock_fprog* prog) {
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, prog);
}

int wait_status(pid_t child) {
  int st = 0;
  while (waitpid(child, &st, __WALL) < 0 && errno == EINTR) {
  }
  return st;
}

}  // namespace

Supervisor::Supervisor(Options options) : opts_(std::move(options)) {}

Supervisor::~Supervisor() = default;

uint64_t choose_gate_address() {
  return gate::choose_address();
}

bool Supervisor::prepare(std::string* err) {
  if (opts_.decider == nullptr) {
    *err = "tracer: no policy decider given (integration bug)";
    return false;
  }
  avail_ = Availability::probe();
  const bool can_trace = avail_.ptrace && avail_.seccomp && avail_.user_notif;
  mode_ = can_trace ? Mode::kFull : Mode::kHookOnly;

  // Nothing in the tree may read this process: not its environment (API keys), not its
  // memory, not its fds.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

  if (mode_ == Mode::kHookOnly) {
    std::string why = avail_.why_not.empty() ? "unknown reason" : avail_.why_not;
    if (!opts_.hook_present) {
      *err = "agentsh: cannot govern this command: the tracer is unavailable (" + why +
             ") and the LD_PRELOAD hook is not in use. Run where ptrace and seccomp user "
             "notifications are allowed (e.g. a container with CAP_SYS_PTRACE and no "
             "seccomp profile blocking them), or enable the hook.";
      return false;
    }
    fprintf(stderr,
            "agentsh: WARNING: tracer unavailable (%s); running with the LD_PRELOAD hook "
            "ONLY. Static binaries, raw syscalls and programs that drop LD_PRELOAD are NOT "
            "governed in this session.\n",
            why.c_str());
    if (opts_.audit) {
      AuditEvent e;
      e.session = opts_.session_id;
      e.pid = getpid();
      e.type = "system";
      e.operation = "tracer";
      e.target = "hook-only";
      e.decision = "audit";
      e.effective = "allow";
      e.rule = "tracer-unavailable";
      e.message = "tracer unavailable (" + why + "): hook-only enforcement";
      e.source = "tracer";
      opts_.audit(e);
    }
    if (avail_.seccomp && !BpfProgram::build_abi_only(&abi_filter_, err)) return false;
    prepared_ = true;
    return true;
  }

  uint64_t gate = opts_.hook_present ? opts_.gate_addr : 0;
  if (!BpfProgram::build(gate, &filter_, err)) return false;
  if (!make_pipe(&to_parent_r_, &to_parent_w_) || !make_pipe(&to_child_r_, &to_child_w_)) {
    *err = std::string("tracer: pipe: ") + strerror(errno);
    return false;
  }

  impl_ = std::make_shared<Impl>();
  SupervisorContext& ctx = *impl_->ctx;
  ctx.decider = opts_.decider;
  ctx.audit_fn = opts_.audit;
  ctx.session_id = opts_.session_id;
  ctx.gate = gate;
  ctx.proxy_port = opts_.proxy_port;
  ctx.dns_port = opts_.dns_port;
  ctx.self_pid = getpid();
  ctx.self_pgid = getpgrp();
  ctx.self_pid_ns = proc_fs::ns_inode(0, "pid");
  ctx.self_user_ns = proc_fs::ns_inode(0, "user");
  if (!proc_fs::read_creds(ctx.self_pid, &ctx.self_creds)) {
    *err = "tracer: cannot read /proc/self/status (is /proc mounted?)";
    return false;
  }
  ctx.privileged = geteuid() == 0;
  const char* stats = getenv("AGENTSH_TRACER_STATS");
  if (stats != nullptr && *stats != '\0' && strcmp(stats, "0") != 0) ctx.stats.enable();
  ctx.proc_self_fd.reset(open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!ctx.proc_self_fd) {
    *err = "tracer: cannot open /proc/self/fd (is /proc mounted?)";
    return false;
  }
  impl_->handler = std::make_shared<NotificationHandler>(ctx);
  prepared_ = true;
  return true;
}

int Supervisor::in_child() noexcept {
  if (!prepared_) return EINVAL;
  if (mode_ == Mode::kHookOnly) {
    if (abi_filter_.insns().empty()) return 0;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    return install_filter(0, abi_filter_.fprog()) == 0 ? 0 : errno;
  }
  to_parent_r_.reset();
  to_child_w_.reset();
  int result = 0;
  long fd = -1;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    result = errno;
  } else {
    // WAIT_KILLABLE_RECV: once the supervisor has taken a notification, only a fatal
    // signal interrupts the caller — an emulated open that already created a file is
    // never retried by a signal handler's restart.
    fd = install_filter(arch::kFilterFlagNewListener | arch::kFilterFlagWaitKillableRecv,
                        filter_.fprog());
    if (fd < 0 && errno == EINVAL)
      fd = install_filter(arch::kFilterFlagNewListener, filter_.fprog());
    if (fd < 0) result = errno;
  }
  int32_t msg = result ? -result : static_cast<int32_t>(fd);
  bool ok = write_all(to_parent_w_.get(), &msg, sizeof msg);
  to_parent_w_.reset();
  char go = 0;
  if (ok && result == 0) ok = read_all(to_child_r_.get(), &go, 1) && go == 'g';
  to_child_r_.reset();
  // The listener must not stay in the tree: with it the agent could answer its own
  // notifications.
  if (fd >= 0) ScopedFd(static_cast<int>(fd)).reset();
  if (result) return result;
  return ok ? 0 : EPROTO;
}

int Supervisor::run_hook_only(pid_t child) {
  child_ = child;
  int st = wait_status(child);
  child_ = 0;
  return st;
}

int Supervisor::run(pid_t child) {
  if (!prepared_ || mode_ == Mode::kHookOnly) return run_hook_only(child);
  to_parent_w_.reset();
  to_child_r_.reset();
  SupervisorContext& ctx = *impl_->ctx;
  auto abort_child = [&](const char* what) {
    fprintf(stderr, "agentsh: tracer: %s (%s); the command was not started\n", what,
            strerror(errno));
    kill(child, SIGKILL);
    ctx.audit_queue.stop();
    return wait_status(child);
  };

  int32_t msg = 0;
  if (!read_all(to_parent_r_.get(), &msg, sizeof msg)) return wait_status(child);
  to_parent_r_.reset();
  if (msg < 0) {
    errno = -msg;
    return abort_child("installing the seccomp filter failed");
  }
  ScopedFd pidfd = proc_fs::pidfd_open(child);
  if (!pidfd) return abort_child("pidfd_open");
  ScopedFd listener = proc_fs::pidfd_getfd(pidfd.get(), msg);
  if (!listener) return abort_child("fetching the notification fd");
  ctx.listener = SeccompListener(std::move(listener));
  ctx.listener.set_sync_wakeup();

  const long opts = PTRACE_O_TRACEFORK | PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE |
                    PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL;
  if (ptrace(PTRACE_SEIZE, child, 0, opts) != 0) return abort_child("PTRACE_SEIZE");

  // The tree starts with the child's view of things: its umask, its credentials (the
  // integrator may have dropped privileges after fork), its mount namespace and root.
  ProcState root_state;
  root_state.initial = true;
  proc_fs::Creds cc;
  if (proc_fs::read_creds(child, &cc)) {
    root_state.umask = cc.umask;
    if (cc.uid[3] != ctx.self_creds.uid[3] || cc.gid[3] != ctx.self_creds.gid[3] ||
        cc.groups != ctx.self_creds.groups || cc.cap_eff != ctx.self_creds.cap_eff)
      root_state.foreign_creds = true;
  }
  if (proc_fs::ns_inode(child, "mnt") != proc_fs::ns_inode(0, "mnt")) {
    ctx.view_mnt_ns.reset(
        open(("/proc/" + std::to_string(child) + "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
  }
  struct stat ours {
  }, theirs{};
  if (stat("/", &ours) == 0 &&
      stat(("/proc/" + std::to_string(child) + "/root").c_str(), &theirs) == 0 &&
      (ours.st_dev != theirs.st_dev || ours.st_ino != theirs.st_ino)) {
    ctx.view_root.reset(open(("/proc/" + std::to_string(child) + "/root").c_str(),
                             O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  ctx.procs.add_root(child, root_state);

  ctx.audit_queue.start(ctx.audit_fn);
  WorkerPool pool(impl_->ctx, impl_->handler);
  std::string err;
  if (!pool.start(&err)) return abort_child(err.c_str());

  child_ = child;
  if (!write_all(to_child_w_.get(), "g", 1)) {
    to_child_w_.reset();
    return abort_child("releasing the child");
  }
  to_child_w_.reset();

  PtraceLoop loop(ctx, impl_->handler->exec());
  int status = loop.run(child);
  child_ = 0;
  pool.stop();
  ctx.audit_queue.stop();  // every record of the tree is delivered before run() returns
  if (ctx.stats.enabled()) ctx.stats.print(stderr);
  return status;
}

void Supervisor::kill_tree() {
  if (mode_ == Mode::kHookOnly || !impl_) {
    forward_signal(SIGKILL);
    return;
  }
  // The main child first: its status is the session's, and it must read "killed", not
  // "exited" after its children died one kill earlier (a shell's `wait` returns then).
  pid_t root = child_.load();
  if (root > 0) kill(root, SIGKILL);
  for (pid_t p : impl_->ctx->procs.tgids())
    if (p != root) kill(p, SIGKILL);
}

void Supervisor::forward_signal(int sig) {
  pid_t c = child_.load();
  if (c > 0) kill(c, sig);
}

}  // namespace agentsh::tracer
