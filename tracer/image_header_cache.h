// What the exec check learned from an image's first page — its first bytes (for #!)
// and whether it is a dynamic ELF (PT_INTERP) — remembered per file version, so that a
// loop running the same program does not reopen it through /proc/self/fd and read it
// on every exec (three syscalls of the ~15 an exec check costs).
//
// A version is (dev, inode, size, mtime, ctime), all from the fstat the lookup already
// did. Any write changes ctime, which userspace cannot set back; since Linux 6.13 a
// change after a query (our fstat is one) gets a fine-grained ctime on ext4, xfs, btrfs
// and tmpfs, so a rewrite within one clock tick still shows. A stale entry could in any
// case only reproduce the window the uncached read already has (the file rewritten
// between the check and the kernel's load): the image identity and argv are verified at
// PTRACE_EVENT_EXEC whatever this cache says.
//
// Thread-safety: every member takes the internal mutex (workers share one cache).
// Bounded: cleared when full.
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace agentsh::tracer {

class ImageHeaderCache {
 public:
  struct Header {
    std::string head;  // up to BINPRM_BUF_SIZE bytes
    bool dynamic = false;
  };
  static constexpr size_t kMaxEntries = 1024;

  // True and *out filled when this version of the file was seen before.
  bool find(const struct stat& st, Header* out) const;
  void put(const struct stat& st, const Header& h);

 private:
  struct Key {
    uint64_t dev, ino, size;
    int64_t mtime_s, mtime_ns, ctime_s, ctime_ns;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const;
  };
  static Key key_of(const struct stat& st);

  mutable std::mutex mu_;
  std::unordered_map<Key, Header, KeyHash> map_;
};

}  // namespace agentsh::tracer
