// Governed file operations (see file_guard.h for the fast and slow paths).
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls through the
// gate (sys::call), errno untouched, nothing allocated — safe in signal handlers, in
// multithreaded programs and between vfork and exec.
#include "preload/file_guard.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/stat.h>
#include <sys/syscall.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "preload/cwd_cache.h"
#include "preload/file_policy.h"
#include "preload/hook_state.h"
#include "preload/line_buf.h"
#include "preload/path_resolver.h"
#include "preload/symlink_cache.h"
#include "preload/sys.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif

namespace agentsh::hook::file_guard {

namespace {

using file_policy::Ops;
using file_policy::Outcome;
using path_resolver::kPathMax;
using path_resolver::Resolved;
using path_resolver::Target;
using policy::FileOp;

// An executor's answer "strict resolution met a symlink": take the slow path.
constexpr long kNeedResolve = -100000;
// An executor's answer "no fd left for the O_PATH handle" (EMFILE/ENFILE): stat() and
// unlink() must not fail for lack of an fd the program never asked for, so the
// operation is redone by path on the resolved path.
constexpr long kNoFd = -100001;

enum class How : unsigned char {
  kStrict,  // openat2(RESOLVE_NO_SYMLINKS|RESOLVE_NO_MAGICLINKS): exactly this path
  kFollow,  // a plain path syscall (magic /proc links, redirect targets, no openat2)
};

// Set when the kernel has no openat2 (ENOSYS) or a seccomp profile refuses it (EPERM):
// every operation then resolves first and uses plain syscalls (a symlink swapped in
// between is the residual risk; the tracer, if any, still sees them).
int g_no_openat2 = 0;
// Whether openat2 itself is refused, learnt the first time an openat2 says EPERM (EPERM
// is also an ordinary answer: O_NOATIME on another's file, an immutable file opened for
// writing…): 0 = not probed, 1 = works, 2 = refused. Probed lazily rather than in the
// constructor: a process that never opens a file pays nothing.
int g_openat2_probe = 0;

bool no_openat2() noexcept {
  return __atomic_load_n(&g_no_openat2, __ATOMIC_RELAXED) != 0;
}

// After an openat2 answered `r`: is openat2 unusable here (ENOSYS, or EPERM for the
// syscall itself)? Then remembers it for the process. Idempotent, lock-free; two threads
// probing at once both get the same answer.
bool openat2_unusable(long r) noexcept {
  if (r != -ENOSYS && r != -EPERM) return false;
  if (r == -EPERM) {
    int p = __atomic_load_n(&g_openat2_probe, __ATOMIC_RELAXED);
    if (p == 0) {
      long fd = sys::openat2(AT_FDCWD, "/", O_PATH | O_CLOEXEC, 0, sys::kStrictResolve);
      if (fd >= 0) sys::close(static_cast<int>(fd));
      p = (fd == -ENOSYS || fd == -EPERM) ? 2 : 1;
      __atomic_store_n(&g_openat2_probe, p, __ATOMIC_RELAXED);
    }
    if (p == 1) return false;
  }
  __atomic_store_n(&g_no_openat2, 1, __ATOMIC_RELAXED);
  return true;
}

long strict_open(const char* path, uint64_t flags, uint64_t mode) noexcept {
  long r = sys::openat2(AT_FDCWD, path, flags, mode, sys::kStrictResolve);
  if (r == -ELOOP) return kNeedResolve;
  if (r < 0 && openat2_unusable(r)) return kNeedResolve;
  return r;
}

// "/proc/self/fd/N": reaches the object behind an fd the hook opened strictly.
struct FdPath {
  explicit FdPath(long fd) noexcept { buf.add("/proc/self/fd/").add_int(fd); }
  const char* c_str() const noexcept { return buf.data(); }
  LineBuf buf;
};

uint64_t path_hash(const char* p, size_t n) noexcept {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<unsigned char>(p[i])) * 1099511628211ull;
  return h;
}

struct Spec {
  Ops ops;
  bool follow = true;           // the operation follows a final symlink
  bool nofollow_eloop = false;  // a final symlink means ELOOP (open O_NOFOLLOW)
  bool rmdir = false;           // soft delete of a directory
};

// For a redirect decision: redirect_to, or redirect_to + basename when it ends in '/'.
long redirect_path(const char* to, const char* dpath, size_t dlen, char* out) noexcept {
  size_t n = strlen(to);
  if (n == 0 || n >= kPathMax) return -EACCES;
  memcpy(out, to, n);
  if (to[n - 1] == '/') {
    size_t s = dlen;
    while (s > 0 && dpath[s - 1] != '/') --s;
    if (n + (dlen - s) + 1 > kPathMax) return -ENAMETOOLONG;
    memcpy(out + n, dpath + s, dlen - s);
    n += dlen - s;
  }
  out[n] = '\0';
  return static_cast<long>(n);
}

// True if directory `fd` has entries besides "." and "..".
long dir_not_empty(long fd) noexcept {
  alignas(8) char buf[1024];
  for (;;) {
    long n = sys::call(SYS_getdents64, fd, sys::arg(buf), sizeof buf);
    if (n < 0) return n;
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<struct dirent64*>(buf + off);
      const char* nm = d->d_name;
      if (!(nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' && nm[2] == '\0')))) return 1;
      off += d->d_reclen;
    }
  }
}

// Moves `last` (in directory `pfd`, already lstat'ed as `st`) to `name` in the trash
// directory `tfd` when the two are on different filesystems (rename says EXDEV): copies
// a regular file with sendfile (no buffer of ours), re-creates a symlink or an empty
// directory, then removes the original. Only once the copy is complete is the original
// removed; on any failure the partial copy goes and the original stays.
long move_across_filesystems(long pfd, const char* last, long tfd, const char* name,
                             const struct stat& st) noexcept {
  const mode_t perm = st.st_mode & 07777;
  if (S_ISDIR(st.st_mode)) {  // an empty directory (rmdir checked emptiness)
    long r = sys::call(SYS_mkdirat, tfd, sys::arg(name), perm);
    if (r < 0) return r;
    r = sys::call(SYS_unlinkat, pfd, sys::arg(last), AT_REMOVEDIR);
    if (r < 0) sys::call(SYS_unlinkat, tfd, sys::arg(name), AT_REMOVEDIR);
    return r;
  }
  if (S_ISLNK(st.st_mode)) {
    char target[kPathMax];
    long n = sys::call(SYS_readlinkat, pfd, sys::arg(last), sys::arg(target), sizeof target - 1);
    if (n < 0) return n;
    target[n] = '\0';
    long r = sys::call(SYS_symlinkat, sys::arg(target), tfd, sys::arg(name));
    if (r < 0) return r;
    r = sys::call(SYS_unlinkat, pfd, sys::arg(last), 0);
    if (r < 0) sys::call(SYS_unlinkat, tfd, sys::arg(name), 0);
    return r;
  }
  if (!S_ISREG(st.st_mode)) return -EXDEV;  // devices, fifos, sockets: keep, refuse
  long in = sys::call(SYS_openat, pfd, sys::arg(last), O_RDONLY | O_NOFOLLOW | O_CLOEXEC, 0);
  if (in < 0) return in;
  long out = sys::call(SYS_openat, tfd, sys::arg(name),
                       O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm);
  if (out < 0) return sys::close_keep(static_cast<int>(in), out);
  long r = 0;
  for (;;) {
    r = sys::call(SYS_sendfile, out, in, 0, 1L << 30);
    if (r == -EINTR) continue;
    if (r <= 0) break;
  }
  if (r == 0) r = sys::call(SYS_fchmod, out, perm);
  sys::close(static_cast<int>(in));
  sys::close(static_cast<int>(out));
  if (r == 0) r = sys::call(SYS_unlinkat, pfd, sys::arg(last), 0);
  if (r < 0) sys::call(SYS_unlinkat, tfd, sys::arg(name), 0);
  return r;
}

// soft_delete: moves the target into the session's trash as <pid>-<n>-<basename>
// instead of deleting it, and reports success. `open_path` is the resolved path (final
// component not followed). Refuses (EACCES) rather than deletes when it cannot move.
long soft_delete(const char* open_path, const char* dpath, const Outcome& o, bool rmdir) noexcept {
  static unsigned long counter = 0;
  const char* trash = HookState::get().trash_dir();
  char parent[kPathMax];
  const char* last = nullptr;
  long pl = path_resolver::split_parent(open_path, strlen(open_path), parent, sizeof parent, &last);
  if (pl < 0) return pl;
  if (*last == '\0') return rmdir ? -EBUSY : -EISDIR;
  long pfd = no_openat2() ? -ENOSYS
                          : sys::openat2(AT_FDCWD, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                                         sys::kStrictResolve);
  if (pfd < 0 && (no_openat2() || openat2_unusable(pfd))) {
    pfd = sys::openat(AT_FDCWD, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  }
  if (pfd < 0) return pfd;
  struct stat st;
  long r = sys::call(SYS_newfstatat, pfd, sys::arg(last), sys::arg(&st), AT_SYMLINK_NOFOLLOW);
  if (r < 0) return sys::close_keep(static_cast<int>(pfd), r);
  if (!rmdir && S_ISDIR(st.st_mode)) return sys::close_keep(static_cast<int>(pfd), -EISDIR);
  if (rmdir) {
    if (!S_ISDIR(st.st_mode)) return sys::close_keep(static_cast<int>(pfd), -ENOTDIR);
    long dfd = sys::call(SYS_openat, pfd, sys::arg(last),
                         O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (dfd < 0) return sys::close_keep(static_cast<int>(pfd), dfd);
    long ne = dir_not_empty(dfd);
    sys::close(static_cast<int>(dfd));
    if (ne != 0) return sys::close_keep(static_cast<int>(pfd), ne > 0 ? -ENOTEMPTY : ne);
  }
  long tfd = trash[0] == '\0' ? -ENOENT
                              : sys::openat(AT_FDCWD, trash, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  size_t bl = strlen(last);
  while (bl > 0 && last[bl - 1] == '/') --bl;
  if (bl > 200) bl = 200;
  long pid = sys::getpid();
  LineBuf name;
  r = tfd;
  for (int tries = 0; tfd >= 0 && tries < 16; ++tries) {
    name = LineBuf();
    name.add_int(pid).add_char('-');
    name.add_int(static_cast<long>(__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED)));
    name.add_char('-').add(last, bl);
    r = sys::call(SYS_renameat2, pfd, sys::arg(last), tfd, sys::arg(name.data()), RENAME_NOREPLACE);
    // The workspace and the trash on different filesystems (a separate /home, a
    // container volume): copy, then remove.
    if (r == -EXDEV) r = move_across_filesystems(pfd, last, tfd, name.data(), st);
    if (r != -EEXIST) break;
  }
  if (tfd >= 0) sys::close(static_cast<int>(tfd));
  sys::close(static_cast<int>(pfd));
  FileOp op = rmdir ? FileOp::kRmdir : FileOp::kDelete;
  if (r < 0) {
    // Never fall back to deleting: keep the file, tell the program no.
    LineBuf msg;
    msg.add("soft delete failed: cannot move into trash ").add(trash).add(" (errno ");
    msg.add_int(-r).add_char(')');
    file_policy::audit(op, dpath, o.rule, "deny", msg.data(), EACCES);
    return -EACCES;
  }
  LineBuf msg;
  msg.add("moved to ").add(trash).add_char('/').add(name.data());
  file_policy::audit(op, dpath, o.rule, "soft_delete", msg.data(), 0);
  return 0;
}

template <typename Exec>
__attribute__((noinline)) long do_redirect(const char* to, const char* dpath, size_t dlen,
                                           Exec& exec) noexcept {
  char red[kPathMax];
  long n = redirect_path(to, dpath, dlen, red);
  if (n < 0) return n;
  return exec(red, How::kFollow);
}

// The slow path: resolve, decide on the resolved path, operate strictly on it. A
// kNeedResolve after resolving means the tree changed under us: resolve again.
template <typename Exec>
__attribute__((noinline)) long run_slow(const Target& t, const Spec& spec, Exec& exec) noexcept {
  Resolved rs;
  bool follow = spec.follow || t.trailing_slash;
  uint64_t decided = 0;  // hash of the path last decided: a retry does not ask twice
  Outcome o;
  for (int attempt = 0; attempt < 4; ++attempt) {
    long r = path_resolver::resolve(t.open, t.open_len, follow, &rs);
    if (r < 0) return r;
    path_resolver::restore_tail(t.open, t.open_len, &rs);
    const char* dp = rs.magic ? t.dpath : rs.dpath;
    size_t dl = rs.magic ? t.dlen : rs.dlen;
    uint64_t h = path_hash(dp, dl);
    if (attempt == 0 || h != decided) o = file_policy::decide(dp, dl, spec.ops);
    decided = h;
    switch (o.act) {
      case Outcome::Act::kDeny:
        return -o.err;
      case Outcome::Act::kRedirect:
        return do_redirect(o.redirect_to, dp, dl, exec);
      case Outcome::Act::kSoftDelete:
        return soft_delete(rs.open, dp, o, spec.rmdir);
      case Outcome::Act::kProceed:
        break;
    }
    if (rs.final_symlink && spec.nofollow_eloop) return -ELOOP;
    r = exec(rs.open, (rs.magic || no_openat2()) ? How::kFollow : How::kStrict);
    if (r == kNoFd) return exec(rs.open, How::kFollow);
    if (r != kNeedResolve) return r;
  }
  return -ELOOP;
}

// One path, one operation: the fast path, else the slow one.
template <typename Exec>
long run_built(const Target& t, const Spec& spec, Exec& exec) noexcept {
  if (!no_openat2() && file_policy::peek_allows(t.dpath, t.dlen, spec.ops)) {
    long r = exec(t.open, How::kStrict);
    if (r != kNeedResolve && r != kNoFd) return r;
  }
  return run_slow(t, spec, exec);
}

// A path joined with a cached cwd that then does not exist may mean the cwd moved
// behind the cache's back (a directory renamed by another process): one fresh try.
// ENOENT means nothing was done, so the retry cannot repeat an effect.
bool retry_with_fresh_cwd(const Target& t, long r) noexcept {
  if (r != -ENOENT || !t.cwd_cached) return false;
  CwdCache::get().invalidate();
  return true;
}

template <typename Exec>
long run(int dirfd, const char* path, const Spec& spec, Exec& exec) noexcept {
  Target t;
  long r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  r = run_built(t, spec, exec);
  if (!retry_with_fresh_cwd(t, r)) return r;
  r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  return run_built(t, spec, exec);
}

// open(O_CREAT) — one semantics for the hook and the tracer (tracer/fs_emulator.cc): on
// a file that exists, O_CREAT creates nothing, so only the read/write the call asks for
// is decided; on a missing file it is a create (plus the write/read). `spec.ops` is
// {create, read-or-write}; `exec_existing` opens without O_CREAT/O_EXCL.
// Whether the file exists is looked up only when the answer matters (create is not
// plainly allowed with the rest), and the existing-file branch never creates: if the
// file vanished in between, the open fails with ENOENT and the create is decided after
// all. Learning existence this way tells the program nothing an open without O_CREAT
// would not.
template <typename Exec, typename ExecExisting>
long run_creat_built(const Target& t, int dirfd, const char* path, int flags, const Spec& spec,
                     Exec& exec, ExecExisting& exec_existing) noexcept {
  long r;
  if (!no_openat2() && file_policy::peek_allows(t.dpath, t.dlen, spec.ops)) {
    r = exec(t.open, How::kStrict);
    if (r != kNeedResolve && r != kNoFd) return r;
  }
  const bool excl = (flags & O_EXCL) != 0;
  struct stat st;
  long e = sys::call(SYS_newfstatat, dirfd, sys::arg(path), sys::arg(&st),
                     excl || (flags & O_NOFOLLOW) != 0 ? AT_SYMLINK_NOFOLLOW : 0);
  if (e == 0) {
    Spec existing = spec;
    existing.ops = Ops{spec.ops.b};
    if (excl) {
      // O_EXCL on an existing name: EEXIST once the read/write is allowed (the tracer
      // checks the same before answering EEXIST).
      auto eexist = [](const char*, How) noexcept -> long { return -EEXIST; };
      return run_built(t, existing, eexist);
    }
    r = run_built(t, existing, exec_existing);
    if (r != -ENOENT) return r;
  }
  return run_slow(t, spec, exec);
}

template <typename Exec, typename ExecExisting>
long run_creat(int dirfd, const char* path, int flags, const Spec& spec, Exec& exec,
               ExecExisting& exec_existing) noexcept {
  Target t;
  long r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  r = run_creat_built(t, dirfd, path, flags, spec, exec, exec_existing);
  if (!retry_with_fresh_cwd(t, r)) return r;
  r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  return run_creat_built(t, dirfd, path, flags, spec, exec, exec_existing);
}

// Operations on the object itself through an O_PATH fd opened strictly: fd_op(fd) in
// strict mode, path_op(path) in follow mode.
template <typename FdOp, typename PathOp>
struct ObjectExec {
  bool nofollow;
  FdOp fd_op;
  PathOp path_op;
  long operator()(const char* p, How how) noexcept {
    if (how == How::kFollow) return path_op(p);
    long fd = strict_open(p, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0), 0);
    if (fd == -EMFILE || fd == -ENFILE) return kNoFd;
    if (fd < 0) return fd;
    long r = fd_op(fd);
    sys::close(static_cast<int>(fd));
    return r;
  }
};
template <typename FdOp, typename PathOp>
ObjectExec<FdOp, PathOp> object_exec(bool nofollow, FdOp f, PathOp p) noexcept {
  return ObjectExec<FdOp, PathOp>{nofollow, f, p};
}

// Operations on a name in a directory: the parent is opened (strictly) and at_op(pfd,
// last) runs on it — the final component is never followed by the resolution.
template <typename AtOp>
struct ParentExec {
  bool mutating;
  AtOp at_op;
  long operator()(const char* p, How how) noexcept {
    char parent[kPathMax];
    const char* last = nullptr;
    long pl = path_resolver::split_parent(p, strlen(p), parent, sizeof parent, &last);
    if (pl < 0) return pl;
    if (*last == '\0') return at_op(AT_FDCWD, p);  // "/" itself: nothing to resolve
    long pfd = how == How::kStrict
                   ? strict_open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
                   : sys::openat(AT_FDCWD, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (pfd == -EMFILE || pfd == -ENFILE) {
      if (how == How::kStrict) return kNoFd;
      pfd = AT_FDCWD;  // follow mode without an fd: the whole path
      last = p;
    } else if (pfd < 0) {
      return pfd;
    }
    long r = at_op(pfd, last);
    if (pfd != AT_FDCWD) sys::close(static_cast<int>(pfd));
    if (r >= 0 && mutating && pl == 1) SymlinkCache::get().invalidate();
    return r;
  }
};
template <typename AtOp>
ParentExec<AtOp> parent_exec(bool mutating, AtOp op) noexcept {
  return ParentExec<AtOp>{mutating, op};
}

Ops open_ops(int flags) noexcept {
  if ((flags & O_PATH) != 0) return Ops{FileOp::kStat};
  const int acc = flags & O_ACCMODE;
  const bool writes = acc == O_WRONLY || acc == O_RDWR || (flags & (O_TRUNC | O_APPEND)) != 0;
  const bool tmpfile = (flags & (O_TMPFILE & ~O_DIRECTORY)) != 0;
  if ((flags & O_CREAT) != 0 || tmpfile) {
    return Ops{FileOp::kCreate, writes || tmpfile ? FileOp::kWrite : FileOp::kRead};
  }
  if (writes) return Ops{FileOp::kWrite};
  if ((flags & O_DIRECTORY) != 0) return Ops{FileOp::kList};
  return Ops{FileOp::kRead};
}

// Two-path operations (rename, link): resolve and decide one side; writes the path to
// operate on to `out` and how to reach it.
long prepare(int dirfd, const char* path, const Spec& spec, char* out, How* how) noexcept {
  Target t;
  long r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  Resolved rs;
  r = path_resolver::resolve(t.open, t.open_len, spec.follow || t.trailing_slash, &rs);
  if (r < 0) return r;
  path_resolver::restore_tail(t.open, t.open_len, &rs);
  const char* dp = rs.magic ? t.dpath : rs.dpath;
  size_t dl = rs.magic ? t.dlen : rs.dlen;
  Outcome o = file_policy::decide(dp, dl, spec.ops);
  if (o.act == Outcome::Act::kDeny) return -o.err;
  if (o.act == Outcome::Act::kRedirect) {
    *how = How::kFollow;
    r = redirect_path(o.redirect_to, dp, dl, out);
    return r < 0 ? r : 0;
  }
  memcpy(out, rs.open, rs.open_len + 1);
  *how = (rs.magic || no_openat2()) ? How::kFollow : How::kStrict;
  return 0;
}

long open_parent(const char* p, How how, char* parent, const char** last) noexcept {
  long pl = path_resolver::split_parent(p, strlen(p), parent, kPathMax, last);
  if (pl < 0) return pl;
  if (**last == '\0') {  // "/": operate on it relative to "/" itself
    *last = ".";
  }
  return how == How::kStrict ? strict_open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0)
                             : sys::openat(AT_FDCWD, parent, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
}

template <typename AtOp2>
long run_two(int olddirfd, const char* oldpath, const Spec& so, int newdirfd, const char* newpath,
             const Spec& sn, AtOp2 op) noexcept {
  char op_path[kPathMax], np_path[kPathMax];
  for (int attempt = 0; attempt < 4; ++attempt) {
    How oh = How::kStrict, nh = How::kStrict;
    long r = prepare(olddirfd, oldpath, so, op_path, &oh);
    if (r < 0) return r;
    r = prepare(newdirfd, newpath, sn, np_path, &nh);
    if (r < 0) return r;
    char oparent[kPathMax], nparent[kPathMax];
    const char *olast = nullptr, *nlast = nullptr;
    long ofd = open_parent(op_path, oh, oparent, &olast);
    if (ofd == kNeedResolve) continue;
    long nfd = ofd < 0 ? ofd : open_parent(np_path, nh, nparent, &nlast);
    if (nfd == -EMFILE || nfd == -ENFILE) {
      // No fd for the parents: by path on the resolved paths (see kNoFd).
      if (ofd >= 0) sys::close(static_cast<int>(ofd));
      r = op(AT_FDCWD, op_path, AT_FDCWD, np_path);
    } else if (nfd < 0) {
      if (ofd >= 0) sys::close(static_cast<int>(ofd));
      if (nfd == kNeedResolve) continue;
      return nfd;
    } else {
      r = op(ofd, olast, nfd, nlast);
      sys::close(static_cast<int>(ofd));
      sys::close(static_cast<int>(nfd));
    }
    if (r >= 0) CwdCache::get().invalidate();  // the cwd or an ancestor may have moved
    if (r >= 0 && (SymlinkCache::is_top_level(op_path, strlen(op_path)) ||
                   SymlinkCache::is_top_level(np_path, strlen(np_path)))) {
      SymlinkCache::get().invalidate();
    }
    return r;
  }
  return -ELOOP;
}

}  // namespace

long open(int dirfd, const char* path, int flags, unsigned mode) noexcept {
  // openat2 is strict where open() is lenient: unknown flag bits are ignored by open()
  // but EINVAL for openat2, O_PATH ignores all but a few flags, mode must be 0 unless
  // something is created. Present the kernel's open() semantics.
  constexpr uint64_t kValid = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                              O_NONBLOCK | O_DSYNC | FASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY |
                              O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_PATH | O_TMPFILE | O_SYNC;
  uint64_t sflags = static_cast<unsigned>(flags) & kValid;
  if ((sflags & O_PATH) != 0) sflags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  const bool creates = (sflags & O_CREAT) != 0 || (sflags & (O_TMPFILE & ~O_DIRECTORY)) != 0;
  uint64_t smode = creates ? (mode & 07777) : 0;
  struct OpenExec {
    uint64_t sflags, smode;
    int flags;
    unsigned mode;
    long operator()(const char* p, How how) const noexcept {
      if (how == How::kStrict) return strict_open(p, sflags, smode);
      return sys::openat(AT_FDCWD, p, flags, mode);
    }
  } exec{sflags, smode, flags, mode};
  Spec spec;
  spec.ops = open_ops(flags);
  const bool excl_create = (flags & O_CREAT) != 0 && (flags & O_EXCL) != 0;
  spec.follow = (flags & O_NOFOLLOW) == 0 && !excl_create;
  spec.nofollow_eloop = (flags & O_NOFOLLOW) != 0 && (flags & O_PATH) == 0 && !excl_create;
  const bool plain_creat = (sflags & O_CREAT) != 0 && (sflags & O_PATH) == 0 &&
                           (sflags & (O_TMPFILE & ~O_DIRECTORY)) == 0;
  if (!plain_creat) return run(dirfd, path, spec, exec);
  OpenExec existing{sflags & ~static_cast<uint64_t>(O_CREAT | O_EXCL), 0,
                    flags & ~(O_CREAT | O_EXCL), 0};
  return run_creat(dirfd, path, flags, spec, exec, existing);
}

// One name looked up in a directory the process already holds (dirfd or the cwd): no
// '/', not "..". The kernel then traverses no symlink on the way: the only component is
// the final one, and a lookup with AT_SYMLINK_NOFOLLOW does not follow it either. So the
// lexical path (the held directory's path + the name) is exactly the object reached,
// and the plain *at() call on the caller's dirfd needs no strict O_PATH handle. This is
// what `find`, `ls -l` and fts do for every entry. "." is the held directory itself.
bool one_name(const char* p) noexcept {
  if (p == nullptr || p[0] == '\0') return false;
  if (p[0] == '.' && p[1] == '.' && p[2] == '\0') return false;
  return strchr(p, '/') == nullptr;
}

// The one-name fast path of the stat family (see one_name): the no-follow lookup answers
// directly unless the call follows and the name is a symlink — then the link's target
// is a new path the policy must see, and the caller takes the normal route. Returns
// kNeedResolve for "take the normal route", else the syscall's result.
template <typename Lookup>
long one_name_stat(const path_resolver::Target& t, Lookup& lookup_nofollow) noexcept {
  if (no_openat2() || !file_policy::peek_allows(t.dpath, t.dlen, Ops{FileOp::kStat})) {
    return kNeedResolve;
  }
  return lookup_nofollow();
}

long stat(int dirfd, const char* path, struct stat* st, int at_flags) noexcept {
  if ((at_flags & AT_EMPTY_PATH) != 0 && (path == nullptr || path[0] == '\0')) {
    return sys::call(SYS_newfstatat, dirfd, sys::arg(path), sys::arg(st), at_flags);
  }
  const bool nofollow = (at_flags & AT_SYMLINK_NOFOLLOW) != 0;
  auto exec = object_exec(
      nofollow,
      [st](long fd) noexcept {
        return sys::call(SYS_newfstatat, fd, sys::arg(""), sys::arg(st), AT_EMPTY_PATH);
      },
      [st, nofollow](const char* p) noexcept {
        return sys::call(SYS_newfstatat, AT_FDCWD, sys::arg(p), sys::arg(st),
                         nofollow ? AT_SYMLINK_NOFOLLOW : 0);
      });
  Spec spec;
  spec.ops = Ops{FileOp::kStat};
  spec.follow = !nofollow;
  if (!one_name(path)) return run(dirfd, path, spec, exec);
  Target t;
  long r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  auto lookup = [&]() noexcept -> long {
    long e = sys::call(SYS_newfstatat, dirfd, sys::arg(path), sys::arg(st),
                       at_flags | AT_SYMLINK_NOFOLLOW);
    // Without a symlink, lstat and stat see the same object and fail the same way.
    if (e < 0 || nofollow || !S_ISLNK(st->st_mode)) return e;
    return kNeedResolve;
  };
  r = one_name_stat(t, lookup);
  if (r != kNeedResolve) return r;
  return run_built(t, spec, exec);
}

long statx(int dirfd, const char* path, int at_flags, unsigned mask, struct statx* stx) noexcept {
  if ((at_flags & AT_EMPTY_PATH) != 0 && (path == nullptr || path[0] == '\0')) {
    return sys::call(SYS_statx, dirfd, sys::arg(path), at_flags, mask, sys::arg(stx));
  }
  const bool nofollow = (at_flags & AT_SYMLINK_NOFOLLOW) != 0;
  const int sync = at_flags & AT_STATX_SYNC_TYPE;
  auto exec = object_exec(
      nofollow,
      [=](long fd) noexcept {
        return sys::call(SYS_statx, fd, sys::arg(""), AT_EMPTY_PATH | sync, mask, sys::arg(stx));
      },
      [=](const char* p) noexcept {
        return sys::call(SYS_statx, AT_FDCWD, sys::arg(p), at_flags & ~AT_EMPTY_PATH, mask,
                         sys::arg(stx));
      });
  Spec spec;
  spec.ops = Ops{FileOp::kStat};
  spec.follow = !nofollow;
  if (!one_name(path)) return run(dirfd, path, spec, exec);
  Target t;
  long r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  auto lookup = [&]() noexcept -> long {
    long e = sys::call(SYS_statx, dirfd, sys::arg(path), at_flags | AT_SYMLINK_NOFOLLOW, mask,
                       sys::arg(stx));
    if (e < 0 || nofollow) return e;
    // The type is what tells a symlink apart; a filesystem that did not report it
    // takes the normal route.
    if ((stx->stx_mask & STATX_TYPE) == 0 || S_ISLNK(stx->stx_mode)) return kNeedResolve;
    return e;
  };
  r = one_name_stat(t, lookup);
  if (r != kNeedResolve) return r;
  return run_built(t, spec, exec);
}

long access(int dirfd, const char* path, int mode, int at_flags) noexcept {
  if ((at_flags & AT_EMPTY_PATH) != 0 && (path == nullptr || path[0] == '\0')) {
    return sys::call(SYS_faccessat2, dirfd, sys::arg(path), mode, at_flags);
  }
  const bool nofollow = (at_flags & AT_SYMLINK_NOFOLLOW) != 0;
  const int eaccess = at_flags & AT_EACCESS;
  auto exec = object_exec(
      nofollow,
      [=](long fd) noexcept {
        long r = sys::call(SYS_faccessat2, fd, sys::arg(""), mode, AT_EMPTY_PATH | eaccess);
        if (r == -ENOSYS && eaccess == 0) {
          FdPath p(fd);
          r = sys::call(SYS_faccessat, AT_FDCWD, sys::arg(p.c_str()), mode);
        }
        return r;
      },
      [=](const char* p) noexcept {
        long r = sys::call(SYS_faccessat2, AT_FDCWD, sys::arg(p), mode, at_flags);
        if (r == -ENOSYS && at_flags == 0)
          r = sys::call(SYS_faccessat, AT_FDCWD, sys::arg(p), mode);
        return r;
      });
  Spec spec;
  spec.ops = Ops{FileOp::kStat};
  spec.follow = !nofollow;
  return run(dirfd, path, spec, exec);
}

long readlink(int dirfd, const char* path, char* buf, size_t n) noexcept {
  auto exec = object_exec(
      true,
      [=](long fd) noexcept {
        long r = sys::call(SYS_readlinkat, fd, sys::arg(""), sys::arg(buf), sys::arg(n));
        // With an empty path the kernel says ENOENT for "not a symlink"; readlink(path)
        // says EINVAL, which is what programs test for.
        return r == -ENOENT ? static_cast<long>(-EINVAL) : r;
      },
      [=](const char* p) noexcept {
        return sys::call(SYS_readlinkat, AT_FDCWD, sys::arg(p), sys::arg(buf), sys::arg(n));
      });
  Spec spec;
  spec.ops = Ops{FileOp::kReadlink};
  spec.follow = false;
  return run(dirfd, path, spec, exec);
}

long chmod(int dirfd, const char* path, mode_t mode, int at_flags) noexcept {
  const bool nofollow = (at_flags & AT_SYMLINK_NOFOLLOW) != 0;
  auto exec = object_exec(
      nofollow,
      [=](long fd) noexcept {
        long r = sys::call(SYS_fchmodat2, fd, sys::arg(""), mode, AT_EMPTY_PATH);
        if (r == -ENOSYS || r == -EINVAL) {
          struct stat st;
          if (sys::call(SYS_fstat, fd, sys::arg(&st)) == 0 && S_ISLNK(st.st_mode)) {
            return static_cast<long>(-EOPNOTSUPP);
          }
          FdPath p(fd);
          r = sys::call(SYS_fchmodat, AT_FDCWD, sys::arg(p.c_str()), mode);
        }
        return r;
      },
      [=](const char* p) noexcept {
        if (nofollow) return sys::call(SYS_fchmodat2, AT_FDCWD, sys::arg(p), mode, at_flags);
        return sys::call(SYS_fchmodat, AT_FDCWD, sys::arg(p), mode);
      });
  Spec spec;
  spec.ops = Ops{FileOp::kChmod};
  spec.follow = !nofollow;
  return run(dirfd, path, spec, exec);
}

long chown(int dirfd, const char* path, uid_t uid, gid_t gid, int at_flags) noexcept {
  if ((at_flags & AT_EMPTY_PATH) != 0 && (path == nullptr || path[0] == '\0')) {
    return sys::call(SYS_fchownat, dirfd, sys::arg(path), uid, gid, at_flags);
  }
  const bool nofollow = (at_flags & AT_SYMLINK_NOFOLLOW) != 0;
  auto exec = object_exec(
      nofollow,
      [=](long fd) noexcept {
        return sys::call(SYS_fchownat, fd, sys::arg(""), uid, gid, AT_EMPTY_PATH);
      },
      [=](const char* p) noexcept {
        return sys::call(SYS_fchownat, AT_FDCWD, sys::arg(p), uid, gid,
                         nofollow ? AT_SYMLINK_NOFOLLOW : 0);
      });
  Spec spec;
  spec.ops = Ops{FileOp::kChown};
  spec.follow = !nofollow;
  return run(dirfd, path, spec, exec);
}

long truncate(const char* path, off_t length) noexcept {
  auto exec = object_exec(
      false,
      [=](long fd) noexcept {
        FdPath p(fd);
        long r = sys::call(SYS_truncate, sys::arg(p.c_str()), length);
        if (r == -ENOENT) {  // no /proc: open for writing instead (same permission check)
          long wfd = sys::call(SYS_openat, fd, sys::arg(""), O_WRONLY | O_NONBLOCK | O_CLOEXEC, 0);
          if (wfd < 0) return wfd;
          r = sys::call(SYS_ftruncate, wfd, length);
          sys::close(static_cast<int>(wfd));
        }
        return r;
      },
      [=](const char* p) noexcept { return sys::call(SYS_truncate, sys::arg(p), length); });
  Spec spec;
  spec.ops = Ops{FileOp::kWrite};
  return run(AT_FDCWD, path, spec, exec);
}

long unlink(int dirfd, const char* path, int at_flags) noexcept {
  const bool rmdir = (at_flags & AT_REMOVEDIR) != 0;
  auto exec = parent_exec(true, [=](long pfd, const char* last) noexcept {
    return sys::call(SYS_unlinkat, pfd, sys::arg(last), at_flags);
  });
  Spec spec;
  spec.ops = Ops{rmdir ? FileOp::kRmdir : FileOp::kDelete};
  spec.follow = false;
  spec.rmdir = rmdir;
  return run(dirfd, path, spec, exec);
}

long mkdir(int dirfd, const char* path, mode_t mode) noexcept {
  auto exec = parent_exec(true, [=](long pfd, const char* last) noexcept {
    return sys::call(SYS_mkdirat, pfd, sys::arg(last), mode);
  });
  Spec spec;
  spec.ops = Ops{FileOp::kMkdir};
  spec.follow = false;
  return run(dirfd, path, spec, exec);
}

long mknod(int dirfd, const char* path, mode_t mode, dev_t dev) noexcept {
  auto exec = parent_exec(true, [=](long pfd, const char* last) noexcept {
    return sys::call(SYS_mknodat, pfd, sys::arg(last), mode, sys::arg(dev));
  });
  Spec spec;
  const mode_t type = mode & S_IFMT;
  spec.ops = Ops{(type == 0 || type == S_IFREG) ? FileOp::kCreate : FileOp::kMknod};
  spec.follow = false;
  return run(dirfd, path, spec, exec);
}

long symlink(const char* target, int dirfd, const char* linkpath) noexcept {
  if (target == nullptr) return -EFAULT;
  auto exec = parent_exec(true, [=](long pfd, const char* last) noexcept {
    return sys::call(SYS_symlinkat, sys::arg(target), pfd, sys::arg(last));
  });
  Spec spec;
  spec.ops = Ops{FileOp::kSymlink};
  spec.follow = false;
  return run(dirfd, linkpath, spec, exec);
}

long link(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
          int at_flags) noexcept {
  if ((at_flags & AT_EMPTY_PATH) != 0 && oldpath != nullptr && oldpath[0] == '\0') {
    // linkat(fd, "", …, AT_EMPTY_PATH): gives a name to an object the program holds.
    Spec sn;
    sn.ops = Ops{FileOp::kLink};
    sn.follow = false;
    auto exec = parent_exec(true, [=](long pfd, const char* last) noexcept {
      return sys::call(SYS_linkat, olddirfd, sys::arg(""), pfd, sys::arg(last), at_flags);
    });
    return run(newdirfd, newpath, sn, exec);
  }
  Spec so, sn;
  so.ops = Ops{FileOp::kLink};
  so.follow = (at_flags & AT_SYMLINK_FOLLOW) != 0;
  sn.ops = Ops{FileOp::kLink};
  sn.follow = false;
  return run_two(olddirfd, oldpath, so, newdirfd, newpath, sn,
                 [=](long ofd, const char* olast, long nfd, const char* nlast) noexcept {
                   return sys::call(SYS_linkat, ofd, sys::arg(olast), nfd, sys::arg(nlast),
                                    at_flags & ~AT_SYMLINK_FOLLOW);
                 });
}

long rename(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
            unsigned flags) noexcept {
  Spec so, sn;
  so.ops = Ops{FileOp::kRename};
  so.follow = false;
  sn.ops = Ops{FileOp::kRename};
  sn.follow = false;
  return run_two(olddirfd, oldpath, so, newdirfd, newpath, sn,
                 [=](long ofd, const char* olast, long nfd, const char* nlast) noexcept {
                   return sys::call(SYS_renameat2, ofd, sys::arg(olast), nfd, sys::arg(nlast),
                                    flags);
                 });
}

}  // namespace agentsh::hook::file_guard
