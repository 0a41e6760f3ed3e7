// Interposed: open, open64, openat, openat64, __open_2, __open64_2, __openat_2,
// __openat64_2, creat, creat64, fopen, fopen64, freopen, freopen64, opendir.
//
// House rules: no exceptions, no malloc on the decision path (fdopen/fdopendir allocate
// the program's FILE/DIR after the decision, as the real call would), no locks, no stdio
// of our own, raw syscalls, errno preserved on the allow path, re-entry passes through.
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>

#include <cstring>

#include "preload/file_guard.h"
#include "preload/interpose.h"
#include "preload/line_buf.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

using agentsh::hook::g_real;
using agentsh::hook::governed;
using agentsh::hook::ret_int;
namespace file_guard = agentsh::hook::file_guard;
namespace sys = agentsh::hook::sys;

namespace {

bool wants_mode(int flags) noexcept {
  return (flags & O_CREAT) != 0 || (flags & O_TMPFILE) == O_TMPFILE;
}

// Pass-through when libc's symbol is not resolved yet (a constructor running before
// ours): the syscall itself.
int raw_open(int dirfd, const char* path, int flags, unsigned mode) noexcept {
  return ret_int(sys::openat(dirfd, path, flags, mode));
}

int do_open(int dirfd, const char* path, int flags, unsigned mode,
            int (*real)(int, const char*, int, ...)) noexcept {
  if (!governed()) {
    return real != nullptr ? real(dirfd, path, flags, mode) : raw_open(dirfd, path, flags, mode);
  }
  return ret_int(file_guard::open(dirfd, path, flags, mode));
}

int do_open_nodir(const char* path, int flags, unsigned mode,
                  int (*real)(const char*, int, ...)) noexcept {
  if (!governed()) {
    return real != nullptr ? real(path, flags, mode) : raw_open(AT_FDCWD, path, flags, mode);
  }
  return ret_int(file_guard::open(AT_FDCWD, path, flags, mode));
}

// fopen mode string -> open flags (glibc's rules: r/w/a, then '+', 'x', 'e' until ',').
bool mode_flags(const char* mode, int* flags) noexcept {
  if (mode == nullptr) return false;
  int f;
  switch (mode[0]) {
    case 'r':
      f = O_RDONLY;
      break;
    case 'w':
      f = O_WRONLY | O_CREAT | O_TRUNC;
      break;
    case 'a':
      f = O_WRONLY | O_CREAT | O_APPEND;
      break;
    default:
      return false;
  }
  for (const char* p = mode + 1; *p != '\0' && *p != ','; ++p) {
    if (*p == '+') f = (f & ~O_ACCMODE) | O_RDWR;
    if (*p == 'x') f |= O_EXCL;
    if (*p == 'e') f |= O_CLOEXEC;
  }
  *flags = f;
  return true;
}

FILE* do_fopen(const char* path, const char* mode, FILE* (*real)(const char*, const char*)) {
  if (!governed()) return real != nullptr ? real(path, mode) : nullptr;
  int flags = 0;
  if (!mode_flags(mode, &flags) || HOOK_REAL(fdopen, "fdopen") == nullptr) {
    errno = EINVAL;
    return nullptr;
  }
  long fd = file_guard::open(AT_FDCWD, path, flags, 0666);
  if (fd < 0) {
    errno = static_cast<int>(-fd);
    return nullptr;
  }
  FILE* f;
  {
    agentsh::hook::ReentryGuard guard;
    f = HOOK_REAL(fdopen, "fdopen")(static_cast<int>(fd), mode);
  }
  if (f == nullptr) {
    int e = errno;
    sys::close(static_cast<int>(fd));
    errno = e;
  }
  return f;
}

FILE* do_freopen(const char* path, const char* mode, FILE* stream,
                 FILE* (*real)(const char*, const char*, FILE*)) {
  if (real == nullptr) {
    errno = ENOSYS;
    return nullptr;
  }
  if (!governed() || path == nullptr) return real(path, mode, stream);
  int flags = 0;
  if (!mode_flags(mode, &flags)) return real(path, mode, stream);  // libc reports EINVAL
  long fd = file_guard::open(AT_FDCWD, path, flags, 0666);
  if (fd < 0) {
    errno = static_cast<int>(-fd);
    return nullptr;
  }
  // Reopen the stream on the object we decided on, through its fd ("x" would fail: the
  // file exists now). Without /proc, fall back to the decided path.
  char mode2[16];
  size_t k = 0;
  for (const char* p = mode; *p != '\0' && k + 1 < sizeof mode2; ++p) {
    if (*p != 'x') mode2[k++] = *p;
  }
  mode2[k] = '\0';
  agentsh::hook::LineBuf fdpath;
  fdpath.add("/proc/self/fd/").add_int(fd);
  FILE* f;
  {
    agentsh::hook::ReentryGuard guard;
    f = real(fdpath.data(), mode2, stream);
  }
  int e = errno;
  sys::close(static_cast<int>(fd));
  errno = e;
  return f;
}

}  // namespace

