#include "tracer/gate_guard.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdio>

#include "tracer/gate.h"

namespace agentsh::tracer {

namespace {
constexpr uint64_t kHugeExec = 1ull << 40;  // no hint + exec + >= 1 TiB: could reach the gate
}

Outcome GateGuard::deny(const Caller& c, const char* why) {
  char target[96];
  snprintf(target, sizeof target, "addr=0x%llx len=0x%llx",
           static_cast<unsigned long long>(c.arg(0)), static_cast<unsigned long long>(c.arg(1)));
  ctx_.audit_builtin(c.tgid, "system", c.info->name, target, "tracer-gate-guard", why);
  return Outcome::error(EPERM);
}

Outcome GateGuard::check(const Caller& c) {
  const uint64_t g = ctx_.gate;
  switch (c.data->nr) {
    case SYS_personality:
      if (static_cast<uint32_t>(c.arg(0)) == 0xffffffffu) return Outcome::proceed();  // query
      return deny(c, "READ_IMPLIES_EXEC would make data executable");
    case SYS_shmat: {
      uint64_t addr = c.arg(1);
      // The segment's size is not in the arguments; assume it could be huge.
      if (g == 0 || addr == 0 || addr >= g + gate::kSize || addr + kHugeExec <= g)
        return Outcome::proceed();
      return deny(c, "executable shared memory at the gate");
    }
    default:
      break;
  }
  if (g == 0) return Outcome::proceed();
  const uint64_t addr = c.arg(0), len = c.arg(1);
  switch (c.data->nr) {
    case SYS_mmap: {
      auto prot = static_cast<int>(c.arg(2));
      auto flags = static_cast<int>(c.arg(3));
      if (addr == 0 && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))) {
        if ((prot & PROT_EXEC) && len >= kHugeExec)
          return deny(c, "huge executable mapping could cover the gate");
        return Outcome::proceed();
      }
      if (!gate::overlaps(g, addr, len)) return Outcome::proceed();
      bool as_hook = addr == g && len == gate::kSize && (flags & MAP_FIXED_NOREPLACE) &&
                     (flags & MAP_ANONYMOUS) && (flags & MAP_TYPE) == MAP_PRIVATE &&
                     !(prot & PROT_EXEC);
      bool ok = false;
      ctx_.procs.update(c.tid, [&](ProcState& s) {
        if (as_hook && s.gate == GateState::kEligible) {
          s.gate = GateState::kMapped;
          ok = true;
        }
      });
      return ok ? Outcome::proceed() : deny(c, "only the hook may map the gate page, once");
    }
    case SYS_mprotect:
    case SYS_pkey_mprotect: {
      if (!gate::overlaps(g, addr, len)) return Outcome::proceed();
      bool as_hook = addr == g && len == gate::kSize &&
                     static_cast<int>(c.arg(2)) == (PROT_READ | PROT_EXEC) &&
                     c.data->nr == SYS_mprotect;
      bool ok = false;
      ctx_.procs.update(c.tid, [&](ProcState& s) {
        if (as_hook && s.gate == GateState::kMapped) {
          s.gate = GateState::kSealed;
          ok = true;
        }
      });
      return ok ? Outcome::proceed() : deny(c, "the gate page is sealed");
    }
    case SYS_mremap: {
      uint64_t new_len = c.arg(2), new_addr = c.arg(4);
      if (gate::overlaps(g, addr, len) || gate::overlaps(g, addr, new_len) ||
          ((c.arg(3) & MREMAP_FIXED) && gate::overlaps(g, new_addr, new_len)))
        return deny(c, "the gate page cannot be moved or replaced");
      return Outcome::proceed();
    }
    case SYS_munmap:
    case SYS_madvise: {
      if (!gate::overlaps(g, addr, len)) return Outcome::proceed();
      auto st = ctx_.procs.state(c.tid);
      if (st && (st->gate == GateState::kMapped || st->gate == GateState::kSealed))
        return deny(c, "the gate page cannot be unmapped or discarded");
      return Outcome::proceed();  // nothing of ours there
    }
    default:
      return Outcome::proceed();
  }
}

}  // namespace agentsh::tracer
