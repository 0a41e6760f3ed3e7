// AllowCache: remembers which operations the policy plainly allows on a path, so the
// open/stat fast path asks the snapshot once per path and process instead of on every
// call (snapshot::View::check_file walks the protected list and the rules, and a rule
// like "**/.env" runs the glob matcher on every path: ~60% of the hook's own time on an
// absolute open under the reference policy).
//
// Why it can never be stale: check_file() is a pure function of (snapshot, path, op), and
// a process's snapshot is mapped once, read-only, for its whole life (a new snapshot
// means a new process). Only "allow" answers are kept (what peek_allows() needs); every
// other verdict goes through file_policy::decide() as before. The cache decides nothing
// about symlinks either: the path it answers for is the one then opened strictly.
//
// Shape: 128 slots, direct-mapped by a word-at-a-time hash; a slot holds the path (up to
// kKeyMax bytes; longer paths are not cached) as 64-bit words and the mask of allowed
// ops. Concurrency: a per-slot sequence counter (seqlock). Readers never wait; a writer
// takes the slot by moving its counter from even to odd with a CAS and skips the slot
// when that fails — no lock is ever waited for, so signal handlers (a handler
// interrupting its own thread's write just misses) and fork (a slot caught mid-write
// stays odd in the child: a permanent miss there, never a wrong answer) are safe.
//
// House rules: no exceptions, no malloc, no locks, no stdio, no syscalls, errno untouched.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentsh::hook {

class AllowCache {
 public:
  static constexpr size_t kKeyMax = 248;  // path bytes kept (31 words)

  static AllowCache& get() noexcept { return instance_; }

  // True when every op bit in `need` is known to be allowed on `path`.
  bool allows(const char* path, size_t len, uint32_t need) const noexcept;
  // Records that the op bits in `allowed` are allowed on `path` (merged with what the
  // slot already knows about the same path). Best effort: may drop it.
  void remember(const char* path, size_t len, uint32_t allowed) noexcept;

 private:
  static constexpr size_t kSlots = 128;
  static constexpr size_t kWords = kKeyMax / 8;

  struct Slot {
    uint32_t seq;  // odd: being written
    uint32_t len;
    uint64_t hash;
    uint32_t allowed;
    uint64_t key[kWords];
  };

  static AllowCache instance_;
  Slot slots_[kSlots];
};

}  // namespace agentsh::hook
