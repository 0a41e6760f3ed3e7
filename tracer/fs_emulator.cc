#include "tracer/fs_emulator.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dirent.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <string_view>

#include "common/path_util.h"
#include "tracer/arch_x86_64.h"
#include "tracer/creds_scope.h"
#include "tracer/path_walker.h"
#include "tracer/remote_memory.h"

namespace agentsh::tracer {

using policy::FileOp;

namespace {

constexpr size_t kPathMax = 4095;  // PATH_MAX without the NUL
// O_LARGEFILE as the kernel sees it (userspace headers define it as 0 on x86_64).
constexpr int kKernelLargefile = 0100000;
constexpr uint64_t kValidOpenFlags = O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND |
                                     O_NONBLOCK | O_DSYNC | O_SYNC | FASYNC | O_DIRECT |
                                     kKernelLargefile | O_DIRECTORY | O_NOFOLLOW | O_NOATIME |
                                     O_CLOEXEC | O_PATH | O_TMPFILE;
constexpr int kTmpfileBit = O_TMPFILE & ~O_DIRECTORY;

int sys_openat2(int dirfd, const char* path, uint64_t flags, uint64_t mode, uint64_t resolve) {
  open_how how{};
  how.flags = flags;
  how.mode = mode;
  how.resolve = resolve;
  long r = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
  return r < 0 ? -errno : static_cast<int>(r);
}

int64_t ret_of(long r) {
  return r < 0 ? -errno : r;
}

std::string join(const std::string& base, const std::string& rel) {
  std::string out(kPathMax + 2, '\0');
  size_t n = path_util::join_normalize(base.data(), base.size(), rel.data(), rel.size(), out.data(),
                                       out.size());
  if (n == 0) return {};
  out.resize(n);
  return out;
}

int as_fd(uint64_t v) {
  return static_cast<int>(static_cast<uint32_t>(v));
}

// "/proc/<digits>" prefix of a path: the pid, or 0.
pid_t proc_pid_of(const std::string& p, std::string* rest) {
  if (p.compare(0, 6, "/proc/") != 0) return 0;
  size_t i = 6;
  pid_t pid = 0;
  while (i < p.size() && p[i] >= '0' && p[i] <= '9') {
    pid = pid * 10 + (p[i] - '0');
    if (pid > 1 << 22) return 0;
    ++i;
  }
  if (i == 6 || (i < p.size() && p[i] != '/')) return 0;
  *rest = p.substr(i);
  return pid;
}

// The trash on another filesystem than the file (rename says EXDEV: a separate /home, a
// container volume): copy into the trash, then remove the original — what the hook does
// (preload/file_guard.cc). The original goes only once the copy is complete; on any
// failure the partial copy goes and the original stays. Regular files, symlinks and
// empty directories; anything else (devices, fifos, sockets) keeps EXDEV (refused).
// Runs under the caller's credentials (CredsScope), so the copy is the caller's.
int64_t move_across_filesystems(int pfd, const char* last, int tfd, const char* name,
                                const struct stat& st) {
  const mode_t perm = st.st_mode & 07777;
  if (S_ISDIR(st.st_mode)) {
    int64_t r = ret_of(mkdirat(tfd, name, perm));
    if (r < 0) return r;
    r = ret_of(unlinkat(pfd, last, AT_REMOVEDIR));
    if (r < 0) unlinkat(tfd, name, AT_REMOVEDIR);
    return r;
  }
  if (S_ISLNK(st.st_mode)) {
    char target[kPathMax + 1];
    ssize_t n = readlinkat(pfd, last, target, kPathMax);
    if (n < 0) return -errno;
    target[n] = '\0';
    int64_t r = ret_of(symlinkat(target, tfd, name));
    if (r < 0) return r;
    r = ret_of(unlinkat(pfd, last, 0));
    if (r < 0) unlinkat(tfd, name, 0);
    return r;
  }
  if (!S_ISREG(st.st_mode)) return -EXDEV;
  ScopedFd in(openat(pfd, last, O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in) return -errno;
  int64_t r = 0;
  {
    ScopedFd out(openat(tfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, perm));
    if (!out) return -errno;
    for (;;) {
      ssize_t n = sendfile(out.get(), in.get(), nullptr, 1L << 30);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        r = n < 0 ? -errno : 0;
        break;
      }
    }
    if (r == 0) r = ret_of(fchmod(out.get(), perm));
  }
  if (r == 0) r = ret_of(unlinkat(pfd, last, 0));
  if (r < 0) unlinkat(tfd, name, 0);
  return r;
}

}  // namespace

struct FsEmulator::Base {
  ScopedFd fd;
  std::string lexical;
  int dirfd() const { return fd.valid() ? fd.get() : AT_FDCWD; }
};

struct FsEmulator::Target {
  Base base;
  std::string lexical;  // absolute, normalised, the caller's spelling
  ScopedFd parent;      // O_PATH directory the final component lives in (need_parent)
  std::string name;     // final component (a trailing "/" kept)
  std::string real_parent;
  ScopedFd object;  // O_PATH of the object, when it exists
  int lookup_err = 0;
  struct stat st {};
  std::string real;  // where it really is
};

int FsEmulator::lookup_fd(const Caller& c, int dirfd, const std::string& path, int oflags,
                          uint64_t resolve, std::string* real) {
  PathWalker walker(ctx_, c.tgid, c.tid);
  const std::string p = walker.rewrite_self(path);
  // The kernel first, never following a magic link: those (and /proc/self) would be the
  // supervisor's own.
  int fd = sys_openat2(dirfd, p.c_str(), O_PATH | O_CLOEXEC | oflags, 0,
                       resolve | RESOLVE_NO_MAGICLINKS);
  bool landed_in_supervisor = false;
  if (fd >= 0) {
    *real = ctx_.fd_path(fd);
    if (!walker.in_supervisor_proc(*real)) return fd;
    close(fd);
    landed_in_supervisor = true;
  }
  // With the caller's own resolve restrictions the kernel's answer stands (no second
  // opinion that could bypass them), and nothing of the supervisor's is handed out.
  if (resolve != 0) return landed_in_supervisor ? -EACCES : fd;
  if (!landed_in_supervisor && fd != -ELOOP) return fd;
  fd = walker.open(dirfd, p, !(oflags & O_NOFOLLOW), oflags & O_DIRECTORY, false);
  if (fd >= 0) *real = ctx_.fd_path(fd);
  return fd;
}

int FsEmulator::read_path(const Caller& c, int arg, std::string* out) {
  if (arg < 0) return -EFAULT;
  int r = remote_memory::read_string(c.tid, c.arg(arg), kPathMax, out);
  if (r == -EPERM || r == -ESRCH) return -EACCES;  // unreadable caller: fail closed
  // The tid may have been recycled since the notification arrived: only a still-pending
  // notification proves we read the caller's memory.
  if (r == 0 && !ctx_.listener.id_valid(c.id)) return -ESRCH;
  return r;
}

int FsEmulator::make_base(const Caller& c, int dirfd, const std::string& path, Base* b,
                          bool anchored) {
  // `anchored`: RESOLVE_BENEATH / RESOLVE_IN_ROOT make even an absolute path relative to
  // the dirfd.
  if (!anchored && !path.empty() && path[0] == '/') {
    b->lexical = "/";  // one view for the whole tree: the caller's root is ours
    return 0;
  }
  if (dirfd == AT_FDCWD) {
    std::string p = "/proc/" + std::to_string(c.tid) + "/cwd";
    b->fd.reset(::open(p.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!b->fd) return -ENOENT;
    b->lexical = ctx_.fd_path(b->fd.get());
    return ctx_.listener.id_valid(c.id) ? 0 : -ESRCH;
  }
  if (dirfd < 0) return -EBADF;
  b->fd = proc_fs::getfd(c.tid, dirfd);
  if (!b->fd) return -EBADF;
  b->lexical = ctx_.fd_path(b->fd.get());
  return ctx_.listener.id_valid(c.id) ? 0 : -ESRCH;
}

int FsEmulator::resolve(const Caller& c, int dirfd, const std::string& path, bool follow,
                        bool empty_path, Target* t, uint64_t resolve_flags) {
  if (path.empty()) {
    if (!empty_path) return -ENOENT;
    // AT_EMPTY_PATH: the dirfd (or the cwd) is the object.
    int r = make_base(c, dirfd, ".", &t->base);
    if (r < 0) return r;
    t->object = std::move(t->base.fd);
    t->lexical = t->real = t->base.lexical;
    if (fstat(t->object.get(), &t->st) != 0) return -errno;
    return 0;
  }
  int r = make_base(c, dirfd, path, &t->base, resolve_flags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT));
  if (r < 0) return r;
  t->lexical = join(t->base.lexical, path);
  if (t->lexical.empty()) return -ENAMETOOLONG;

  // Split into the directory part and the final component.
  size_t end = path.size();
  while (end > 1 && path[end - 1] == '/') --end;
  bool trailing = end < path.size();
  std::string dir, last;
  if (end == 1 && path[0] == '/') {
    dir = "/";
    last = ".";
  } else {
    size_t slash = path.rfind('/', end - 1);
    if (slash == std::string::npos) {
      dir = ".";
      last = path.substr(0, end);
    } else {
      dir = path.substr(0, slash + 1);
      last = path.substr(slash + 1, end - slash - 1);
    }
  }
  t->name = trailing ? last + "/" : last;
  int pfd = lookup_fd(c, t->base.dirfd(), dir, O_DIRECTORY, resolve_flags, &t->real_parent);
  if (pfd < 0) return pfd;
  t->parent.reset(pfd);
  // The prefix was resolved under the caller's restrictions; the final component is
  // looked up from its parent, where "beneath"/"in root" would mean the parent.
  int ofd = lookup_fd(c, pfd, t->name, follow ? 0 : O_NOFOLLOW,
                      resolve_flags & ~static_cast<uint64_t>(RESOLVE_BENEATH | RESOLVE_IN_ROOT),
                      &t->real);
  if (ofd >= 0) {
    t->object.reset(ofd);
    fstat(ofd, &t->st);
  } else {
    t->lookup_err = -ofd;
    t->real = join(t->real_parent, last);
  }
  return 0;
}

int FsEmulator::lookup(const Caller& c, int dirfd, const std::string& path, bool nofollow,
                       bool empty_path, ScopedFd* object, std::string* lexical, std::string* real,
                       struct stat* st) {
  Target t;
  if (path.empty()) {
    int r = resolve(c, dirfd, path, true, empty_path, &t);
    if (r < 0) return r;
  } else {
    int r = make_base(c, dirfd, path, &t.base);
    if (r < 0) return r;
    t.lexical = join(t.base.lexical, path);
    if (t.lexical.empty()) return -ENAMETOOLONG;
    int ofd = lookup_strict(t.base.dirfd(), path, t.lexical, nofollow ? O_NOFOLLOW : 0, &t.real);
    if (ofd == kTakeGeneralPath)
      ofd = lookup_fd(c, t.base.dirfd(), path, nofollow ? O_NOFOLLOW : 0, 0, &t.real);
    *lexical = t.lexical;
    if (ofd < 0) return ofd;
    t.object.reset(ofd);
    if (fstat(ofd, &t.st) != 0) return -errno;
  }
  if (!ctx_.listener.id_valid(c.id)) return -ESRCH;
  *lexical = t.lexical;
  *real = t.real;
  *st = t.st;
  *object = std::move(t.object);
  return 0;
}

namespace {
// The top-level names merged-/usr systems make symlinks (bit i of linked_top_).
constexpr std::string_view kLinkedTop[] = {"bin", "sbin", "lib", "lib32", "lib64", "libx32"};

int linked_top_index(const std::string& lexical) {
  size_t slash = lexical.find('/', 1);
  std::string_view first = std::string_view(lexical).substr(
      1, (slash == std::string::npos ? lexical.size() : slash) - 1);
  for (size_t i = 0; i < std::size(kLinkedTop); ++i)
    if (first == kLinkedTop[i]) return static_cast<int>(i);
  return -1;
}
}  // namespace

bool FsEmulator::first_link_rewrite(const std::string& lexical, std::string* out) {
  size_t slash = lexical.find('/', 1);
  char buf[256];
  ssize_t n = readlink(lexical.substr(0, slash).c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return false;
  std::string target(buf, static_cast<size_t>(n));
  if (target == ".." || target.find("../") != std::string::npos ||
      (target.size() >= 3 && target.compare(target.size() - 3, 3, "/..") == 0))
    return false;
  *out = join("/", target + (slash == std::string::npos ? "" : lexical.substr(slash)));
  return !out->empty();
}

FsEmulator::Strict FsEmulator::open_strict_or_rewrite(int dirfd, const std::string& path,
                                                      const std::string& lexical, int oflags,
                                                      std::string* rewritten, int* fd) {
  constexpr uint64_t kStrict = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const bool rewritable = path[0] == '/' && path.find("..") == std::string::npos;
  const int top = rewritable ? linked_top_index(lexical) : -1;
  const uint32_t bit = top >= 0 ? 1u << top : 0;
  // A first component that was a symlink last time (/lib, /bin on merged /usr) is read
  // first instead of failing a strict open on it. Only that it *was* a link is
  // remembered, never where it points: the readlink is always fresh, and a component
  // that is no longer a link clears the hint and takes the ordinary way.
  if (bit != 0 && (linked_top_.load(std::memory_order_relaxed) & bit)) {
    if (first_link_rewrite(lexical, rewritten)) return Strict::kRewritten;
    linked_top_.fetch_and(~bit, std::memory_order_relaxed);
  }
  *fd = sys_openat2(dirfd, path.c_str(), static_cast<uint64_t>(oflags), 0, kStrict);
  if (*fd != -ELOOP || !rewritable) return Strict::kOpened;
  if (!first_link_rewrite(lexical, rewritten)) return Strict::kGeneral;
  if (bit != 0) linked_top_.fetch_or(bit, std::memory_order_relaxed);
  return Strict::kRewritten;
}

int FsEmulator::lookup_strict(int dirfd, const std::string& path, const std::string& lexical,
                              int oflags, std::string* real) {
  // The open fast path's argument (README.md, "TOCTOU"): an openat2 that crossed no
  // symlink and no magic link reached the object at the lexical path, so the lexical
  // path is the real one — no readlink of the result through /proc/self/fd. /proc and
  // /dev spellings, procfs wherever it is mounted, and a symlink past the first
  // component take the general way (lookup_fd, which knows the supervisor's own /proc).
  auto special = [](const std::string& p) {
    return p.empty() || p.compare(0, 5, "/proc") == 0 || p.compare(0, 4, "/dev") == 0;
  };
  if (special(lexical)) return kTakeGeneralPath;
  constexpr uint64_t kStrict = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const uint64_t flags = O_PATH | O_CLOEXEC | static_cast<uint64_t>(oflags);
  std::string opened = lexical;
  int fd = -ELOOP;
  // The final component itself a symlink (exec follows it): the general way.
  if (lexical.find('/', 1) == std::string::npos && path[0] == '/') return kTakeGeneralPath;
  switch (open_strict_or_rewrite(dirfd, path, lexical, static_cast<int>(flags), &opened, &fd)) {
    case Strict::kGeneral:
      return kTakeGeneralPath;
    case Strict::kRewritten:
      // Merged /usr (/bin -> usr/bin): the first component's link was read (fresh).
      if (special(opened)) return kTakeGeneralPath;
      fd = sys_openat2(AT_FDCWD, opened.c_str(), flags, 0, kStrict);
      break;
    case Strict::kOpened:
      break;
  }
  if (fd == -ELOOP || fd == -EXDEV) return kTakeGeneralPath;
  // Any other failure came from a component reached through real directories only:
  // the general lookup would meet the same one.
  if (fd < 0) return fd;
  struct statfs sf {};
  struct stat st {};
  if (fstat(fd, &st) != 0 ||
      (major(st.st_dev) == 0 && (fstatfs(fd, &sf) != 0 || sf.f_type == PROC_SUPER_MAGIC))) {
    close(fd);
    return kTakeGeneralPath;
  }
  *real = std::move(opened);
  return fd;
}

bool FsEmulator::permit_one(const Caller& c, const std::string& path, FileOp op, Verdict* allowed) {
  // The tracer's own rules come first: the supervisor's /proc entries (its environment,
  // its fds — the notification fd among them — its memory) are out of reach, and so is
  // writing another process's memory through /proc/<pid>/mem.
  std::string rest;
  pid_t pid = proc_pid_of(path, &rest);
  if (pid != 0 && pid != c.tgid && !ctx_.procs.contains_tid(pid)) {
    proc_fs::Creds pc;
    if (pid == ctx_.self_pid || (proc_fs::read_creds(pid, &pc) && pc.tgid == ctx_.self_pid)) {
      ctx_.audit_builtin(c.tgid, "file", policy::file_op_name(op), path,
                         "tracer-protect-supervisor",
                         "the supervisor's /proc entries are not reachable from the session");
      return false;
    }
  }
  if (pid != 0 && pid != c.tgid && op == FileOp::kWrite &&
      (rest == "/mem" || (rest.compare(0, 6, "/task/") == 0 && rest.size() > 4 &&
                          rest.compare(rest.size() - 4, 4, "/mem") == 0))) {
    ctx_.audit_builtin(c.tgid, "file", policy::file_op_name(op), path, "tracer-protect-memory",
                       "writing another process's memory is not allowed");
    return false;
  }
  Verdict v = ctx_.decider->file(path, op);
  if (!v.allow) {
    ctx_.audit(c.tgid, "file", policy::file_op_name(op), path, v, false);
    return false;
  }
  // A soft delete is audited once, by the move that carries it out.
  if (v.audit && v.soft_delete_dir.empty())
    ctx_.audit(c.tgid, "file", policy::file_op_name(op), path, v, true);
  if (allowed != nullptr) *allowed = std::move(v);
  return true;
}

bool FsEmulator::permit(const Caller& c, const std::string& lexical, const std::string& real,
                        FileOp op, Verdict* allowed) {
  if (!permit_one(c, lexical, op, allowed)) return false;
  if (real.empty() || real == lexical || real[0] != '/') return true;
  // The caller's own /proc/<pid> is what policies call /proc/self.
  std::string own = "/proc/" + std::to_string(c.tgid);
  if (real.compare(0, own.size(), own) == 0 &&
      (real.size() == own.size() || real[own.size()] == '/')) {
    std::string self = "/proc/self" + real.substr(own.size());
    return self == lexical || permit_one(c, self, op, allowed);
  }
  return permit_one(c, real, op, allowed);
}

Outcome FsEmulator::open_tty(const Caller& c, int flags) {
  // /dev/tty means "my controlling terminal": the caller's, not the supervisor's.
  std::string stat;
  if (!proc_fs::read_file("/proc/" + std::to_string(c.tid) + "/stat", &stat, 8192))
    return Outcome::error(EACCES);
  size_t p = stat.rfind(')');
  if (p == std::string::npos) return Outcome::error(EACCES);
  // Fields after "comm)": state ppid pgrp session tty_nr ...
  const char* s = stat.c_str() + p + 2;
  long fields[5] = {};
  for (int i = 0; i < 5; ++i) {
    while (*s == ' ') ++s;
    if (i == 0) {
      ++s;  // state is a letter
      continue;
    }
    char* end = nullptr;
    fields[i] = strtol(s, &end, 10);
    s = end;
  }
  auto tty = static_cast<dev_t>(fields[4]);
  if (tty == 0) return Outcome::error(ENXIO);
  unsigned maj = major(tty), min = minor(tty);
  std::string dev = (maj >= 136 && maj <= 143)
                        ? "/dev/pts/" + std::to_string((maj - 136) * 256 + min)
                        : "/dev/char/" + std::to_string(maj) + ":" + std::to_string(min);
  int fd = ::open(dev.c_str(), (flags & ~(O_CREAT | O_EXCL | O_CLOEXEC)) | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return Outcome::error(errno == ENOENT ? ENXIO : errno);
  return Outcome::install(ScopedFd(fd), flags & O_CLOEXEC);
}

Outcome FsEmulator::open_existing(const Caller& c, Target& t, int flags, bool, bool) {
  if (S_ISCHR(t.st.st_mode) && t.st.st_rdev == makedev(5, 0)) return open_tty(c, flags);
  ScopedFd fd = ctx_.reopen(t.object.get(),
                            (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)) | O_NOCTTY);
  if (!fd) return Outcome::error(errno);
  return Outcome::install(std::move(fd), flags & O_CLOEXEC);
}

bool FsEmulator::open_fast(const Caller& c, int dirfd, const std::string& path, int flags,
                           bool read, bool write, Outcome* out) {
  // What the hook does in-process (preload/README.md, "Fast path"), for the opens that
  // reach the tracer (ld.so's, libc's own, static programs'): when the lexical path is
  // plainly allowed (silent allow, no audit), open it with RESOLVE_NO_SYMLINKS |
  // RESOLVE_NO_MAGICLINKS. Success proves no symlink was on the way, so the object
  // reached is the object at the lexical path: the decision on the lexical path is the
  // decision on the real one, and the open itself is the only operation — no O_PATH
  // lookup, no readlink of the result, no reopen through /proc/self/fd.
  // Everything else goes the general way, undecided: a symlink on the path (ELOOP),
  // /proc and /dev (magic links, the supervisor's own entries, /dev/tty), any verdict
  // other than a silent allow (denials and audits are recorded there, once).
  Stats& stats = ctx_.stats;
  uint64_t t = stats.now();
  Base b;
  if (make_base(c, dirfd, path, &b) < 0) return false;
  const std::string lexical = join(b.lexical, path);
  stats.lap(Stats::kOpenBase, &t);
  auto special = [](const std::string& p) {
    return p.empty() || p.compare(0, 5, "/proc") == 0 || p.compare(0, 4, "/dev") == 0;
  };
  if (special(lexical)) return false;
  const FileOp read_op = (flags & O_DIRECTORY) ? FileOp::kList : FileOp::kRead;
  auto silent_allow = [&](const std::string& p, FileOp op) {
    return ctx_.decider->file_silently_allowed(p, op);
  };
  auto allowed = [&](const std::string& p) {
    return (!read || silent_allow(p, read_op)) && (!write || silent_allow(p, FileOp::kWrite));
  };
  if (!allowed(lexical)) return false;
  stats.lap(Stats::kOpenDecide, &t);
  const int oflags = (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC)) | O_NOCTTY | O_CLOEXEC;
  constexpr uint64_t kStrict = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  // Merged /usr: /lib, /lib64, /bin, /sbin are symlinks, so every library ld.so opens
  // meets one. A symlink in the first component is read and replaced (one readlink,
  // always fresh), the result decided too — as the general path decides the real path
  // — and opened strictly again. A second symlink, or a target with "..", goes the
  // general way, and so does a path with "..": the kernel applies it after the
  // symlink, the lexical path before.
  std::string opened = lexical;  // the path of the object the fd will be
  int fd = -ELOOP;
  switch (open_strict_or_rewrite(b.dirfd(), path, lexical, oflags, &opened, &fd)) {
    case Strict::kGeneral:
      return false;
    case Strict::kRewritten:
      if (special(opened) || !allowed(opened)) return false;
      fd = sys_openat2(AT_FDCWD, opened.c_str(), oflags, 0, kStrict);
      break;
    case Strict::kOpened:
      break;
  }
  stats.lap(Stats::kOpenOpen, &t);
  if (fd == -ELOOP || fd == -EXDEV) return false;  // a symlink or a magic link on the way
  if (fd < 0) {
    *out = Outcome::error(-fd);  // the kernel's answer for the decided object
    return true;
  }
  ScopedFd f(fd);
  struct stat st {};
  if (fstat(fd, &st) != 0) return false;
  // /dev/tty means the caller's terminal; procfs wherever it is mounted has magic links
  // and the supervisor's entries: the general path knows both.
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0)) return false;
  if (major(st.st_dev) == 0) {
    struct statfs sf {};
    if (fstatfs(fd, &sf) != 0 || sf.f_type == PROC_SUPER_MAGIC) return false;
  }
  // A directory opened without O_DIRECTORY is a list operation, as in the general path.
  if (S_ISDIR(st.st_mode) && read && !(flags & O_DIRECTORY) &&
      (!silent_allow(lexical, FileOp::kList) || !silent_allow(opened, FileOp::kList)))
    return false;
  stats.lap(Stats::kOpenCheck, &t);
  *out = Outcome::install(std::move(f), flags & O_CLOEXEC);
  return true;
}

