// Interposed: stat, stat64, lstat, lstat64, fstatat, fstatat64, statx, __xstat,
// __xstat64, __lxstat, __lxstat64, __fxstatat, __fxstatat64 (the pre-2.33 glibc ABI, still
// exported as compat symbols), access, faccessat, euidaccess, eaccess, readlink,
// readlinkat. Decided as `stat` (access too: policies name stat) and `readlink`.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// preserved on the allow path, re-entry passes through.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/file_guard.h"
#include "preload/interpose.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

using agentsh::hook::g_real;
using agentsh::hook::governed;
using agentsh::hook::ret_int;
using agentsh::hook::ret_long;
namespace file_guard = agentsh::hook::file_guard;
namespace sys = agentsh::hook::sys;

namespace {

// Pass-through for the stat family without relying on libc's symbols (the compat
// __xstat ABI is the kernel's struct stat on x86_64).
int raw_fstatat(int dirfd, const char* path, struct stat* st, int flags) noexcept {
  return ret_int(sys::call(SYS_newfstatat, dirfd, sys::arg(path), sys::arg(st), flags));
}

int do_fstatat(int dirfd, const char* path, struct stat* st, int flags) noexcept {
  if (!governed()) {
    if (HOOK_REAL(fstatat, "fstatat") != nullptr)
      return HOOK_REAL(fstatat, "fstatat")(dirfd, path, st, flags);
    return raw_fstatat(dirfd, path, st, flags);
  }
  return ret_int(file_guard::stat(dirfd, path, st, flags));
}

// _STAT_VER_KERNEL (0) and _STAT_VER_LINUX (1) both mean the kernel layout on x86_64.
bool ver_ok(int ver) noexcept {
  return ver == 0 || ver == 1;
}

int do_access(int dirfd, const char* path, int mode, int flags,
              int (*real)(int, const char*, int, int)) noexcept {
  if (!governed()) {
    if (real != nullptr) return real(dirfd, path, mode, flags);
    return ret_int(sys::call(SYS_faccessat2, dirfd, sys::arg(path), mode, flags));
  }
  return ret_int(file_guard::access(dirfd, path, mode, flags));
}

}  // namespace

HOOK_EXPORT int hook_stat(const char* p, struct stat* st) __asm__("stat");
HOOK_EXPORT int hook_stat64(const char* p, struct stat* st) __asm__("stat64");
HOOK_EXPORT int hook_lstat(const char* p, struct stat* st) __asm__("lstat");
HOOK_EXPORT int hook_lstat64(const char* p, struct stat* st) __asm__("lstat64");
HOOK_EXPORT int hook_fstatat(int d, const char* p, struct stat* st, int f) __asm__("fstatat");
HOOK_EXPORT int hook_fstatat64(int d, const char* p, struct stat* st, int f) __asm__("fstatat64");
HOOK_EXPORT int hook_statx(int d, const char* p, int f, unsigned m,
                           struct statx* s) __asm__("statx");
HOOK_EXPORT int hook_xstat(int v, const char* p, struct stat* st) __asm__("__xstat");
HOOK_EXPORT int hook_xstat64(int v, const char* p, struct stat* st) __asm__("__xstat64");
HOOK_EXPORT int hook_lxstat(int v, const char* p, struct stat* st) __asm__("__lxstat");
HOOK_EXPORT int hook_lxstat64(int v, const char* p, struct stat* st) __asm__("__lxstat64");
HOOK_EXPORT int hook_fxstatat(int v, int d, const char* p, struct stat* st,
                              int f) __asm__("__fxstatat");
HOOK_EXPORT int hook_fxstatat64(int v, int d, const char* p, struct stat* st,
                                int f) __asm__("__fxstatat64");
HOOK_EXPORT int hook_access(const char* p, int mode) __asm__("access");
HOOK_EXPORT int hook_faccessat(int d, const char* p, int mode, int f) __asm__("faccessat");
HOOK_EXPORT int hook_euidaccess(const char* p, int mode) __asm__("euidaccess");
HOOK_EXPORT int hook_eaccess(const char* p, int mode) __asm__("eaccess");
HOOK_EXPORT ssize_t hook_readlink(const char* p, char* buf, size_t n) __asm__("readlink");
HOOK_EXPORT ssize_t hook_readlinkat(int d, const char* p, char* buf,
                                    size_t n) __asm__("readlinkat");

