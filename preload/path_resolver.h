// Which path does the kernel use? Two answers, a fast one and an exact one.
//
//  * build(): the lexical answer. Joins a relative path with the cwd (CwdCache) or
//    with a dirfd (readlink /proc/self/fd/N), applies the top-level symlink cache, and
//    normalises for the decision (".", "..", repeated slashes). The raw absolute path is
//    kept as well: it is what the hook hands the kernel, with RESOLVE_NO_SYMLINKS, so
//    ".." through a missing directory or a file still fails exactly as it would have.
//  * resolve(): the exact answer, component by component with readlink, the way the
//    kernel walks: symlinks expanded (a symlink to /etc/shadow is /etc/shadow), the
//    final one only when the operation follows it, /proc magic links to paths followed
//    (/proc/self/root/etc/shadow is /etc/shadow), /proc/<own pid> shown as /proc/self.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// untouched. Stack use: Target ~8 KiB, resolve() ~20 KiB (slow path only).
#pragma once

#include <cstddef>

namespace agentsh::hook::path_resolver {

inline constexpr size_t kPathMax = 4096;  // PATH_MAX, including the NUL

struct Target {
  const char* open;  // absolute raw path for the kernel (caller's string or open_buf)
  size_t open_len;
  const char* dpath;  // normalised path for the policy (open, or dpath_buf)
  size_t dlen;
  bool trailing_slash;  // ended in "/", "/." or "/..": the final component must be a
                        // directory, and a final symlink is followed
  bool cwd_cached;      // joined with the cwd from CwdCache (a retry may want a fresh one)
  char open_buf[kPathMax];
  char dpath_buf[kPathMax];
};

// (dirfd, path) -> Target. Returns 0 or -errno: EFAULT (null), ENOENT (empty path, or a
// cwd/dirfd that no longer has a path), ENAMETOOLONG, EBADF (dirfd not open), ENOTDIR
// (dirfd is not a directory).
long build(int dirfd, const char* path, Target* t) noexcept;

// The path of an open fd as the kernel reports it (readlink /proc/self/fd/N). Returns
// the length or -errno: EBADF, ENOTDIR (no path: pipe, socket…), ENOENT (deleted).
long fd_path(int fd, char* out, size_t cap) noexcept;

struct Resolved {
  char open[kPathMax];  // physical path, every followed symlink expanded. When `broken`,
                        // ends in the raw, unresolvable tail (the operation fails there)
  size_t open_len;
  char dpath[kPathMax];  // normalised; /proc/<own pid> spelled /proc/self
  size_t dlen;
  bool magic;          // ends at a /proc magic link to an object without a path (pipe,
                       // socket, deleted file): operate on `open` following links, and
                       // decide on the path the program gave
  bool final_symlink;  // the final component is a symlink that was not followed
  bool broken;         // a component before the last is missing or not a directory
};

// Resolves the absolute path `abs` (a Target's raw `open`). follow_final: whether the
// operation follows a final symlink. Returns 0 or -errno (ELOOP after 40 links,
// ENAMETOOLONG). Offers top-level links it meets to the SymlinkCache.
long resolve(const char* abs, size_t len, bool follow_final, Resolved* r) noexcept;

// Resolution drops a trailing "/" or "/." (the kernel reads them as "must be a
// directory"); this puts the raw path's back on a resolved path, so unlink("file/") and
// rmdir("dir/.") still fail the way the kernel says. Not for a broken path (its raw tail
// is already there).
void restore_tail(const char* raw, size_t raw_len, Resolved* r) noexcept;

// Splits an absolute path into parent and final component for *at() calls. The parent
// is written to `parent` (at least "/"); *last points into `path` (may keep trailing
// slashes; "" for "/" itself). Returns the parent's length or -ENAMETOOLONG.
long split_parent(const char* path, size_t len, char* parent, size_t cap,
                  const char** last) noexcept;

}  // namespace agentsh::hook::path_resolver
