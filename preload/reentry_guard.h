// ReentryGuard: marks "this thread is inside hook code that calls foreign code" (dlsym,
// libc's resolver, fdopen…). An interposed function entered while the mark is set passes
// straight through to libc instead of deciding again, so the hook can never recurse into
// itself. The mark is a thread-local counter with the initial-exec TLS model (no
// allocation, no lazy TLS resolution, safe in signal handlers).
//
// The decision path itself never calls interposed functions (raw syscalls only), so it
// does not take the guard: a signal handler that opens a file while its thread is in the
// decision path is decided normally (the decision path is async-signal-safe).
//
// House rules: no exceptions, no malloc, no locks, no stdio, errno untouched.
#pragma once

namespace agentsh::hook {

extern __thread int t_hook_depth __attribute__((tls_model("initial-exec")));

class ReentryGuard {
 public:
  ReentryGuard() noexcept { ++t_hook_depth; }
  ~ReentryGuard() { --t_hook_depth; }
  ReentryGuard(const ReentryGuard&) = delete;
  ReentryGuard& operator=(const ReentryGuard&) = delete;

  // True when the calling thread is already inside guarded hook code.
  static bool inside() noexcept { return t_hook_depth != 0; }
};

}  // namespace agentsh::hook
