// The hook's own system calls. Every syscall the hook makes goes through sys::call():
// through the syscall gate when one is installed (the tracer lets those run without a
// stop: the hook has already decided them), else through a plain inline `syscall`.
// sys::direct() never uses the gate: for calls the hook did NOT decide and that the
// tracer must see (exec when the tracer decides exec).
//
// House rules (compiled into other people's programs): no exceptions, no malloc, no
// locks, no stdio, no errno: every function returns the kernel's value, -errno on
// failure, and leaves errno alone. All of it is async-signal-safe and vfork-safe.
#pragma once

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>

#include "preload/arch_x86_64.h"

#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif

namespace agentsh::hook::sys {

// The gate, once mapped (gate.h: lazily, by the first call that wants it); never
// changed afterwards. g_gate_pending: a gate is armed but not mapped yet.
extern arch::GateFn g_gate;
extern int g_gate_pending;
}  // namespace agentsh::hook::sys

namespace agentsh::hook::gate {
arch::GateFn map_now() noexcept;  // gate.h
}  // namespace agentsh::hook::gate

namespace agentsh::hook::sys {

inline long direct(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
                   long a6 = 0) noexcept {
  return arch::raw_syscall(nr, a1, a2, a3, a4, a5, a6);
}

inline long call(long nr, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
                 long a6 = 0) noexcept {
  arch::GateFn g = __atomic_load_n(&g_gate, __ATOMIC_ACQUIRE);
  if (__builtin_expect(g == nullptr, 0) && __atomic_load_n(&g_gate_pending, __ATOMIC_ACQUIRE)) {
    g = gate::map_now();
  }
  if (g != nullptr) return g(nr, a1, a2, a3, a4, a5, a6);
  return arch::raw_syscall(nr, a1, a2, a3, a4, a5, a6);
}

template <typename T>
inline long arg(T v) noexcept {
  return (long)(v);  // NOLINT: syscall arguments are untyped longs
}

// Resolution flags of every "strict" path operation: the kernel refuses any symlink
// (ELOOP), so the object reached is the one at the lexical path the hook decided on.
inline constexpr uint64_t kStrictResolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

inline long openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode,
                    uint64_t resolve) noexcept {
  struct open_how how = {flags, mode, resolve};
  return call(SYS_openat2, dirfd, arg(path), arg(&how), sizeof how);
}
inline long openat(int dirfd, const char* path, int flags, unsigned mode) noexcept {
  return call(SYS_openat, dirfd, arg(path), flags, mode);
}
inline long close(int fd) noexcept {
  return call(SYS_close, fd);
}
inline long readlinkat(int dirfd, const char* path, char* buf, size_t cap) noexcept {
  return call(SYS_readlinkat, dirfd, arg(path), arg(buf), arg(cap));
}
inline long getcwd(char* buf, size_t cap) noexcept {
  return call(SYS_getcwd, arg(buf), arg(cap));
}
inline long getpid() noexcept {
  return call(SYS_getpid);
}
inline long write(int fd, const void* buf, size_t n) noexcept {
  return call(SYS_write, fd, arg(buf), arg(n));
}
inline long read(int fd, void* buf, size_t n) noexcept {
  return call(SYS_read, fd, arg(buf), arg(n));
}
inline long mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) noexcept {
  return call(SYS_mmap, arg(addr), arg(len), prot, flags, fd, arg(off));
}
inline long munmap(void* addr, size_t len) noexcept {
  return call(SYS_munmap, arg(addr), arg(len));
}

// Writes all of buf (retrying short writes and EINTR). Returns 0 or -errno.
long write_all(int fd, const void* buf, size_t n) noexcept;

// Closes an fd the hook opened itself, keeping the value in flight (for `return`).
inline long close_keep(int fd, long result) noexcept {
  close(fd);
  return result;
}

}  // namespace agentsh::hook::sys
