// The constructor of libagentsh_hook.so and the re-entry flag's storage.
//
// At load: resolve libc's symbols (one pass over GNU hash tables; dlsym, the only place
// allowed to allocate, for what that cannot answer), read AGENTSH_SNAPSHOT(_FD), map the
// snapshot read-only (the inherited descriptor, else by path) and attach the view, arm
// the syscall gate (mapped by the first governed syscall, gate.h).
// Unset variable = inert (everything passes through); set but unusable = fail closed.
//
// House rules: no exceptions, no malloc outside dlsym at start-up, no locks, no stdio,
// raw syscalls, errno preserved.
#include "preload/hook_state.h"
#include "preload/reentry_guard.h"

namespace agentsh::hook {

__thread int t_hook_depth __attribute__((tls_model("initial-exec"))) = 0;

namespace {

__attribute__((constructor)) void hook_constructor() {
  ReentryGuard guard;  // dlsym may call back into interposed functions: pass them through
  HookState::get().init();
}

}  // namespace

}  // namespace agentsh::hook

// A version probe for tests and `agentsh detect`.
extern "C" __attribute__((visibility("default"))) int agentsh_hook_version() {
  return 1;
}
