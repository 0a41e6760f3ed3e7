// The governed file operations. Each one decides on the path the kernel will use and
// then performs the operation itself, so that the object decided on is the object
// reached:
//
//  fast path  decide on the lexical path (path_resolver::build), then do the operation
//             with the one strict syscall: openat2(RESOLVE_NO_SYMLINKS|NO_MAGICLINKS)
//             (for open), or an O_PATH openat2 of the object/parent followed by the
//             fd-based call (stat, unlink…). Success proves there was no symlink, so the
//             lexical decision was the right one.
//  slow path  on ELOOP (a symlink somewhere), on any lexical verdict other than plain
//             allow, or without openat2: resolve component by component, decide on the
//             resolved path, then operate strictly on the resolved path (retried if the
//             tree changed in between).
//
// Every function returns the result or -errno (EACCES when policy denies), never
// touches errno, and is async-signal-safe (an `approve` decision blocks on the broker).
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls through the
// gate, errno untouched, nothing allocated (safe between vfork and exec).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstddef>

namespace agentsh::hook::file_guard {

// open/openat/creat and the stdio/dirent wrappers built on them. Returns the fd.
long open(int dirfd, const char* path, int flags, unsigned mode) noexcept;

// stat family: at_flags may hold AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH, AT_NO_AUTOMOUNT.
long stat(int dirfd, const char* path, struct stat* st, int at_flags) noexcept;
long statx(int dirfd, const char* path, int at_flags, unsigned mask, struct statx* stx) noexcept;
// access family (decided as `stat`: policies name stat, not access).
long access(int dirfd, const char* path, int mode, int at_flags) noexcept;
long readlink(int dirfd, const char* path, char* buf, size_t n) noexcept;
long chmod(int dirfd, const char* path, mode_t mode, int at_flags) noexcept;
long chown(int dirfd, const char* path, uid_t uid, gid_t gid, int at_flags) noexcept;
long truncate(const char* path, off_t length) noexcept;

// at_flags: AT_REMOVEDIR makes it rmdir. Subject to soft_delete.
long unlink(int dirfd, const char* path, int at_flags) noexcept;
long mkdir(int dirfd, const char* path, mode_t mode) noexcept;
long mknod(int dirfd, const char* path, mode_t mode, dev_t dev) noexcept;
long symlink(const char* target, int dirfd, const char* linkpath) noexcept;
long link(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
          int at_flags) noexcept;
long rename(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
            unsigned flags) noexcept;

}  // namespace agentsh::hook::file_guard
