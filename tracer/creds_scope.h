// Runs one emulated filesystem operation with the caller's credentials.
//
// The supervisor performs opens, unlinks, renames … on the caller's behalf (that is how
// it defeats TOCTOU). For a caller whose credentials are the supervisor's own — every
// process of the tree until one changes them, because the tree runs with
// no_new_privs — nothing needs to change. For a caller that changed them (setuid,
// setgroups, capset, a user namespace: ProcState::foreign_creds), the worker thread
// switches its fsuid, fsgid, supplementary groups and effective capabilities to the
// caller's for the duration of the scope, so DAC checks and file ownership come out as
// if the caller had done it. All of these are per-thread in the kernel (raw syscalls;
// glibc's setgroups would broadcast to every thread).
//
// Thread-safety: affects only the calling thread. Not reentrant.
#pragma once

#include <sys/types.h>

#include "tracer/proc_fs.h"

namespace agentsh::tracer {

class CredsScope {
 public:
  // `ours` are the supervisor's credentials; `user_ns_differs` drops every capability
  // (capabilities held inside a child user namespace mean nothing in ours).
  CredsScope(pid_t tid, bool foreign, const proc_fs::Creds& ours, ino_t our_user_ns);
  ~CredsScope();
  CredsScope(const CredsScope&) = delete;
  CredsScope& operator=(const CredsScope&) = delete;

  // 0, or the errno to fail the operation with (EACCES: the caller's credentials could
  // not be assumed — fail closed).
  int error() const { return error_; }

 private:
  void restore();
  const proc_fs::Creds& ours_;
  bool switched_ = false;
  bool groups_changed_ = false;
  int error_ = 0;
};

// Sets the calling thread's umask to `mask` if it differs (worker threads have their own
// fs_struct: see WorkerPool).
void set_thread_umask(uint32_t mask);

}  // namespace agentsh::tracer
