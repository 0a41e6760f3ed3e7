// Shared plumbing of the interposed entry points (interpose_*.cc).
//
// Each exported function is declared with an asm label (`int hook_open(…)
// __asm__("open")`): the symbol is libc's name, the C++ function has its own, so the
// definitions never clash with the libc declarations in the system headers.
//
// House rules for every interposer: no exceptions, no malloc on the decision path, no
// locks, no stdio, raw syscalls, errno preserved on the allow path (the guards return
// -errno and only a failure writes errno), re-entry passes straight through.
#pragma once

#include <cerrno>

#include "preload/hook_state.h"
#include "preload/reentry_guard.h"

#define HOOK_EXPORT extern "C" __attribute__((visibility("default")))

namespace agentsh::hook {

// True when this call must be decided (snapshot present, not re-entered). Runs the
// constructor's work first if another library's constructor calls us before ours ran.
inline bool governed() noexcept {
  HookState& s = HookState::get();
  if (__builtin_expect(!s.ready(), 0)) s.init();
  return !s.inert() && !ReentryGuard::inside();
}

// libc convention from a -errno result.
inline int ret_int(long r) noexcept {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return static_cast<int>(r);
}
inline long ret_long(long r) noexcept {
  if (r < 0) {
    errno = static_cast<int>(-r);
    return -1;
  }
  return r;
}
inline int no_real() noexcept {
  errno = ENOSYS;
  return -1;
}

}  // namespace agentsh::hook