Outcome FsEmulator::open(const Caller& c) {
  const SyscallInfo& s = *c.info;
  int di = syscall_table::arg_index(s, Arg::kDirfd);
  int pi = syscall_table::arg_index(s, Arg::kPath);
  int fi = syscall_table::arg_index(s, Arg::kFlags);
  int mi = syscall_table::arg_index(s, Arg::kMode);
  int hi = syscall_table::arg_index(s, Arg::kOpenHow);
  int dirfd = di >= 0 ? as_fd(c.arg(di)) : AT_FDCWD;
  uint64_t flags = 0, mode = 0, resolve_flags = 0;
  if (hi >= 0) {
    // openat2: the kernel's own rules for the struct (size, zero tail, valid bits).
    uint64_t size = c.arg(syscall_table::arg_index(s, Arg::kSize));
    if (size < sizeof(open_how)) return Outcome::error(EINVAL);
    if (size > 4096) return Outcome::error(E2BIG);
    std::string raw(size, '\0');
    int r = remote_memory::read(c.tid, c.arg(hi), raw.data(), size);
    if (r < 0) return Outcome::error(-r);
    for (size_t i = sizeof(open_how); i < size; ++i)
      if (raw[i] != 0) return Outcome::error(E2BIG);
    open_how how{};
    memcpy(&how, raw.data(), sizeof how);
    if (how.flags & ~kValidOpenFlags) return Outcome::error(EINVAL);
    flags = how.flags;
    mode = how.mode;
    resolve_flags = how.resolve;
  } else if (fi >= 0) {
    flags = c.arg(fi) & 0xffffffffu & kValidOpenFlags;
    mode = mi >= 0 ? c.arg(mi) & 07777 : 0;
  } else {  // creat
    flags = O_CREAT | O_WRONLY | O_TRUNC;
    mode = mi >= 0 ? c.arg(mi) & 07777 : 0;
  }
  int iflags = static_cast<int>(flags);
  bool is_path = iflags & O_PATH;
  bool tmpfile = (iflags & kTmpfileBit) != 0;
  bool create = !is_path && (iflags & O_CREAT);
  int acc = iflags & O_ACCMODE;
  bool read = !is_path && acc != O_WRONLY;
  bool write = !is_path && (acc != O_RDONLY || (iflags & O_TRUNC));
  if (!create && !tmpfile) mode = 0;

  uint64_t t = ctx_.stats.now();
  std::string path;
  int r = read_path(c, pi, &path);
  if (r < 0) return Outcome::error(-r);
  ctx_.stats.lap(Stats::kOpenReadPath, &t);

  CredsScope creds(c.tid, c.state.foreign_creds, ctx_.self_creds, ctx_.self_user_ns);
  if (creds.error()) return Outcome::error(creds.error());

  if (!create && !tmpfile && !is_path && resolve_flags == 0 && !path.empty()) {
    Outcome o;
    if (open_fast(c, dirfd, path, iflags, read, write, &o)) return o;
  }

  bool lexical_checked = false;
  std::string lexical;
  for (int attempt = 0, hops = 0; attempt < 4; ++attempt) {
    Target t;
    bool follow = !(iflags & O_NOFOLLOW) && !(create && (iflags & O_EXCL));
    // Fast path (no O_CREAT): one lookup of the whole path, no parent needed.
    if (!create) {
      r = make_base(c, dirfd, path, &t.base, resolve_flags & (RESOLVE_BENEATH | RESOLVE_IN_ROOT));
      if (r < 0) return Outcome::error(-r);
      t.lexical = join(t.base.lexical, path);
      if (path.empty()) return Outcome::error(ENOENT);
      if (t.lexical.empty()) return Outcome::error(ENAMETOOLONG);
      int ofd = lookup_fd(c, t.base.dirfd(), path, iflags & (O_NOFOLLOW | O_DIRECTORY),
                          resolve_flags, &t.real);
      if (ofd >= 0) {
        t.object.reset(ofd);
        fstat(ofd, &t.st);
      } else {
        t.lookup_err = -ofd;
      }
    } else {
      r = resolve(c, dirfd, path, follow, false, &t, resolve_flags);
      if (r < 0) {
        if (!lexical_checked && !t.lexical.empty()) {
          FileOp op = is_path ? FileOp::kOpen : (write ? FileOp::kWrite : FileOp::kRead);
          if (!permit(c, t.lexical, {}, op)) return Outcome::error(EACCES);
        }
        return Outcome::error(-r);
      }
      if (t.object && (iflags & O_DIRECTORY) && !S_ISDIR(t.st.st_mode))
        return Outcome::error(ENOTDIR);
    }
    if (!lexical_checked) {
      lexical = t.lexical;
      // Policy first: a denied path is EACCES whether or not it exists.
      if (is_path) {
        if (!permit(c, lexical, {}, FileOp::kOpen)) return Outcome::error(EACCES);
      } else {
        bool dir = (iflags & O_DIRECTORY) || (t.object && S_ISDIR(t.st.st_mode));
        if (read && !permit(c, lexical, {}, dir ? FileOp::kList : FileOp::kRead))
          return Outcome::error(EACCES);
        if (write && !permit(c, lexical, {}, FileOp::kWrite)) return Outcome::error(EACCES);
      }
      lexical_checked = true;
    }

    if (t.object) {
      if (create && (iflags & O_EXCL)) return Outcome::error(EEXIST);
      if (is_path) {
        if (!permit(c, lexical, t.real, FileOp::kOpen)) return Outcome::error(EACCES);
        // SECCOMP_IOCTL_NOTIF_ADDFD cannot carry an O_PATH file (fget() refuses them), so
        // the kernel opens it again. Safe although the path may be swapped meanwhile: an
        // O_PATH fd reads and writes nothing; every use of it that touches content (a
        // reopen through /proc/self/fd, openat relative to it, exec, linkat) is one more
        // governed call, decided on where it really leads.
        return Outcome::proceed();
      }
      if (S_ISLNK(t.st.st_mode)) return Outcome::error(ELOOP);
      if (tmpfile) {
        if (!S_ISDIR(t.st.st_mode)) return Outcome::error(ENOTDIR);
        if (!permit(c, lexical, t.real, FileOp::kCreate)) return Outcome::error(EACCES);
        set_thread_umask(c.state.umask);
        int fd = sys_openat2(t.object.get(), ".", flags | O_NOCTTY | O_CLOEXEC, mode, 0);
        if (fd < 0) return Outcome::error(-fd);
        return Outcome::install(ScopedFd(fd), iflags & O_CLOEXEC);
      }
      bool dir = S_ISDIR(t.st.st_mode);
      if (read && !permit(c, lexical, t.real, dir ? FileOp::kList : FileOp::kRead))
        return Outcome::error(EACCES);
      if (write && !permit(c, lexical, t.real, FileOp::kWrite)) return Outcome::error(EACCES);
      return open_existing(c, t, iflags, read, write);
    }

    if (!create || t.lookup_err != ENOENT) return Outcome::error(t.lookup_err);
    if (!t.parent) {
      // Came through the fast path with O_CREAT impossible; defensive.
      return Outcome::error(ENOENT);
    }
    // The final component does not resolve. A dangling symlink is followed to create
    // its target, like the kernel does (bounded); anything else is created here.
    struct stat lst {};
    if (fstatat(t.parent.get(), t.name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISLNK(lst.st_mode)) continue;  // appeared meanwhile: look again
      if (iflags & O_EXCL) return Outcome::error(EEXIST);
      if (iflags & O_NOFOLLOW) return Outcome::error(ELOOP);
      // Following it ourselves would leave the caller's resolve restrictions behind.
      if (resolve_flags != 0) return Outcome::error(EXDEV);
      if (++hops > 8) return Outcome::error(ELOOP);
      char buf[kPathMax + 1];
      ssize_t n = readlinkat(t.parent.get(), t.name.c_str(), buf, sizeof buf - 1);
      if (n <= 0) return Outcome::error(ENOENT);
      std::string target(buf, static_cast<size_t>(n));
      path = target[0] == '/' ? target : join(t.real_parent, target);
      if (path.empty()) return Outcome::error(ENAMETOOLONG);
      dirfd = AT_FDCWD;
      --attempt;
      continue;
    }
    std::string real = join(t.real_parent, t.name);
    if (!permit(c, lexical, real, FileOp::kCreate)) return Outcome::error(EACCES);
    if (write && !permit(c, lexical, real, FileOp::kWrite)) return Outcome::error(EACCES);
    set_thread_umask(c.state.umask);
    int fd = sys_openat2(t.parent.get(), t.name.c_str(),
                         (flags & ~static_cast<uint64_t>(O_CLOEXEC)) | O_CREAT | O_EXCL |
                             O_NOFOLLOW | O_NOCTTY | O_CLOEXEC,
                         mode, 0);
    if (fd == -EEXIST && !(iflags & O_EXCL)) continue;  // lost a race: open what is there
    if (fd < 0) return Outcome::error(-fd);
    return Outcome::install(ScopedFd(fd), iflags & O_CLOEXEC);
  }
  return Outcome::error(EAGAIN);
}

