// The seccomp-bpf prefilter, generated from the syscall table (tracer/syscall_table.h).
//
// Order of the checks (each a few instructions; the whole filter is JIT-compiled):
//   1. arch != AUDIT_ARCH_X86_64 (int $0x80, i386 sysenter)  -> KILL_PROCESS
//      nr has the x32 bit (0x40000000)                        -> KILL_PROCESS
//      Why kill rather than EPERM: no 64-bit program needs a foreign ABI; one that uses
//      it is evading. Killing cannot be mistaken for a transient error, leaves no
//      half-done state, gives the program no way to probe what passes, and needs no
//      supervisor (it holds even if the supervisor is gone). The supervisor sees the
//      death by SIGSYS and audits it.
//   2. execve / execveat                                      -> USER_NOTIF, gate or not
//   3. the instruction pointer lies in [gate, gate+4096) and the call is one the hook
//      decides (SyscallInfo::gate_ok)                         -> ALLOW
//   4. a table row whose route condition holds                -> USER_NOTIF
//   5. everything else                                        -> ALLOW
// Dispatch on the syscall number is a binary search over the table (about 7 compares
// for any number), so untraced calls pay a few nanoseconds.
//
// Nothing here uses SECCOMP_RET_TRACE: user-notify plus supervisor-side emulation covers
// every governed call, and ptrace is used only for what needs it (following the tree,
// exec-time verification) — see tracer/README.md.
#pragma once

#include <linux/filter.h>

#include <cstdint>
#include <string>
#include <vector>

namespace agentsh::tracer {

class BpfProgram {
 public:
  // Builds the filter. `gate_addr` 0 = no gate (every governed call reaches the
  // supervisor and the memory guard is not emitted); otherwise page-aligned, in user
  // space, as chosen by gate::choose_address().
  static bool build(uint64_t gate_addr, BpfProgram* out, std::string* error);
  // Only step 1 (foreign ABIs killed, everything else allowed): what still holds in
  // hook-only mode, where no supervisor answers notifications.
  static bool build_abi_only(BpfProgram* out, std::string* error);

  const std::vector<sock_filter>& insns() const { return insns_; }
  // Stable pointer for the async-signal-safe install in the child (no allocation there).
  const sock_fprog* fprog() const { return &fprog_; }

  BpfProgram() = default;
  BpfProgram(const BpfProgram&) = delete;
  BpfProgram& operator=(const BpfProgram&) = delete;
  BpfProgram(BpfProgram&& o) noexcept { *this = std::move(o); }
  BpfProgram& operator=(BpfProgram&& o) noexcept {
    insns_ = std::move(o.insns_);
    fprog_.len = static_cast<unsigned short>(insns_.size());
    fprog_.filter = insns_.data();
    return *this;
  }

 private:
  std::vector<sock_filter> insns_;
  sock_fprog fprog_{};
};

}  // namespace agentsh::tracer
