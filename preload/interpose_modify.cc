// Interposed: unlink, unlinkat, rmdir, remove, mkdir, mkdirat, rename, renameat,
// renameat2, link, linkat, symlink, symlinkat, chmod, fchmodat, lchmod, chown, lchown,
// fchownat, truncate, truncate64, mknod, mknodat, __xmknod, __xmknodat, mkfifo, mkfifoat.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// preserved on the allow path, re-entry passes through.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "preload/file_guard.h"
#include "preload/interpose.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

using agentsh::hook::g_real;
using agentsh::hook::governed;
using agentsh::hook::no_real;
using agentsh::hook::ret_int;
namespace file_guard = agentsh::hook::file_guard;

HOOK_EXPORT int hook_unlink(const char* p) __asm__("unlink");
HOOK_EXPORT int hook_unlinkat(int d, const char* p, int f) __asm__("unlinkat");
HOOK_EXPORT int hook_rmdir(const char* p) __asm__("rmdir");
HOOK_EXPORT int hook_remove(const char* p) __asm__("remove");
HOOK_EXPORT int hook_mkdir(const char* p, mode_t m) __asm__("mkdir");
HOOK_EXPORT int hook_mkdirat(int d, const char* p, mode_t m) __asm__("mkdirat");
HOOK_EXPORT int hook_rename(const char* o, const char* n) __asm__("rename");
HOOK_EXPORT int hook_renameat(int od, const char* o, int nd, const char* n) __asm__("renameat");
HOOK_EXPORT int hook_renameat2(int od, const char* o, int nd, const char* n,
                               unsigned f) __asm__("renameat2");
HOOK_EXPORT int hook_link(const char* o, const char* n) __asm__("link");
HOOK_EXPORT int hook_linkat(int od, const char* o, int nd, const char* n, int f) __asm__("linkat");
HOOK_EXPORT int hook_symlink(const char* t, const char* p) __asm__("symlink");
HOOK_EXPORT int hook_symlinkat(const char* t, int d, const char* p) __asm__("symlinkat");
HOOK_EXPORT int hook_chmod(const char* p, mode_t m) __asm__("chmod");
HOOK_EXPORT int hook_fchmodat(int d, const char* p, mode_t m, int f) __asm__("fchmodat");
HOOK_EXPORT int hook_lchmod(const char* p, mode_t m) __asm__("lchmod");
HOOK_EXPORT int hook_chown(const char* p, uid_t u, gid_t g) __asm__("chown");
HOOK_EXPORT int hook_lchown(const char* p, uid_t u, gid_t g) __asm__("lchown");
HOOK_EXPORT int hook_fchownat(int d, const char* p, uid_t u, gid_t g, int f) __asm__("fchownat");
HOOK_EXPORT int hook_truncate(const char* p, off_t l) __asm__("truncate");
HOOK_EXPORT int hook_truncate64(const char* p, off_t l) __asm__("truncate64");
HOOK_EXPORT int hook_mknod(const char* p, mode_t m, dev_t dev) __asm__("mknod");
HOOK_EXPORT int hook_mknodat(int d, const char* p, mode_t m, dev_t dev) __asm__("mknodat");
HOOK_EXPORT int hook_xmknod(int v, const char* p, mode_t m, dev_t* dev) __asm__("__xmknod");
HOOK_EXPORT int hook_xmknodat(int v, int d, const char* p, mode_t m,
                              dev_t* dev) __asm__("__xmknodat");
HOOK_EXPORT int hook_mkfifo(const char* p, mode_t m) __asm__("mkfifo");
HOOK_EXPORT int hook_mkfifoat(int d, const char* p, mode_t m) __asm__("mkfifoat");

// `real(args…)` when not governed (or -ENOSYS without libc's symbol), else `decided`.
#define AGENTSH_PASS(real, ...) \
  if (!governed()) return (real) != nullptr ? (real)(__VA_ARGS__) : no_real()

