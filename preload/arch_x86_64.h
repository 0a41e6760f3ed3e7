// Every x86_64 specific of libagentsh_hook.so lives here: the raw `syscall` instruction
// and the bytes of the syscall-gate trampoline. Porting the hook means writing this file
// for another architecture (and the tracer's matching filter).
//
// House rules (this file is compiled into other people's programs): no exceptions, no
// malloc, no locks, no stdio, no errno changes; everything here is async-signal-safe and
// usable between vfork() and exec.
#pragma once

#include <cstddef>
#include <cstdint>

#if !defined(__x86_64__)
#error "libagentsh_hook.so is implemented for x86_64 only (see preload/arch_x86_64.h)"
#endif

namespace agentsh::hook::arch {

// One system call, straight to the kernel: no errno, no cancellation point, no
// seccomp-visible libc frame. Returns the kernel's value (-errno on failure).
inline long raw_syscall(long nr, long a1, long a2, long a3, long a4, long a5, long a6) noexcept {
  long ret;
  register long r10 __asm__("r10") = a4;
  register long r8 __asm__("r8") = a5;
  register long r9 __asm__("r9") = a6;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

// The gate: a function with the ordinary C calling convention
//   long gate(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
// that moves its arguments into the syscall registers and executes `syscall` from the
// gate page. The tracer's seccomp filter recognises that instruction pointer.
using GateFn = long (*)(long nr, long a1, long a2, long a3, long a4, long a5, long a6);

inline constexpr unsigned char kGateCode[] = {
    0x48, 0x89, 0xf8,              // mov %rdi,%rax      nr
    0x48, 0x89, 0xf7,              // mov %rsi,%rdi      a1
    0x48, 0x89, 0xd6,              // mov %rdx,%rsi      a2
    0x48, 0x89, 0xca,              // mov %rcx,%rdx      a3
    0x4d, 0x89, 0xc2,              // mov %r8,%r10       a4
    0x4d, 0x89, 0xc8,              // mov %r9,%r8        a5
    0x4c, 0x8b, 0x4c, 0x24, 0x08,  // mov 8(%rsp),%r9    a6 (first stack argument)
    0x0f, 0x05,                    // syscall
    0xc3,                          // ret
};

inline constexpr size_t kPageSize = 4096;

}  // namespace agentsh::hook::arch
