// dlsym(RTLD_NEXT) table (see real_fns.h). House rules: no exceptions, no stdio, no
// locks; resolve_all() is the only place that calls dlsym, once, at start-up.
#include "preload/real_fns.h"

#include <dlfcn.h>

namespace agentsh::hook {

RealFns g_real = {};

namespace real_fns {

namespace {

template <typename T>
void get(T* slot, const char* name) noexcept {
  if (*slot != nullptr) return;
  *slot = reinterpret_cast<T>(dlsym(RTLD_NEXT, name));
}

}  // namespace

void resolve_all() noexcept {
  RealFns& r = g_real;
  get(&r.open, "open");
  get(&r.open64, "open64");
  get(&r.openat, "openat");
  get(&r.openat64, "openat64");
  get(&r.open_2, "__open_2");
  get(&r.open64_2, "__open64_2");
  get(&r.openat_2, "__openat_2");
  get(&r.openat64_2, "__openat64_2");
  get(&r.creat, "creat");
  get(&r.creat64, "creat64");
  get(&r.fopen, "fopen");
  get(&r.fopen64, "fopen64");
  get(&r.freopen, "freopen");
  get(&r.freopen64, "freopen64");
  get(&r.fdopen, "fdopen");
  get(&r.opendir, "opendir");
  get(&r.fdopendir, "fdopendir");
  get(&r.stat, "stat");
  get(&r.stat64, "stat64");
  get(&r.lstat, "lstat");
  get(&r.lstat64, "lstat64");
  get(&r.fstatat, "fstatat");
  get(&r.fstatat64, "fstatat64");
  get(&r.statx, "statx");
  get(&r.access, "access");
  get(&r.faccessat, "faccessat");
  get(&r.euidaccess, "euidaccess");
  get(&r.eaccess, "eaccess");
  get(&r.readlink, "readlink");
  get(&r.readlinkat, "readlinkat");
  get(&r.unlink, "unlink");
  get(&r.unlinkat, "unlinkat");
  get(&r.rmdir, "rmdir");
  get(&r.remove, "remove");
  get(&r.mkdir, "mkdir");
  get(&r.mkdirat, "mkdirat");
  get(&r.rename, "rename");
  get(&r.renameat, "renameat");
  get(&r.renameat2, "renameat2");
  get(&r.link, "link");
  get(&r.linkat, "linkat");
  get(&r.symlink, "symlink");
  get(&r.symlinkat, "symlinkat");
  get(&r.chmod, "chmod");
  get(&r.fchmodat, "fchmodat");
  get(&r.lchmod, "lchmod");
  get(&r.chown, "chown");
  get(&r.lchown, "lchown");
  get(&r.fchownat, "fchownat");
  get(&r.truncate, "truncate");
  get(&r.truncate64, "truncate64");
  get(&r.mknod, "mknod");
  get(&r.mknodat, "mknodat");
  get(&r.mkfifo, "mkfifo");
  get(&r.mkfifoat, "mkfifoat");
  get(&r.execve, "execve");
  get(&r.execveat, "execveat");
  get(&r.fexecve, "fexecve");
  get(&r.execv, "execv");
  get(&r.execvp, "execvp");
  get(&r.execvpe, "execvpe");
  get(&r.posix_spawn, "posix_spawn");
  get(&r.posix_spawnp, "posix_spawnp");
  get(&r.system, "system");
  get(&r.popen, "popen");
  get(&r.connect, "connect");
  get(&r.sendto, "sendto");
  get(&r.sendmsg, "sendmsg");
  get(&r.sendmmsg, "sendmmsg");
  get(&r.recvfrom, "recvfrom");
  get(&r.recvmsg, "recvmsg");
  get(&r.recvmmsg, "recvmmsg");
  get(&r.getpeername, "getpeername");
  get(&r.getaddrinfo, "getaddrinfo");
  get(&r.gethostbyname, "gethostbyname");
  get(&r.gethostbyname2, "gethostbyname2");
  get(&r.gethostbyname_r, "gethostbyname_r");
  get(&r.gethostbyname2_r, "gethostbyname2_r");
}

}  // namespace real_fns

}  // namespace agentsh::hook