int hook_stat(const char* p, struct stat* st) {
  return do_fstatat(AT_FDCWD, p, st, 0);
}
int hook_stat64(const char* p, struct stat* st) {
  return do_fstatat(AT_FDCWD, p, st, 0);
}
int hook_lstat(const char* p, struct stat* st) {
  return do_fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW);
}
int hook_lstat64(const char* p, struct stat* st) {
  return do_fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW);
}
int hook_fstatat(int d, const char* p, struct stat* st, int f) {
  return do_fstatat(d, p, st, f);
}
int hook_fstatat64(int d, const char* p, struct stat* st, int f) {
  return do_fstatat(d, p, st, f);
}

int hook_statx(int d, const char* p, int f, unsigned m, struct statx* s) {
  if (!governed()) {
    if (HOOK_REAL(statx, "statx") != nullptr) return HOOK_REAL(statx, "statx")(d, p, f, m, s);
    return ret_int(sys::call(SYS_statx, d, sys::arg(p), f, m, sys::arg(s)));
  }
  return ret_int(file_guard::statx(d, p, f, m, s));
}

int hook_xstat(int v, const char* p, struct stat* st) {
  if (!ver_ok(v)) return ret_int(-EINVAL);
  return do_fstatat(AT_FDCWD, p, st, 0);
}
int hook_xstat64(int v, const char* p, struct stat* st) {
  return hook_xstat(v, p, st);
}
int hook_lxstat(int v, const char* p, struct stat* st) {
  if (!ver_ok(v)) return ret_int(-EINVAL);
  return do_fstatat(AT_FDCWD, p, st, AT_SYMLINK_NOFOLLOW);
}
int hook_lxstat64(int v, const char* p, struct stat* st) {
  return hook_lxstat(v, p, st);
}
int hook_fxstatat(int v, int d, const char* p, struct stat* st, int f) {
  if (!ver_ok(v)) return ret_int(-EINVAL);
  return do_fstatat(d, p, st, f);
}
int hook_fxstatat64(int v, int d, const char* p, struct stat* st, int f) {
  return hook_fxstatat(v, d, p, st, f);
}

int hook_access(const char* p, int mode) {
  if (!governed() && HOOK_REAL(access, "access") != nullptr)
    return HOOK_REAL(access, "access")(p, mode);
  return do_access(AT_FDCWD, p, mode, 0, HOOK_REAL(faccessat, "faccessat"));
}
int hook_faccessat(int d, const char* p, int mode, int f) {
  return do_access(d, p, mode, f, HOOK_REAL(faccessat, "faccessat"));
}
int hook_euidaccess(const char* p, int mode) {
  if (!governed() && HOOK_REAL(euidaccess, "euidaccess") != nullptr)
    return HOOK_REAL(euidaccess, "euidaccess")(p, mode);
  return do_access(AT_FDCWD, p, mode, AT_EACCESS, HOOK_REAL(faccessat, "faccessat"));
}
int hook_eaccess(const char* p, int mode) {
  if (!governed() && HOOK_REAL(eaccess, "eaccess") != nullptr)
    return HOOK_REAL(eaccess, "eaccess")(p, mode);
  return do_access(AT_FDCWD, p, mode, AT_EACCESS, HOOK_REAL(faccessat, "faccessat"));
}

ssize_t hook_readlink(const char* p, char* buf, size_t n) {
  if (!governed()) {
    if (HOOK_REAL(readlink, "readlink") != nullptr)
      return HOOK_REAL(readlink, "readlink")(p, buf, n);
    return ret_long(sys::readlinkat(AT_FDCWD, p, buf, n));
  }
  return ret_long(file_guard::readlink(AT_FDCWD, p, buf, n));
}
ssize_t hook_readlinkat(int d, const char* p, char* buf, size_t n) {
  if (!governed()) {
    if (HOOK_REAL(readlinkat, "readlinkat") != nullptr)
      return HOOK_REAL(readlinkat, "readlinkat")(d, p, buf, n);
    return ret_long(sys::readlinkat(d, p, buf, n));
  }
  return ret_long(file_guard::readlink(d, p, buf, n));
}