HOOK_EXPORT int hook_open(const char* path, int flags, ...) __asm__("open");
HOOK_EXPORT int hook_open64(const char* path, int flags, ...) __asm__("open64");
HOOK_EXPORT int hook_openat(int dirfd, const char* path, int flags, ...) __asm__("openat");
HOOK_EXPORT int hook_openat64(int dirfd, const char* path, int flags, ...) __asm__("openat64");
HOOK_EXPORT int hook_open_2(const char* path, int flags) __asm__("__open_2");
HOOK_EXPORT int hook_open64_2(const char* path, int flags) __asm__("__open64_2");
HOOK_EXPORT int hook_openat_2(int dirfd, const char* path, int flags) __asm__("__openat_2");
HOOK_EXPORT int hook_openat64_2(int dirfd, const char* path, int flags) __asm__("__openat64_2");
HOOK_EXPORT int hook_creat(const char* path, mode_t mode) __asm__("creat");
HOOK_EXPORT int hook_creat64(const char* path, mode_t mode) __asm__("creat64");
HOOK_EXPORT FILE* hook_fopen(const char* path, const char* mode) __asm__("fopen");
HOOK_EXPORT FILE* hook_fopen64(const char* path, const char* mode) __asm__("fopen64");
HOOK_EXPORT FILE* hook_freopen(const char* path, const char* mode, FILE* s) __asm__("freopen");
HOOK_EXPORT FILE* hook_freopen64(const char* path, const char* mode, FILE* s) __asm__("freopen64");
HOOK_EXPORT DIR* hook_opendir(const char* path) __asm__("opendir");

#define AGENTSH_READ_MODE(flags) \
  unsigned mode = 0;             \
  if (wants_mode(flags)) {       \
    va_list ap;                  \
    va_start(ap, flags);         \
    mode = va_arg(ap, unsigned); \
    va_end(ap);                  \
  }

int hook_open(const char* path, int flags, ...) {
  AGENTSH_READ_MODE(flags)
  return do_open_nodir(path, flags, mode, HOOK_REAL(open, "open"));
}
int hook_open64(const char* path, int flags, ...) {
  AGENTSH_READ_MODE(flags)
  return do_open_nodir(path, flags, mode, HOOK_REAL(open64, "open64"));
}
int hook_openat(int dirfd, const char* path, int flags, ...) {
  AGENTSH_READ_MODE(flags)
  return do_open(dirfd, path, flags, mode, HOOK_REAL(openat, "openat"));
}
int hook_openat64(int dirfd, const char* path, int flags, ...) {
  AGENTSH_READ_MODE(flags)
  return do_open(dirfd, path, flags, mode, HOOK_REAL(openat64, "openat64"));
}
int hook_open_2(const char* path, int flags) {
  if (!governed() && HOOK_REAL(open_2, "__open_2") != nullptr)
    return HOOK_REAL(open_2, "__open_2")(path, flags);
  return do_open_nodir(path, flags, 0, HOOK_REAL(open, "open"));
}
int hook_open64_2(const char* path, int flags) {
  if (!governed() && HOOK_REAL(open64_2, "__open64_2") != nullptr)
    return HOOK_REAL(open64_2, "__open64_2")(path, flags);
  return do_open_nodir(path, flags, 0, HOOK_REAL(open64, "open64"));
}
int hook_openat_2(int dirfd, const char* path, int flags) {
  if (!governed() && HOOK_REAL(openat_2, "__openat_2") != nullptr)
    return HOOK_REAL(openat_2, "__openat_2")(dirfd, path, flags);
  return do_open(dirfd, path, flags, 0, HOOK_REAL(openat, "openat"));
}
int hook_openat64_2(int dirfd, const char* path, int flags) {
  if (!governed() && HOOK_REAL(openat64_2, "__openat64_2") != nullptr)
    return HOOK_REAL(openat64_2, "__openat64_2")(dirfd, path, flags);
  return do_open(dirfd, path, flags, 0, HOOK_REAL(openat64, "openat64"));
}
int hook_creat(const char* path, mode_t mode) {
  return do_open_nodir(path, O_CREAT | O_WRONLY | O_TRUNC, mode, HOOK_REAL(open, "open"));
}
int hook_creat64(const char* path, mode_t mode) {
  return do_open_nodir(path, O_CREAT | O_WRONLY | O_TRUNC, mode, HOOK_REAL(open64, "open64"));
}
FILE* hook_fopen(const char* path, const char* mode) {
  return do_fopen(path, mode, HOOK_REAL(fopen, "fopen"));
}
FILE* hook_fopen64(const char* path, const char* mode) {
  return do_fopen(path, mode, HOOK_REAL(fopen64, "fopen64"));
}
FILE* hook_freopen(const char* path, const char* mode, FILE* s) {
  return do_freopen(path, mode, s, HOOK_REAL(freopen, "freopen"));
}
FILE* hook_freopen64(const char* path, const char* mode, FILE* s) {
  return do_freopen(path, mode, s, HOOK_REAL(freopen64, "freopen64"));
}

DIR* hook_opendir(const char* path) {
  if (!governed()) {
    if (HOOK_REAL(opendir, "opendir") != nullptr) return HOOK_REAL(opendir, "opendir")(path);
    errno = ENOSYS;
    return nullptr;
  }
  if (HOOK_REAL(fdopendir, "fdopendir") == nullptr) {
    errno = ENOSYS;
    return nullptr;
  }
  long fd = file_guard::open(AT_FDCWD, path, O_RDONLY | O_NONBLOCK | O_DIRECTORY | O_CLOEXEC, 0);
  if (fd < 0) {
    errno = static_cast<int>(-fd);
    return nullptr;
  }
  DIR* d;
  {
    agentsh::hook::ReentryGuard guard;
    d = HOOK_REAL(fdopendir, "fdopendir")(static_cast<int>(fd));
  }
  if (d == nullptr) {
    int e = errno;
    sys::close(static_cast<int>(fd));
    errno = e;
  }
  return d;
}
