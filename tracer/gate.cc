#include "tracer/gate.h"

#include <sys/random.h>
#include <time.h>

namespace agentsh::tracer::gate {

uint64_t choose_address() noexcept {
  uint64_t r = 0;
  if (getrandom(&r, sizeof r, 0) != sizeof r) {
    // getrandom cannot fail for 8 bytes once the pool is ready; if it somehow does, a
    // clock-derived value still keeps the address per-run (the address is not a secret:
    // it is in the snapshot every process can read).
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r = static_cast<uint64_t>(ts.tv_nsec) * 0x9E3779B97F4A7C15ull ^
        static_cast<uint64_t>(ts.tv_sec);
  }
  uint64_t slice = kSliceFirst + (r >> 40) % (kSliceEnd - kSliceFirst);
  uint64_t page = (r & 0xFFFFF);  // 2^20 pages per 4 GiB slice
  return (slice << 32) | (page << 12);
}

bool valid_address(uint64_t addr) noexcept {
  uint64_t slice = addr >> 32;
  return (addr & (kSize - 1)) == 0 && slice >= kSliceFirst && slice < kSliceEnd;
}

bool overlaps(uint64_t gate, uint64_t addr, uint64_t len) noexcept {
  uint64_t start = addr & ~(kSize - 1);
  uint64_t span = len + (addr - start);
  uint64_t end = start + ((span + kSize - 1) & ~(kSize - 1));
  if (span != 0 && end <= start) return true;  // wraps
  return start < gate + kSize && end > gate;
}

}  // namespace agentsh::tracer::gate
