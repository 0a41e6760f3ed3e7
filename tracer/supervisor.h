// The supervisor of an agent's whole process tree: `agentsh exec` forks the agent
// command, and this class makes sure every process that command ever starts — static
// binaries, raw syscalls, programs that dropped LD_PRELOAD, hostile ones — meets the
// policy. See tracer/README.md for the design.
//
// Use (the integrator's side, in this order):
//   Supervisor sup(options);
//   if (!sup.prepare(&err)) fail(err);          // parent, before fork
//   pid_t pid = fork();
//   if (pid == 0) {                              // child
//     if (sup.in_child() != 0) _exit(126);       // async-signal-safe; never exec then
//     execve(...);                               // the agent command
//     _exit(errno == EACCES ? 126 : 127);        // denied: the tracer printed why
//   }
//   int status = sup.run(pid);                   // parent: until the whole tree is gone
//   // signal handlers in the parent may call sup.forward_signal(sig) at any time
//
// Contracts:
//  * prepare() makes the calling process non-dumpable (PR_SET_DUMPABLE 0): its
//    /proc/<pid>/environ, mem and fds are closed to the agent even when both run as
//    the same user.
//  * in_child() installs the seccomp filter (no_new_privs is set: setuid binaries do not
//    elevate inside the tree) and waits until run() has attached. It allocates nothing.
//  * run() must be called on the thread that forked the child; it reaps children of that
//    thread (waitpid(-1, __WALL|__WNOTHREAD)), so that thread must not wait for other
//    children meanwhile. Other threads of the process are unaffected.
//  * The Decider and the audit callback are called from worker threads, concurrently.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "agentsh/audit_event.h"
#include "common/scoped_fd.h"
#include "tracer/bpf_program.h"
#include "tracer/decider.h"

namespace agentsh::tracer {

struct Options {
  Decider* decider = nullptr;
  std::function<void(const AuditEvent&)> audit;  // thread-safe
  // The syscall gate page (choose_gate_address()); 0 = none. Used only with a hook.
  uint64_t gate_addr = 0;
  uint16_t proxy_port = 0, dns_port = 0;  // 127.0.0.1:<port> is always reachable
  std::string session_id;
  bool hook_present = false;  // the LD_PRELOAD hook is injected into the tree
};

// What this kernel and this process's privileges allow.
struct Availability {
  bool ptrace = false;       // PTRACE_SEIZE of a child works
  bool seccomp = false;      // a seccomp filter can be installed
  bool user_notif = false;   // with SECCOMP_FILTER_FLAG_NEW_LISTENER
  bool sync_wakeup = false;  // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6+)
  std::string why_not;       // empty when everything needed works
  // Forks two short-lived children to find out. Thread-safe; a few milliseconds.
  static Availability probe();
};

class Supervisor {
 public:
  enum class Mode {
    kFull,      // seccomp prefilter + user notifications + ptrace
    kHookOnly,  // the tracer cannot run here: the hook alone governs (announced loudly)
  };

  explicit Supervisor(Options options);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Parent, before fork. False (with a message naming what failed and what to do) when
  // nothing could govern the command: no tracer here and no hook either.
  bool prepare(std::string* err);
  // Child, after fork, before execve: 0, or an errno value (then _exit without exec).
  int in_child() noexcept;
  // Parent: supervises until every process of the tree is gone; returns the raw wait
  // status of `child` (for WIFEXITED/WEXITSTATUS).
  int run(pid_t child);
  // Async-signal-safe: sends `sig` to the tree's main child (no-op before run()).
  void forward_signal(int sig);
  // Thread-safe (not async-signal-safe): SIGKILL to every process of the tree, e.g. on a
  // timeout or when daemonised leftovers must not outlive the session. run() then returns.
  void kill_tree();

  Mode mode() const { return mode_; }
  const Availability& availability() const { return avail_; }

 private:
  struct Impl;
  int run_hook_only(pid_t child);
  Options opts_;
  Mode mode_ = Mode::kHookOnly;
  Availability avail_;
  BpfProgram filter_;      // the full prefilter
  BpfProgram abi_filter_;  // hook-only mode: just the foreign-ABI kill
  // Handshake pipes (O_CLOEXEC). child -> parent: the listener fd number (or -errno);
  // parent -> child: "attached, go on". Each side closes the ends it does not use.
  ScopedFd to_parent_r_, to_parent_w_, to_child_r_, to_child_w_;
  bool prepared_ = false;
  std::atomic<pid_t> child_{0};
  std::shared_ptr<Impl> impl_;
};

// A random page-aligned address for the syscall gate (fresh per call).
uint64_t choose_gate_address();

}  // namespace agentsh::tracer
