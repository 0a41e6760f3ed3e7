// Decides and performs a caller's path-based file syscalls in the supervisor.
//
// Why emulate instead of "check, then let the kernel do it" (SECCOMP_USER_NOTIF_FLAG_
// CONTINUE): after a continue the kernel reads the path from the caller's memory again,
// and another thread (or a process sharing the memory) can have rewritten it in between.
// Here the path is copied once; the decision and the operation both use the copy, and
// the operation runs relative to directory fds the supervisor resolved itself, so what
// was decided is what happens. An opened file reaches the caller through
// SECCOMP_IOCTL_NOTIF_ADDFD; other calls answer with the syscall's return value.
//
// Every path is judged twice when they differ: as the caller wrote it (made absolute and
// normalised lexically against its cwd or dirfd) and as it really resolves (symlinks in
// every component followed, per the call's own follow rules, read back from the fd the
// supervisor opened). Either one denied = EACCES, audited once.
//
// Thread-safety: one instance per worker thread is not required — all state is in the
// arguments and the shared context — but calls run on a worker thread whose fs_struct
// is private (umask) and whose credentials may be switched (CredsScope).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <string>

#include "policy/decision.h"
#include "tracer/notification.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class FsEmulator {
 public:
  explicit FsEmulator(SupervisorContext& ctx) : ctx_(ctx) {}

  Outcome open(const Caller& c);         // open, creat, openat, openat2
  Outcome path_op(const Caller& c);      // unlink*, rmdir, mkdir*, mknod*, chmod*, chown*, truncate
  Outcome two_path_op(const Caller& c);  // rename*, link*
  Outcome symlink(const Caller& c);      // symlink, symlinkat
  Outcome fd_meta(const Caller& c);      // fchmod, fchown

  // Looks up (dirfd, path) the way exec does (following the final symlink unless
  // `nofollow`; AT_EMPTY_PATH = the dirfd itself). Fills the O_PATH object, the caller's
  // lexical path and the real path. 0 or -errno; `lexical` is set whenever it could be
  // computed, so the caller can decide on it even when the lookup failed.
  int lookup(const Caller& c, int dirfd, const std::string& path, bool nofollow, bool empty_path,
             ScopedFd* object, std::string* lexical, std::string* real, struct stat* st);

  // The policy question with the tracer's own rules first (the supervisor's /proc
  // entries, other processes' memory). Audits a denial. `real` may be empty.
  // `allowed` (optional) receives the verdict that let the call through (the real
  // path's when it was asked).
  bool permit(const Caller& c, const std::string& lexical, const std::string& real,
              policy::FileOp op, Verdict* allowed = nullptr);

 private:
  struct Base;
  struct Target;
  int read_path(const Caller& c, int arg, std::string* out);
  int make_base(const Caller& c, int dirfd, const std::string& path, Base* b,
                bool anchored = false);
  // Resolves (dirfd, path): lexical path, parent directory fd, final name, and the
  // object itself if it exists (following the final symlink iff `follow`).
  int resolve(const Caller& c, int dirfd, const std::string& path, bool follow, bool empty_path,
              Target* t, uint64_t resolve_flags = 0);
  bool permit_one(const Caller& c, const std::string& path, policy::FileOp op,
                  Verdict* allowed = nullptr);
  Outcome soft_delete(const Caller& c, Target& t, policy::FileOp op, const Verdict& v);
  // openat2(dirfd, path, O_PATH | oflags) as the caller would resolve it (see
  // path_walker.h). Returns the fd or -errno; fills `real` on success.
  int lookup_fd(const Caller& c, int dirfd, const std::string& path, int oflags, uint64_t resolve,
                std::string* real);
  // lookup()'s fast way: (dirfd, path) opened O_PATH with RESOLVE_NO_SYMLINKS |
  // RESOLVE_NO_MAGICLINKS (after replacing a symlink in the first component, as
  // open_fast does), so the real path is the lexical one and needs no readlink of the
  // result. The fd (real filled), a final -errno, or kTakeGeneralPath.
  static constexpr int kTakeGeneralPath = -100000;
  int lookup_strict(int dirfd, const std::string& path, const std::string& lexical, int oflags,
                    std::string* real);
  // The strict open of (dirfd, path) shared by open_fast and lookup_strict: kOpened with
  // *fd the openat2 result (an fd or -errno), or kRewritten with the path whose first
  // component (a symlink) was replaced by its fresh target, to be decided and opened
  // strictly by the caller, or kGeneral.
  enum class Strict { kOpened, kRewritten, kGeneral };
  Strict open_strict_or_rewrite(int dirfd, const std::string& path, const std::string& lexical,
                                int oflags, std::string* rewritten, int* fd);
  // lexical with its first component (a symlink, read now) replaced; false if it is not
  // a symlink or its target has "..".
  bool first_link_rewrite(const std::string& lexical, std::string* out);
  Outcome open_existing(const Caller& c, Target& t, int flags, bool write, bool read);
  // The common open (no create, no O_PATH, no resolve flags) in one strict syscall when
  // the lexical path is plainly allowed (see open()). False: take the general path,
  // nothing decided or audited yet.
  bool open_fast(const Caller& c, int dirfd, const std::string& path, int flags, bool read,
                 bool write, Outcome* out);
  Outcome open_tty(const Caller& c, int flags);

  // Which of the merged-/usr top-level names were symlinks when last met (a hint only).
  std::atomic<uint32_t> linked_top_{0};
  SupervisorContext& ctx_;
};

}  // namespace agentsh::tracer