Outcome FsEmulator::path_op(const Caller& c) {
  const SyscallInfo& s = *c.info;
  int di = syscall_table::arg_index(s, Arg::kDirfd);
  int pi = syscall_table::arg_index(s, Arg::kPath);
  int fi = syscall_table::arg_index(s, Arg::kFlags);
  int dirfd = di >= 0 ? as_fd(c.arg(di)) : AT_FDCWD;
  int flags = fi >= 0 ? static_cast<int>(c.arg(fi)) : 0;
  FileOp op = s.op;
  bool follow = s.follow;
  bool empty_ok = false;
  if (s.nr == SYS_unlinkat) {
    if (flags & ~AT_REMOVEDIR) return Outcome::error(EINVAL);
    if (flags & AT_REMOVEDIR) op = FileOp::kRmdir;
  }
  if (s.nr == SYS_fchownat || s.nr == arch::kNrFchmodat2) {
    if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) return Outcome::error(EINVAL);
    if (flags & AT_SYMLINK_NOFOLLOW) follow = false;
    empty_ok = flags & AT_EMPTY_PATH;
  }
  std::string path;
  int r = read_path(c, pi, &path);
  if (r < 0) return Outcome::error(-r);
  CredsScope creds(c.tid, c.state.foreign_creds, ctx_.self_creds, ctx_.self_user_ns);
  if (creds.error()) return Outcome::error(creds.error());

  Target t;
  r = resolve(c, dirfd, path, follow, empty_ok, &t);
  if (r < 0) {
    if (!t.lexical.empty() && !permit(c, t.lexical, {}, op)) return Outcome::error(EACCES);
    return Outcome::error(-r);
  }
  Verdict allowed;
  if (!permit(c, t.lexical, t.real, op, &allowed)) return Outcome::error(EACCES);
  if ((op == FileOp::kDelete || op == FileOp::kRmdir) && !allowed.soft_delete_dir.empty())
    return soft_delete(c, t, op, allowed);

  auto mode_arg = [&] {
    int mi = syscall_table::arg_index(s, Arg::kMode);
    return static_cast<mode_t>(mi >= 0 ? c.arg(mi) : 0);
  };
  const bool exists = t.object.valid();
  const char* name = t.name.c_str();
  switch (op) {
    case FileOp::kDelete:
      return Outcome::from_ret(ret_of(unlinkat(t.parent.get(), name, 0)));
    case FileOp::kRmdir:
      return Outcome::from_ret(ret_of(unlinkat(t.parent.get(), name, AT_REMOVEDIR)));
    case FileOp::kMkdir:
      set_thread_umask(c.state.umask);
      return Outcome::from_ret(ret_of(mkdirat(t.parent.get(), name, mode_arg() & 07777)));
    case FileOp::kMknod: {
      int dv = syscall_table::arg_index(s, Arg::kDev);
      set_thread_umask(c.state.umask);
      return Outcome::from_ret(ret_of(
          mknodat(t.parent.get(), name, mode_arg(), static_cast<dev_t>(c.arg(dv) & 0xffffffffu))));
    }
    case FileOp::kChmod: {
      if (!exists) return Outcome::error(t.lookup_err);
      mode_t m = mode_arg() & 07777;
      if (follow || !t.parent)
        return Outcome::from_ret(ret_of(
            fchmodat(ctx_.proc_self_fd.get(), std::to_string(t.object.get()).c_str(), m, 0)));
      return Outcome::from_ret(
          ret_of(syscall(arch::kNrFchmodat2, t.parent.get(), name, m, AT_SYMLINK_NOFOLLOW)));
    }
    case FileOp::kChown: {
      if (!exists) return Outcome::error(t.lookup_err);
      auto uid = static_cast<uid_t>(c.arg(syscall_table::arg_index(s, Arg::kUid)));
      auto gid = static_cast<gid_t>(c.arg(syscall_table::arg_index(s, Arg::kGid)));
      if (follow || !t.parent)
        return Outcome::from_ret(ret_of(fchownat(t.object.get(), "", uid, gid, AT_EMPTY_PATH)));
      return Outcome::from_ret(
          ret_of(fchownat(t.parent.get(), name, uid, gid, AT_SYMLINK_NOFOLLOW)));
    }
    case FileOp::kWrite: {  // truncate
      if (!exists) return Outcome::error(t.lookup_err);
      if (S_ISDIR(t.st.st_mode)) return Outcome::error(EISDIR);
      if (!S_ISREG(t.st.st_mode)) return Outcome::error(EINVAL);
      auto len = static_cast<off_t>(c.arg(syscall_table::arg_index(s, Arg::kLen)));
      if (len < 0) return Outcome::error(EINVAL);
      ScopedFd fd = ctx_.reopen(t.object.get(), O_WRONLY | O_NOCTTY);
      if (!fd) return Outcome::error(errno);
      return Outcome::from_ret(ret_of(ftruncate(fd.get(), len)));
    }
    default:
      return Outcome::error(ENOSYS);
  }
}