int hook_unlink(const char* p) {
  AGENTSH_PASS(HOOK_REAL(unlink, "unlink"), p);
  return ret_int(file_guard::unlink(AT_FDCWD, p, 0));
}
int hook_unlinkat(int d, const char* p, int f) {
  AGENTSH_PASS(HOOK_REAL(unlinkat, "unlinkat"), d, p, f);
  return ret_int(file_guard::unlink(d, p, f));
}
int hook_rmdir(const char* p) {
  AGENTSH_PASS(HOOK_REAL(rmdir, "rmdir"), p);
  return ret_int(file_guard::unlink(AT_FDCWD, p, AT_REMOVEDIR));
}
int hook_remove(const char* p) {
  // glibc's remove() calls its internal unlink/rmdir, which no interposer would see.
  AGENTSH_PASS(HOOK_REAL(remove, "remove"), p);
  long r = file_guard::unlink(AT_FDCWD, p, 0);
  if (r == -EISDIR) r = file_guard::unlink(AT_FDCWD, p, AT_REMOVEDIR);
  return ret_int(r);
}
int hook_mkdir(const char* p, mode_t m) {
  AGENTSH_PASS(HOOK_REAL(mkdir, "mkdir"), p, m);
  return ret_int(file_guard::mkdir(AT_FDCWD, p, m));
}
int hook_mkdirat(int d, const char* p, mode_t m) {
  AGENTSH_PASS(HOOK_REAL(mkdirat, "mkdirat"), d, p, m);
  return ret_int(file_guard::mkdir(d, p, m));
}
int hook_rename(const char* o, const char* n) {
  AGENTSH_PASS(HOOK_REAL(rename, "rename"), o, n);
  return ret_int(file_guard::rename(AT_FDCWD, o, AT_FDCWD, n, 0));
}
int hook_renameat(int od, const char* o, int nd, const char* n) {
  AGENTSH_PASS(HOOK_REAL(renameat, "renameat"), od, o, nd, n);
  return ret_int(file_guard::rename(od, o, nd, n, 0));
}
int hook_renameat2(int od, const char* o, int nd, const char* n, unsigned f) {
  AGENTSH_PASS(HOOK_REAL(renameat2, "renameat2"), od, o, nd, n, f);
  return ret_int(file_guard::rename(od, o, nd, n, f));
}
int hook_link(const char* o, const char* n) {
  AGENTSH_PASS(HOOK_REAL(link, "link"), o, n);
  return ret_int(file_guard::link(AT_FDCWD, o, AT_FDCWD, n, 0));
}
int hook_linkat(int od, const char* o, int nd, const char* n, int f) {
  AGENTSH_PASS(HOOK_REAL(linkat, "linkat"), od, o, nd, n, f);
  return ret_int(file_guard::link(od, o, nd, n, f));
}
int hook_symlink(const char* t, const char* p) {
  AGENTSH_PASS(HOOK_REAL(symlink, "symlink"), t, p);
  return ret_int(file_guard::symlink(t, AT_FDCWD, p));
}
int hook_symlinkat(const char* t, int d, const char* p) {
  AGENTSH_PASS(HOOK_REAL(symlinkat, "symlinkat"), t, d, p);
  return ret_int(file_guard::symlink(t, d, p));
}
int hook_chmod(const char* p, mode_t m) {
  AGENTSH_PASS(HOOK_REAL(chmod, "chmod"), p, m);
  return ret_int(file_guard::chmod(AT_FDCWD, p, m, 0));
}
int hook_fchmodat(int d, const char* p, mode_t m, int f) {
  AGENTSH_PASS(HOOK_REAL(fchmodat, "fchmodat"), d, p, m, f);
  return ret_int(file_guard::chmod(d, p, m, f));
}
int hook_lchmod(const char* p, mode_t m) {
  AGENTSH_PASS(HOOK_REAL(lchmod, "lchmod"), p, m);
  return ret_int(file_guard::chmod(AT_FDCWD, p, m, AT_SYMLINK_NOFOLLOW));
}
int hook_chown(const char* p, uid_t u, gid_t g) {
  AGENTSH_PASS(HOOK_REAL(chown, "chown"), p, u, g);
  return ret_int(file_guard::chown(AT_FDCWD, p, u, g, 0));
}
int hook_lchown(const char* p, uid_t u, gid_t g) {
  AGENTSH_PASS(HOOK_REAL(lchown, "lchown"), p, u, g);
  return ret_int(file_guard::chown(AT_FDCWD, p, u, g, AT_SYMLINK_NOFOLLOW));
}
int hook_fchownat(int d, const char* p, uid_t u, gid_t g, int f) {
  AGENTSH_PASS(HOOK_REAL(fchownat, "fchownat"), d, p, u, g, f);
  return ret_int(file_guard::chown(d, p, u, g, f));
}
int hook_truncate(const char* p, off_t l) {
  AGENTSH_PASS(HOOK_REAL(truncate, "truncate"), p, l);
  return ret_int(file_guard::truncate(p, l));
}
int hook_truncate64(const char* p, off_t l) {
  AGENTSH_PASS(HOOK_REAL(truncate64, "truncate64"), p, l);
  return ret_int(file_guard::truncate(p, l));
}
int hook_mknod(const char* p, mode_t m, dev_t dev) {
  AGENTSH_PASS(HOOK_REAL(mknod, "mknod"), p, m, dev);
  return ret_int(file_guard::mknod(AT_FDCWD, p, m, dev));
}
int hook_mknodat(int d, const char* p, mode_t m, dev_t dev) {
  AGENTSH_PASS(HOOK_REAL(mknodat, "mknodat"), d, p, m, dev);
  return ret_int(file_guard::mknod(d, p, m, dev));
}
int hook_xmknod(int v, const char* p, mode_t m, dev_t* dev) {
  if (v != 0 || dev == nullptr) return ret_int(-EINVAL);  // _MKNOD_VER_LINUX is 0
  if (!governed()) {
    return ret_int(agentsh::hook::sys::call(SYS_mknodat, AT_FDCWD, agentsh::hook::sys::arg(p), m,
                                            agentsh::hook::sys::arg(*dev)));
  }
  return ret_int(file_guard::mknod(AT_FDCWD, p, m, *dev));
}
int hook_xmknodat(int v, int d, const char* p, mode_t m, dev_t* dev) {
  if (v != 0 || dev == nullptr) return ret_int(-EINVAL);
  if (!governed()) {
    return ret_int(agentsh::hook::sys::call(SYS_mknodat, d, agentsh::hook::sys::arg(p), m,
                                            agentsh::hook::sys::arg(*dev)));
  }
  return ret_int(file_guard::mknod(d, p, m, *dev));
}
int hook_mkfifo(const char* p, mode_t m) {
  AGENTSH_PASS(HOOK_REAL(mkfifo, "mkfifo"), p, m);
  return ret_int(file_guard::mknod(AT_FDCWD, p, S_IFIFO | (m & 07777), 0));
}
int hook_mkfifoat(int d, const char* p, mode_t m) {
  AGENTSH_PASS(HOOK_REAL(mkfifoat, "mkfifoat"), d, p, m);
  return ret_int(file_guard::mknod(d, p, S_IFIFO | (m & 07777), 0));
}
