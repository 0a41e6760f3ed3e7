// Path lookup "as the caller": the supervisor opens files on a caller's behalf, but a
// few kernel names depend on who is looking — /proc/self and /proc/thread-self, and the
// magic links behind them (/dev/fd/N, /dev/stdin, /proc/self/exe, /etc/mtab ->
// ../proc/self/mounts). Resolved by the supervisor, they would mean the supervisor: its
// status, its environment, its fds (the notification fd among them).
//
// FsEmulator first lets the kernel resolve a path with RESOLVE_NO_MAGICLINKS. That never
// follows a magic link, so it can only go wrong by landing in the supervisor's own
// /proc/<pid> (through a plain /proc/self symlink). When it fails with ELOOP or lands
// there, the path is resolved again here, one component at a time: symlinks are read
// and followed in user space, "self"/"thread-self" in the proc root become the caller's
// pid/tid, and magic links are followed by the kernel only inside a /proc/<pid> that
// belongs to the tree (never the supervisor's).
//
// Thread-safety: stateless apart from the arguments.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "common/scoped_fd.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class PathWalker {
 public:
  PathWalker(const SupervisorContext& ctx, pid_t tgid, pid_t tid)
      : ctx_(ctx), tgid_(tgid), tid_(tid) {}

  // Like openat2(dirfd, path, O_PATH | (follow_final ? 0 : O_NOFOLLOW)) as the caller
  // would see it. `want_dir` adds O_DIRECTORY semantics. `no_magic`: the caller asked for
  // RESOLVE_NO_MAGICLINKS itself. Returns an O_PATH fd or -errno.
  int open(int dirfd, const std::string& path, bool follow_final, bool want_dir, bool no_magic);

  // "/proc/self..." and "/proc/thread-self..." spelled with the caller's ids (the fast,
  // purely lexical part). Other paths are returned unchanged.
  std::string rewrite_self(const std::string& path) const;
  // True if `real` is inside the supervisor's own /proc/<pid>.
  bool in_supervisor_proc(const std::string& real) const;

 private:
  const SupervisorContext& ctx_;
  pid_t tgid_, tid_;
};

}  // namespace agentsh::tracer
