// Everything x86_64-specific the tracer needs, in one place: the audit arch value the
// seccomp filter compares against, the x32 bit, syscall numbers newer than the libc
// headers on the build machine, and seccomp/pidfd constants from kernels newer than
// the installed UAPI headers (the build host ships 6.1 headers; we run on 6.18).
// A port to another architecture replaces this header and the syscall table.
#pragma once

#include <linux/audit.h>
#include <sys/syscall.h>

#include <cstdint>

namespace agentsh::tracer::arch {

inline constexpr uint32_t kAuditArch = AUDIT_ARCH_X86_64;
// x32 syscalls arrive with arch == AUDIT_ARCH_X86_64 and this bit set in the number.
inline constexpr uint32_t kX32SyscallBit = 0x40000000u;

// User space ends below 2^47 with 4-level paging (2^56 with 5-level); the gate lives in
// the 4 GiB slices chosen by gate.cc, far from where the kernel places mappings.
inline constexpr uint64_t kPageSize = 4096;

// Syscall numbers the installed <sys/syscall.h> may not know yet.
inline constexpr int kNrFchmodat2 = 452;
inline constexpr int kNrMountSetattr = 442;

// seccomp: flags and ioctls newer than the installed headers.
inline constexpr unsigned long kFilterFlagNewListener = 1UL << 3;
inline constexpr unsigned long kFilterFlagWaitKillableRecv = 1UL << 5;  // 5.19
inline constexpr unsigned long kAddfdFlagSend = 1UL << 1;               // 5.14
// SECCOMP_IOCTL_NOTIF_SET_FLAGS = SECCOMP_IOW(4, __u64) (6.6) and its one flag.
inline constexpr unsigned long kIoctlNotifSetFlags = 0x40082104UL;
inline constexpr uint64_t kUserNotifFdSyncWakeUp = 1;

// pidfd_open(PIDFD_THREAD) (6.9): a pidfd naming one thread, so pidfd_getfd reads that
// thread's file table even if it was cloned without CLONE_FILES.
inline constexpr unsigned int kPidfdThread = 0200;  // == O_EXCL on x86_64

// personality(2) flag that makes PROT_READ mappings executable.
inline constexpr uint32_t kReadImpliesExec = 0x0400000;

}  // namespace agentsh::tracer::arch
