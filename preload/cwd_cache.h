// CwdCache: the process's current directory, remembered so that a relative path does not
// cost a getcwd syscall (~0.5 µs, most of what a relative open added) on every call.
//
// What it is for: path_resolver::build() joins a relative path with the cwd to decide on
// and to open the absolute result (decided == opened, so a stale entry can make the hook
// open the wrong file, never bypass the policy: the path opened is the path decided).
//
// Invalidation — the cwd changes only through:
//  * chdir/fchdir/chroot/setns/daemon called through the PLT: interposed
//    (interpose_cwd.cc), each bumps the generation after the real call;
//  * glibc's own internal chdir calls: nftw(FTW_CHDIR) — no caching while it runs —, and
//    fts_read/fts_children/fts_close — generation bumped after each;
//  * a rename this process makes (an ancestor of the cwd may have moved): bumped;
//  * unshare(CLONE_FS) (a thread with its own cwd): the cache is off for good;
//  * a rename by another process, a raw chdir syscall, a thread cloned without CLONE_FS
//    by hand: NOT seen. For the first, an operation that fails with ENOENT on a path
//    built from the cache is retried once with a fresh getcwd (file_guard.cc).
// Fork: the child inherits the cwd and the cache together. Exec: a new process starts
// empty. vfork: the child shares this memory but not the cwd — once any chdir has been
// seen in the address space (a vfork child's chdir included), entries carry the pid that
// filled them and a hit also checks getpid() (still far cheaper than getcwd).
//
// Concurrency: one seqlocked entry; readers never wait, a filler that finds it busy does
// not cache; the generation is read before the getcwd and checked under the write, so a
// chdir racing with a fill can only make the fill be dropped. No lock is ever held across
// a call: fork- and signal-safe.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno untouched.
#pragma once

#include <cstddef>
#include <cstdint>

namespace agentsh::hook {

class CwdCache {
 public:
  static CwdCache& get() noexcept { return instance_; }

  // The getcwd syscall's contract: writes the NUL-terminated cwd into buf and returns its
  // length including the NUL, or -errno. *cached (optional) says whether the answer came
  // from the cache.
  long getcwd(char* buf, size_t cap, bool* cached = nullptr) noexcept;

  // The cwd may have changed (after chdir, fchdir, chroot, setns, fts, a rename).
  void invalidate() noexcept { __atomic_add_fetch(&gen_, 1, __ATOMIC_ACQ_REL); }
  // A chdir/fchdir went through us: invalidate, and from now on tie entries to a pid
  // (a vfork child may be the one that moved).
  void note_chdir() noexcept;
  // The process now has threads whose cwd may differ (unshare(CLONE_FS)): never cache.
  void disable() noexcept;
  // Around glibc code that changes directory internally and calls back (nftw FTW_CHDIR).
  void enter_unsafe() noexcept;
  void leave_unsafe() noexcept;

 private:
  static CwdCache instance_;
  static constexpr size_t kMax = 4096;

  uint32_t seq_ = 0;  // odd: being written
  uint32_t len_ = 0;  // including the NUL; 0 = empty
  uint64_t entry_gen_ = 0;
  long entry_pid_ = 0;  // 0 = filled before any chdir was seen
  uint64_t gen_ = 1;
  int pid_check_ = 0;  // sticky: a chdir was seen
  int disabled_ = 0;
  int unsafe_ = 0;  // nftw(FTW_CHDIR) depth, process-wide
  uint64_t path_[kMax / 8];
};

}  // namespace agentsh::hook
