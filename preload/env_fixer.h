// EnvFixer: keeps the hook in every child. Given the envp an exec/spawn is about to pass,
// it makes sure the child gets LD_PRELOAD containing the hook library (prepended to
// whatever else the program preloads), AGENTSH_SNAPSHOT, AGENTSH_SNAPSHOT_FD (when this
// process was given one: the inherited snapshot descriptor) and AGENTSH_SESSION_ID — and
// hands back the program's own envp untouched when nothing is missing (the common case:
// no copy at all).
//
// Memory: a stack arena inside the object (usable between vfork and exec); only an
// environment with more than kStackSlots entries or very long values needs an mmap, which
// the destructor returns (after a successful exec nothing is left to return; in a vfork
// child that mapping stays in the parent — a documented, size-bounded leak).
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// untouched.
#pragma once

#include <cstddef>

namespace agentsh::hook {

class EnvFixer {
 public:
  EnvFixer() noexcept = default;
  ~EnvFixer();
  EnvFixer(const EnvFixer&) = delete;
  EnvFixer& operator=(const EnvFixer&) = delete;

  // Returns the envp to use (envp itself, or an array owned by this object). Returns
  // envp unchanged when the hook is inert or memory cannot be had.
  char* const* fix(char* const* envp) noexcept;

 private:
  static constexpr size_t kStackSlots = 256;
  static constexpr size_t kArena = 4096;

  char* slots_[kStackSlots];
  char arena_[kArena];
  void* map_ = nullptr;
  size_t map_len_ = 0;
};

}  // namespace agentsh::hook
