#include "tracer/path_walker.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "common/path_util.h"

namespace agentsh::tracer {

namespace {

constexpr int kMaxLinks = 40;  // MAXSYMLINKS

void split_into(const std::string& path, std::deque<std::string>* out, bool front) {
  std::deque<std::string> parts;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (j > i) parts.push_back(path.substr(i, j - i));
    i = j + 1;
  }
  if (front)
    out->insert(out->begin(), parts.begin(), parts.end());
  else
    out->insert(out->end(), parts.begin(), parts.end());
}

std::string join(const std::string& base, const std::string& comp) {
  std::string out(4200, '\0');
  size_t n = path_util::join_normalize(base.data(), base.size(), comp.data(), comp.size(),
                                       out.data(), out.size());
  out.resize(n);
  return out;
}

// The pid of "/proc/<pid>" or "/proc/<pid>/...", else 0.
pid_t proc_pid(const std::string& p) {
  if (p.compare(0, 6, "/proc/") != 0) return 0;
  pid_t pid = 0;
  size_t i = 6;
  for (; i < p.size() && p[i] >= '0' && p[i] <= '9'; ++i) pid = pid * 10 + (p[i] - '0');
  if (i == 6 || (i < p.size() && p[i] != '/')) return 0;
  return pid;
}

bool on_procfs(int fd) {
  struct statfs sf {};
  return fstatfs(fd, &sf) == 0 && sf.f_type == PROC_SUPER_MAGIC;
}

}  // namespace

std::string PathWalker::rewrite_self(const std::string& path) const {
  auto starts = [&](const char* prefix, size_t n) {
    return path.compare(0, n, prefix) == 0 && (path.size() == n || path[n] == '/');
  };
  if (starts("/proc/self", 10)) return "/proc/" + std::to_string(tgid_) + path.substr(10);
  if (starts("/proc/thread-self", 17))
    return "/proc/" + std::to_string(tgid_) + "/task/" + std::to_string(tid_) + path.substr(17);
  return path;
}

bool PathWalker::in_supervisor_proc(const std::string& real) const {
  return proc_pid(real) == ctx_.self_pid;
}

int PathWalker::open(int dirfd, const std::string& path, bool follow_final, bool want_dir,
                     bool no_magic) {
  ScopedFd cur;
  std::string cur_real;
  std::deque<std::string> todo;
  auto to_root = [&]() -> int {
    cur.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    cur_real = "/";
    return cur ? 0 : -errno;
  };
  if (!path.empty() && path[0] == '/') {
    if (int r = to_root(); r < 0) return r;
  } else {
    cur.reset(fcntl(dirfd, F_DUPFD_CLOEXEC, 0));
    if (!cur) return -errno;
    cur_real = ctx_.fd_path(cur.get());
  }
  split_into(path, &todo, false);
  const bool trailing_slash = !path.empty() && path.back() == '/';
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    const bool last = todo.empty();
    if (comp == ".") continue;
    if (comp == "..") {
      int fd = openat(cur.get(), "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return -errno;
      cur.reset(fd);
      cur_real = ctx_.fd_path(fd);
      continue;
    }
    if (cur_real == "/proc" && (comp == "self" || comp == "thread-self")) {
      // The caller's own entry, whatever the supervisor's is.
      if (comp == "thread-self") {
        todo.push_front(std::to_string(tid_));
        todo.push_front("task");
      }
      comp = std::to_string(tgid_);
    }
    int fd = openat(cur.get(), comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -errno;
    ScopedFd next(fd);
    struct stat st {};
    if (fstat(fd, &st) != 0) return -errno;
    if (S_ISLNK(st.st_mode) && (!last || follow_final || trailing_slash)) {
      if (++links > kMaxLinks) return -ELOOP;
      pid_t owner = proc_pid(cur_real);
      if (owner != 0 && on_procfs(cur.get())) {
        // A magic link (fd/N, cwd, root, exe, ns/...): only the kernel can follow it, and
        // only into a process of the tree.
        if (no_magic) return -ELOOP;
        if (owner == ctx_.self_pid) return -EACCES;
        int jumped = openat(cur.get(), comp.c_str(), O_PATH | O_CLOEXEC);
        if (jumped < 0) return -errno;
        cur.reset(jumped);
        cur_real = ctx_.fd_path(jumped);
        continue;
      }
      char buf[4096];
      ssize_t n = readlinkat(fd, "", buf, sizeof buf - 1);
      if (n < 0) return -errno;
      std::string target(buf, static_cast<size_t>(n));
      split_into(target, &todo, true);
      if (!target.empty() && target[0] == '/') {
        if (int r = to_root(); r < 0) return r;
      }
      continue;
    }
    cur = std::move(next);
    cur_real = join(cur_real, comp);
  }
  if (want_dir || trailing_slash) {
    struct stat st {};
    if (fstat(cur.get(), &st) != 0) return -errno;
    if (!S_ISDIR(st.st_mode)) return -ENOTDIR;
  }
  return cur.release();
}

}  // namespace agentsh::tracer
