// The syscall gate (see gate.h). House rules: no exceptions, no malloc, no locks, no
// stdio, errno untouched; runs once from the constructor.
#include "preload/gate.h"

#include <sys/mman.h>

#include <cstring>

#include "preload/arch_x86_64.h"
#include "preload/sys.h"

namespace agentsh::hook::gate {

bool install(uint64_t addr) noexcept {
  if (addr == 0 || addr % arch::kPageSize != 0) return false;
  void* want = reinterpret_cast<void*>(addr);
  long r = sys::direct(SYS_mmap, sys::arg(want), arch::kPageSize, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (r < 0 && r > -4096) return false;  // taken (EEXIST) or refused: plain syscalls
  if (r != static_cast<long>(addr)) {
    // A kernel without MAP_FIXED_NOREPLACE treats the address as a hint: not our page.
    sys::direct(SYS_munmap, r, arch::kPageSize);
    return false;
  }
  memcpy(want, arch::kGateCode, sizeof arch::kGateCode);
  if (sys::direct(SYS_mprotect, sys::arg(want), arch::kPageSize, PROT_READ | PROT_EXEC) != 0) {
    sys::direct(SYS_munmap, sys::arg(want), arch::kPageSize);
    return false;
  }
  sys::g_gate = reinterpret_cast<arch::GateFn>(want);
  return true;
}

}  // namespace agentsh::hook::gate
