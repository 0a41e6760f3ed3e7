// The syscall gate (contract in snapshot_format.h / tracer/README.md): one page at the
// address the snapshot names, holding the trampoline from arch_x86_64.h. Syscalls the
// hook makes after deciding them run from that page, and the tracer's seccomp filter
// lets them through without a ptrace stop.
//
// The page is mapped lazily, by the first sys::call() that wants it: a process that
// never makes a governed syscall (a /bin/true) never pays the mmap (under the tracer, a
// supervisor round trip). Safe with threads, signal handlers, fork and vfork:
//  * one mapper at a time: the state word goes idle -> "busy, owner tid" by CAS; the
//    others wait for it (sched_yield) and then use the page it mapped, so every call
//    still runs from the gate (what a filter that only allows the gate expects);
//  * a signal handler that interrupts its own thread's mapping does not wait (it would
//    wait for itself): that one call is a plain syscall (correct, the tracer sees it);
//  * an owner that no longer exists in this process (a fork child inherited "busy" from
//    a parent thread, a vfork child died mid-way) is detected with tgkill(pid, tid, 0)
//    and the gate is given up: plain syscalls from then on;
//  * a vfork child shares the address space, so its mapping is the parent's too (no
//    allocation: the page is the gate itself); a fork child inherits a finished page.
//
// House rules: no exceptions, no malloc, no locks a fork can leave held, no stdio,
// errno untouched.
#pragma once

#include <cstdint>

#include "preload/arch_x86_64.h"

namespace agentsh::hook::gate {

// Records the gate address from the snapshot header (from the constructor, before other
// threads exist). Does nothing when addr is 0 or not page aligned: the hook then uses
// plain syscalls (correct, only slower under a tracer).
void arm(uint64_t addr) noexcept;

// Maps the page now if it is armed and not mapped yet (sys::call() calls this on its
// slow path). Returns the gate, or nullptr when the caller must use a plain syscall
// (no gate, address taken, or — signal handler during our own mapping — not yet).
arch::GateFn map_now() noexcept;

}  // namespace agentsh::hook::gate
