// The syscall gate: one page the hook maps at a per-run address and performs its
// already-decided syscalls from (see tracer/README.md, "The split with the hook").
//
// The address is chosen in a range the kernel never uses on its own: 4 GiB slices
// 0x1000..0x3fff (16 TiB .. 64 TiB). Top-down mmap placement starts near 0x7fxx_xxxx_xxxx,
// PIE binaries and their heap sit at 0x55xx_xxxx_xxxx/0x56xx…, non-PIE ones near 4 MiB,
// so neither the filter's memory guard nor the gate check meet ordinary mappings.
//
// Thread-safety: pure functions; choose_address() uses getrandom().
#pragma once

#include <cstdint>

namespace agentsh::tracer::gate {

inline constexpr uint64_t kSliceFirst = 0x1000;  // first allowed value of addr >> 32
inline constexpr uint64_t kSliceEnd = 0x4000;    // one past the last
inline constexpr uint64_t kSize = 4096;

// A random page-aligned address in the gate range (fresh per call). Never 0.
uint64_t choose_address() noexcept;
// True for a page-aligned address inside the gate range.
bool valid_address(uint64_t addr) noexcept;
// True if [addr, addr+len) intersects [gate, gate+kSize). len is rounded up to a page
// like the kernel does; a range that wraps past 2^64 intersects.
bool overlaps(uint64_t gate, uint64_t addr, uint64_t len) noexcept;

}  // namespace agentsh::tracer::gate
