// State shared by the supervisor's threads (the ptrace thread and the notification
// workers) for one supervised tree. Owned through a shared_ptr so that a worker still
// blocked in a slow emulated call (a connect, a FIFO open) after the tree is gone keeps
// it alive.
//
// Thread-safety: the immutable part is set before any worker starts; `procs` has its own
// lock; audit() calls the integrator's thread-safe callback.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "agentsh/audit_event.h"
#include "common/scoped_fd.h"
#include "tracer/audit_queue.h"
#include "tracer/decider.h"
#include "tracer/proc_fs.h"
#include "tracer/process_table.h"
#include "tracer/seccomp_listener.h"
#include "tracer/stats.h"

namespace agentsh::tracer {

struct SupervisorContext {
  Decider* decider = nullptr;
  std::function<void(const AuditEvent&)> audit_fn;
  // Delivers audit_fn's records off the notification path while the tree runs (mutable:
  // auditing is logically const for the callers).
  mutable AuditQueue audit_queue;
  std::string session_id;
  uint64_t gate = 0;
  uint16_t proxy_port = 0, dns_port = 0;

  pid_t self_pid = 0;   // the supervisor's thread group
  pid_t self_pgid = 0;  // and its process group
  ino_t self_pid_ns = 0, self_user_ns = 0;
  proc_fs::Creds self_creds;  // fs creds, groups, capabilities, umask of the supervisor
  bool privileged = false;    // effective uid 0 (may read non-dumpable callers, setgroups)
  ScopedFd proc_self_fd;      // O_PATH of /proc/self/fd: reopen and readlink our fds fast
  // The tree's filesystem view when it differs from ours (the integrator forked into a
  // private mount namespace or root): workers enter it once at start. Invalid = same.
  ScopedFd view_mnt_ns, view_root;

  ProcessTable procs;
  SeccompListener listener;
  Stats stats;  // enabled by AGENTSH_TRACER_STATS (set before any worker starts)

  // One audit record (source "tracer"). `effective` is what happened ("allow"/"deny").
  void audit(pid_t pid, std::string_view type, std::string_view operation, std::string_view target,
             const Verdict& v, bool effective_allow) const;
  // A record for something the tracer itself decided (built-in rule).
  void audit_builtin(pid_t pid, std::string_view type, std::string_view operation,
                     std::string_view target, std::string_view rule,
                     std::string_view message) const;

  // Path of one of our fds (via proc_self_fd).
  std::string fd_path(int fd) const;
  // Reopens one of our O_PATH fds with real open flags (via proc_self_fd).
  ScopedFd reopen(int fd, int flags) const;
};

}  // namespace agentsh::tracer