Outcome FsEmulator::soft_delete(const Caller& c, Target& t, FileOp op, const Verdict& v) {
  // Like the hook: the target goes to the trash as <pid>-<n>-<basename>; when it cannot
  // be moved it stays, and the program is told no (never a real delete instead).
  static std::atomic<unsigned long> counter{0};
  const bool rmdir = op == FileOp::kRmdir;
  struct stat st {};
  if (fstatat(t.parent.get(), t.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return Outcome::error(errno);
  if (!rmdir && S_ISDIR(st.st_mode)) return Outcome::error(EISDIR);
  if (rmdir) {
    if (!S_ISDIR(st.st_mode)) return Outcome::error(ENOTDIR);
    ScopedFd d(
        openat(t.parent.get(), t.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!d) return Outcome::error(errno);
    char buf[4096];
    for (;;) {
      long n = syscall(SYS_getdents64, d.get(), buf, sizeof buf);
      if (n < 0) return Outcome::error(errno);
      if (n == 0) break;
      for (long off = 0; off < n;) {
        auto* e = reinterpret_cast<struct dirent64*>(buf + off);
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
          return Outcome::error(ENOTEMPTY);
        off += e->d_reclen;
      }
    }
  }
  std::string base = t.name;
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (base.size() > 200) base.resize(200);
  ScopedFd trash(::open(v.soft_delete_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  long r = trash ? -EEXIST : -errno;
  std::string name;
  for (int tries = 0; trash && r == -EEXIST && tries < 16; ++tries) {
    name = std::to_string(c.tgid) + "-" + std::to_string(++counter) + "-" + base;
    r = ret_of(syscall(SYS_renameat2, t.parent.get(), t.name.c_str(), trash.get(), name.c_str(),
                       RENAME_NOREPLACE));
    if (r == -EXDEV)
      r = move_across_filesystems(t.parent.get(), t.name.c_str(), trash.get(), name.c_str(), st);
  }
  Verdict record = v;
  if (r < 0) {
    record.message = "soft delete failed: cannot move into trash " + v.soft_delete_dir +
                     " (errno " + std::to_string(-r) + ")";
    ctx_.audit(c.tgid, "file", policy::file_op_name(op), t.real, record, false);
    return Outcome::error(EACCES);
  }
  record.message = "moved to " + v.soft_delete_dir + "/" + name;
  ctx_.audit(c.tgid, "file", policy::file_op_name(op), t.real, record, true);
  return Outcome::result(0);
}

Outcome FsEmulator::two_path_op(const Caller& c) {
  const SyscallInfo& s = *c.info;
  int d0 = syscall_table::arg_index(s, Arg::kDirfd, 0);
  int d1 = syscall_table::arg_index(s, Arg::kDirfd, 1);
  int p0 = syscall_table::arg_index(s, Arg::kPath, 0);
  int p1 = syscall_table::arg_index(s, Arg::kPath, 1);
  int fi = syscall_table::arg_index(s, Arg::kFlags);
  int flags = fi >= 0 ? static_cast<int>(c.arg(fi)) : 0;
  const bool is_link = s.op == FileOp::kLink;
  bool follow_old = false, empty_old = false;
  if (is_link) {
    if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) return Outcome::error(EINVAL);
    follow_old = flags & AT_SYMLINK_FOLLOW;
    empty_old = flags & AT_EMPTY_PATH;
  }
  std::string from, to;
  int r = read_path(c, p0, &from);
  if (r < 0) return Outcome::error(-r);
  r = read_path(c, p1, &to);
  if (r < 0) return Outcome::error(-r);
  CredsScope creds(c.tid, c.state.foreign_creds, ctx_.self_creds, ctx_.self_user_ns);
  if (creds.error()) return Outcome::error(creds.error());

  Target a, b;
  r = resolve(c, d0 >= 0 ? as_fd(c.arg(d0)) : AT_FDCWD, from, follow_old, empty_old, &a);
  if (r < 0) {
    if (!a.lexical.empty() && !permit(c, a.lexical, {}, s.op)) return Outcome::error(EACCES);
    return Outcome::error(-r);
  }
  int r2 = resolve(c, d1 >= 0 ? as_fd(c.arg(d1)) : AT_FDCWD, to, false, false, &b);
  // Both sides are decided before anything happens; a hard link also needs the source
  // to be readable by policy (a link is another name for the same content).
  if (!permit(c, a.lexical, a.real, s.op)) return Outcome::error(EACCES);
  if (is_link && !permit(c, a.lexical, a.real, FileOp::kRead)) return Outcome::error(EACCES);
  if (!b.lexical.empty() && !permit(c, b.lexical, r2 < 0 ? std::string() : b.real, s.op))
    return Outcome::error(EACCES);
  if (r2 < 0) return Outcome::error(-r2);
  if (!a.object && !a.parent) return Outcome::error(ENOENT);

  if (is_link) {
    if (follow_old || empty_old || !a.parent) {
      if (!a.object) return Outcome::error(a.lookup_err);
      return Outcome::from_ret(
          ret_of(linkat(ctx_.proc_self_fd.get(), std::to_string(a.object.get()).c_str(),
                        b.parent.get(), b.name.c_str(), AT_SYMLINK_FOLLOW)));
    }
    return Outcome::from_ret(
        ret_of(linkat(a.parent.get(), a.name.c_str(), b.parent.get(), b.name.c_str(), 0)));
  }
  return Outcome::from_ret(
      ret_of(syscall(SYS_renameat2, a.parent.get(), a.name.c_str(), b.parent.get(), b.name.c_str(),
                     s.nr == SYS_renameat2 ? flags : 0)));
}

Outcome FsEmulator::symlink(const Caller& c) {
  const SyscallInfo& s = *c.info;
  int ti = syscall_table::arg_index(s, Arg::kLinkTarget);
  int di = syscall_table::arg_index(s, Arg::kDirfd);
  int pi = syscall_table::arg_index(s, Arg::kPath);
  std::string target, path;
  int r = read_path(c, ti, &target);
  if (r < 0) return Outcome::error(-r);
  if (target.empty()) return Outcome::error(ENOENT);
  r = read_path(c, pi, &path);
  if (r < 0) return Outcome::error(-r);
  CredsScope creds(c.tid, c.state.foreign_creds, ctx_.self_creds, ctx_.self_user_ns);
  if (creds.error()) return Outcome::error(creds.error());
  Target t;
  r = resolve(c, di >= 0 ? as_fd(c.arg(di)) : AT_FDCWD, path, false, false, &t);
  if (r < 0) {
    if (!t.lexical.empty() && !permit(c, t.lexical, {}, FileOp::kSymlink))
      return Outcome::error(EACCES);
    return Outcome::error(-r);
  }
  // The link's own location is decided; its content is just a string until someone
  // opens through it, and then that open is decided on where it really leads.
  if (!permit(c, t.lexical, t.real, FileOp::kSymlink)) return Outcome::error(EACCES);
  return Outcome::from_ret(ret_of(symlinkat(target.c_str(), t.parent.get(), t.name.c_str())));
}

Outcome FsEmulator::fd_meta(const Caller& c) {
  const SyscallInfo& s = *c.info;
  int fd_arg = as_fd(c.arg(syscall_table::arg_index(s, Arg::kFd)));
  ScopedFd fd = proc_fs::getfd(c.tid, fd_arg);
  if (!fd) return Outcome::error(EBADF);
  CredsScope creds(c.tid, c.state.foreign_creds, ctx_.self_creds, ctx_.self_user_ns);
  if (creds.error()) return Outcome::error(creds.error());
  std::string real = ctx_.fd_path(fd.get());
  if (!real.empty() && real[0] == '/' && !permit(c, real, {}, s.op)) return Outcome::error(EACCES);
  if (s.op == FileOp::kChmod)
    return Outcome::from_ret(ret_of(fchmod(fd.get(), static_cast<mode_t>(c.arg(1)) & 07777)));
  return Outcome::from_ret(
      ret_of(fchown(fd.get(), static_cast<uid_t>(c.arg(1)), static_cast<gid_t>(c.arg(2)))));
}

}  // namespace agentsh::tracer
