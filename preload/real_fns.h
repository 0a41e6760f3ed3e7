// The next definition (libc's) of every symbol the hook interposes — what
// dlsym(RTLD_NEXT) answers — looked up on first use (real_fns.cc). Used for pass-through
// (inert hook, non-governed calls) and for the few libc services the hook builds on
// (fdopen, fdopendir, resolver).
//
// House rules: no exceptions, no malloc on the decision path, no locks, no stdio.
// resolve_all() runs in the constructor and only gathers the objects to search; a slot is
// filled by its first HOOK_REAL, by reading mapped ELF tables — safe everywhere,
// including signal handlers and vfork children (dlsym, which may allocate, only for a
// name those tables cannot answer). HOOK_REAL yields nullptr when libc lacks the symbol;
// callers then fail with ENOSYS.
#pragma once

#include <dirent.h>
#include <netdb.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>

namespace agentsh::hook {

struct RealFns {
  // open family
  int (*open)(const char*, int, ...);
  int (*open64)(const char*, int, ...);
  int (*openat)(int, const char*, int, ...);
  int (*openat64)(int, const char*, int, ...);
  int (*open_2)(const char*, int);
  int (*open64_2)(const char*, int);
  int (*openat_2)(int, const char*, int);
  int (*openat64_2)(int, const char*, int);
  int (*creat)(const char*, mode_t);
  int (*creat64)(const char*, mode_t);
  FILE* (*fopen)(const char*, const char*);
  FILE* (*fopen64)(const char*, const char*);
  FILE* (*freopen)(const char*, const char*, FILE*);
  FILE* (*freopen64)(const char*, const char*, FILE*);
  FILE* (*fdopen)(int, const char*);
  DIR* (*opendir)(const char*);
  DIR* (*fdopendir)(int);
  // stat family
  int (*stat)(const char*, struct stat*);
  int (*stat64)(const char*, struct stat*);
  int (*lstat)(const char*, struct stat*);
  int (*lstat64)(const char*, struct stat*);
  int (*fstatat)(int, const char*, struct stat*, int);
  int (*fstatat64)(int, const char*, struct stat*, int);
  int (*statx)(int, const char*, int, unsigned, struct statx*);
  int (*access)(const char*, int);
  int (*faccessat)(int, const char*, int, int);
  int (*euidaccess)(const char*, int);
  int (*eaccess)(const char*, int);
  ssize_t (*readlink)(const char*, char*, size_t);
  ssize_t (*readlinkat)(int, const char*, char*, size_t);
  // modifications
  int (*unlink)(const char*);
  int (*unlinkat)(int, const char*, int);
  int (*rmdir)(const char*);
  int (*remove)(const char*);
  int (*mkdir)(const char*, mode_t);
  int (*mkdirat)(int, const char*, mode_t);
  int (*rename)(const char*, const char*);
  int (*renameat)(int, const char*, int, const char*);
  int (*renameat2)(int, const char*, int, const char*, unsigned);
  int (*link)(const char*, const char*);
  int (*linkat)(int, const char*, int, const char*, int);
  int (*symlink)(const char*, const char*);
  int (*symlinkat)(const char*, int, const char*);
  int (*chmod)(const char*, mode_t);
  int (*fchmodat)(int, const char*, mode_t, int);
  int (*lchmod)(const char*, mode_t);
  int (*chown)(const char*, uid_t, gid_t);
  int (*lchown)(const char*, uid_t, gid_t);
  int (*fchownat)(int, const char*, uid_t, gid_t, int);
  int (*truncate)(const char*, off_t);
  int (*truncate64)(const char*, off_t);
  int (*mknod)(const char*, mode_t, dev_t);
  int (*mknodat)(int, const char*, mode_t, dev_t);
  int (*mkfifo)(const char*, mode_t);
  int (*mkfifoat)(int, const char*, mode_t);
  // exec
  int (*execve)(const char*, char* const[], char* const[]);
  int (*execveat)(int, const char*, char* const[], char* const[], int);
  int (*fexecve)(int, char* const[], char* const[]);
  int (*execv)(const char*, char* const[]);
  int (*execvp)(const char*, char* const[]);
  int (*execvpe)(const char*, char* const[], char* const[]);
  int (*posix_spawn)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                     const posix_spawnattr_t*, char* const[], char* const[]);
  int (*posix_spawnp)(pid_t*, const char*, const posix_spawn_file_actions_t*,
                      const posix_spawnattr_t*, char* const[], char* const[]);
  int (*system)(const char*);
  FILE* (*popen)(const char*, const char*);
  // the current directory (not decided: passed through, CwdCache invalidated). fts and
  // nftw take glibc's own types, kept opaque here.
  int (*chdir)(const char*);
  int (*fchdir)(int);
  int (*chroot)(const char*);
  int (*unshare)(int);
  int (*setns)(int, int);
  int (*daemon)(int, int);
  int (*nftw)(const char*, void*, int, int);
  int (*nftw64)(const char*, void*, int, int);
  void* (*fts_read)(void*);
  void* (*fts_children)(void*, int);
  int (*fts_close)(void*);
  void* (*fts64_read)(void*);
  void* (*fts64_children)(void*, int);
  int (*fts64_close)(void*);
  // network
  int (*connect)(int, const struct sockaddr*, socklen_t);
  ssize_t (*sendto)(int, const void*, size_t, int, const struct sockaddr*, socklen_t);
  ssize_t (*sendmsg)(int, const struct msghdr*, int);
  int (*sendmmsg)(int, struct mmsghdr*, unsigned, int);
  ssize_t (*recvfrom)(int, void*, size_t, int, struct sockaddr*, socklen_t*);
  ssize_t (*recvmsg)(int, struct msghdr*, int);
  int (*recvmmsg)(int, struct mmsghdr*, unsigned, int, struct timespec*);
  int (*getpeername)(int, struct sockaddr*, socklen_t*);
  int (*getaddrinfo)(const char*, const char*, const struct addrinfo*, struct addrinfo**);
  struct hostent* (*gethostbyname)(const char*);
  struct hostent* (*gethostbyname2)(const char*, int);
  int (*gethostbyname_r)(const char*, struct hostent*, char*, size_t, struct hostent**, int*);
  int (*gethostbyname2_r)(const char*, int, struct hostent*, char*, size_t, struct hostent**, int*);
};

