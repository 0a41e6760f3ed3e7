// The syscall gate (see gate.h). House rules: no exceptions, no malloc, no locks a fork
// can leave held (waiters give up when the mapper is gone), no stdio, errno untouched.
#include "preload/gate.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstring>

#include "preload/sys.h"

namespace agentsh::hook::gate {

namespace {

// The state word: kIdle (armed, not mapped), kReady, kOff (no gate), or > 0: the tid of
// the thread mapping it right now.
constexpr long kIdle = 0;
constexpr long kReady = -1;
constexpr long kOff = -2;

uint64_t g_addr = 0;
long g_state = kOff;
// Set while this thread maps the page: its signal handlers must not wait for it.
__thread int t_mapping __attribute__((tls_model("initial-exec"))) = 0;

// The winner's work: exactly the tracer's contract (mmap NOREPLACE rw, write, mprotect
// r-x). Returns the gate or nullptr.
arch::GateFn map_page() noexcept {
  void* want = reinterpret_cast<void*>(g_addr);
  long r = sys::direct(SYS_mmap, sys::arg(want), arch::kPageSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (r < 0 && r > -4096) return nullptr;  // taken (EEXIST) or refused: plain syscalls
  if (r != static_cast<long>(g_addr)) {
    // A kernel without MAP_FIXED_NOREPLACE treats the address as a hint: not our page.
    sys::direct(SYS_munmap, r, arch::kPageSize);
    return nullptr;
  }
  memcpy(want, arch::kGateCode, sizeof arch::kGateCode);
  if (sys::direct(SYS_mprotect, sys::arg(want), arch::kPageSize, PROT_READ | PROT_EXEC) != 0) {
    sys::direct(SYS_munmap, sys::arg(want), arch::kPageSize);
    return nullptr;
  }
  return reinterpret_cast<arch::GateFn>(want);
}

}  // namespace

void arm(uint64_t addr) noexcept {
  if (addr == 0 || addr % arch::kPageSize != 0) return;
  g_addr = addr;
  __atomic_store_n(&g_state, kIdle, __ATOMIC_RELEASE);
  __atomic_store_n(&sys::g_gate_pending, 1, __ATOMIC_RELEASE);
}

arch::GateFn map_now() noexcept {
  for (unsigned spin = 0;; ++spin) {
    long st = __atomic_load_n(&g_state, __ATOMIC_ACQUIRE);
    if (st == kReady) return __atomic_load_n(&sys::g_gate, __ATOMIC_ACQUIRE);
    if (st == kOff) return nullptr;
    if (st == kIdle) {
      long tid = sys::direct(SYS_gettid);
      if (tid <= 0) tid = 1;
      if (!__atomic_compare_exchange_n(&g_state, &st, tid, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE)) {
        continue;
      }
      t_mapping = 1;
      arch::GateFn g = map_page();
      if (g != nullptr) {
        __atomic_store_n(&sys::g_gate, g, __ATOMIC_RELEASE);
        // Unconditional: a waiter may have declared the owner gone (a vfork child looks
        // like a stranger to the parent's threads) — the page is complete and ours.
        __atomic_store_n(&g_state, kReady, __ATOMIC_RELEASE);
      } else {
        __atomic_store_n(&g_state, kOff, __ATOMIC_RELEASE);
      }
      __atomic_store_n(&sys::g_gate_pending, 0, __ATOMIC_RELEASE);
      t_mapping = 0;
      return g;
    }
    // Busy: another thread maps it (or we do, and this is our signal handler).
    if (t_mapping != 0) return nullptr;
    if (spin % 64 == 63) {
      long pid = sys::direct(SYS_getpid);
      if (sys::direct(SYS_tgkill, pid, st, 0) == -ESRCH) {
        // The owner is not a thread of this process: a fork child that inherited the
        // parent's half-done mapping, or a vfork child that died. Give up the gate.
        if (__atomic_compare_exchange_n(&g_state, &st, kOff, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
          __atomic_store_n(&sys::g_gate_pending, 0, __ATOMIC_RELEASE);
        }
        continue;
      }
    }
    sys::direct(SYS_sched_yield);
  }
}

}  // namespace agentsh::hook::gate
