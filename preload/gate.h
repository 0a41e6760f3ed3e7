// The syscall gate (contract in snapshot_format.h / tracer/README.md): one page at the
// address the snapshot names, holding the trampoline from arch_x86_64.h. Syscalls the
// hook makes after deciding them run from that page, and the tracer's seccomp filter
// lets them through without a ptrace stop.
//
// House rules: no exceptions, no malloc, no locks, no stdio, errno untouched.
#pragma once

#include <cstdint>

namespace agentsh::hook::gate {

// Maps the gate at exactly `addr` (MAP_FIXED_NOREPLACE) and routes sys::call() through
// it. Silently does nothing when addr is 0, not page aligned, or already taken: the hook
// then uses plain syscalls (correct, only slower under a tracer). Call once, from the
// constructor, before other threads exist. Returns true when the gate is active.
bool install(uint64_t addr) noexcept;

}  // namespace agentsh::hook::gate