// The table. A slot is zero until first used: read it through HOOK_REAL (below), never
// directly — except posix_spawn/posix_spawnp, which resolve_all() fills at start-up.
extern RealFns g_real;

namespace real_fns {
// From the constructor (and defensively from the first interposed call if another
// library's constructor runs before ours): finds the objects RTLD_NEXT searches. Cheap:
// the per-symbol lookups happen on first use (a process that calls none pays none).
void resolve_all() noexcept;

// What dlsym(RTLD_NEXT, name) answers: a lookup in the GNU hash tables of the objects
// after ours, dlsym only for what that cannot answer. Async-signal-safe on that path.
void* find(const char* name) noexcept;

// The slot, looked up on first use (a name libc lacks is remembered as missing, so it is
// looked up once). Threads racing here store the same value.
template <typename T>
inline T get(T* slot, const char* name) noexcept {
  const T kMissing = reinterpret_cast<T>(uintptr_t{1});
  T v = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
  if (__builtin_expect(v != nullptr, 1)) return v == kMissing ? nullptr : v;
  v = reinterpret_cast<T>(find(name));
  __atomic_store_n(slot, v != nullptr ? v : kMissing, __ATOMIC_RELEASE);
  return v;
}
}  // namespace real_fns

}  // namespace agentsh::hook

// libc's `sym` (the g_real slot `field`), resolved on first use.
#define HOOK_REAL(field, sym) (::agentsh::hook::real_fns::get(&::agentsh::hook::g_real.field, sym))
