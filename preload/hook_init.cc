// The constructor of libagentsh_hook.so and the re-entry flag's storage.
//
// At load: resolve libc's symbols (dlsym, the only place allowed to allocate), read
// AGENTSH_SNAPSHOT, map the snapshot read-only and attach the view, map the syscall gate.
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
