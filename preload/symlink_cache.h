// SymlinkCache: the merged-/usr shortcut. /bin, /lib, /lib64, /sbin are symlinks on most
// systems, so every strict open below them would fail with ELOOP and take the slow path.
// The cache remembers top-level symlinks ("/lib" -> "/usr/lib") and rewrites a path's
// first component before the fast path decides and opens it.
//
// Why a stale entry can never cause a wrong decision: the rewritten path is the one the
// hook decides on AND the one it opens (strictly, RESOLVE_NO_SYMLINKS). A stale entry
// could only make the program open the object the link used to point to.
//
// Admission: only a symlink directly under "/", owned by root, in a root-owned "/" that
// is not group/other-writable. Invalidation: entries live until exec (a new process
// starts empty); the hook drops every entry whenever it performs a mutating operation
// (unlink, rename, symlink, link, rmdir, mkdir) on a path directly under "/". Changes
// made by other processes to top-level links are not seen until exec.
//
// Concurrency: entries are published with a per-entry sequence counter (seqlock);
// readers never wait, a writer that finds another writer active simply does not cache.
// No lock is ever held across a call, so fork() cannot leave one held.
//
// House rules: no exceptions, no malloc, no locks, no stdio, errno untouched.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentsh::hook {

class SymlinkCache {
 public:
  static SymlinkCache& get() noexcept { return instance_; }

  // If `path` (absolute) starts with a cached "/name" followed by '/' or its end, writes
  // target + rest into `out` and returns the new length; returns 0 when nothing applies
  // or the result does not fit.
  size_t rewrite(const char* path, size_t len, char* out, size_t cap) const noexcept;

  // Offers "/name" -> `target` (absolute, already symlink-free as far as the caller
  // knows). Checks admission (two lstat-like syscalls) and stores it if there is room.
  void remember(const char* link, size_t link_len, const char* target, size_t target_len) noexcept;

  void invalidate() noexcept;

  // True for a path whose parent is "/" (mutations there invalidate the cache).
  static bool is_top_level(const char* path, size_t len) noexcept;

 private:
  static constexpr int kEntries = 8;
  static constexpr size_t kNameMax = 32;
  static constexpr size_t kTargetMax = 96;
  struct Entry {
    uint32_t seq;  // odd while being written
    uint32_t name_len;
    uint32_t target_len;
    char name[kNameMax];  // "/lib"
    char target[kTargetMax];
  };
  static SymlinkCache instance_;

  Entry entries_[kEntries] = {};
  uint32_t count_ = 0;  // entries [0, count_) are published
  int writer_ = 0;      // try-lock: a second writer skips instead of waiting
};

}  // namespace agentsh::hook
