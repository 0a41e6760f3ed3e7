#include "tracer/proc_fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tracer/arch_x86_64.h"

namespace agentsh::tracer::proc_fs {

std::string read_link(const std::string& path) {
  char buf[4096];
  ssize_t n = readlink(path.c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return {};
  return std::string(buf, static_cast<size_t>(n));
}

std::string fd_path(int fd) {
  return read_link("/proc/self/fd/" + std::to_string(fd));
}

bool read_file(const std::string& path, std::string* out, size_t max) {
  out->clear();
  ScopedFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > max) return false;
  }
}

namespace {

// Parses up to `n` unsigned numbers after "Name:" in a status text.
int parse_numbers(const std::string& text, const char* name, uint64_t* out, int n, int base) {
  std::string key = std::string("\n") + name + ":";
  size_t p = text.find(key);
  if (p == std::string::npos) return 0;
  const char* s = text.c_str() + p + key.size();
  int got = 0;
  while (got < n) {
    while (*s == ' ' || *s == '\t') ++s;
    if (*s == '\n' || *s == '\0') break;
    char* end = nullptr;
    unsigned long long v = strtoull(s, &end, base);
    if (end == s) break;
    out[got++] = v;
    s = end;
  }
  return got;
}

}  // namespace

bool read_creds(pid_t tid, Creds* out) {
  std::string text;
  if (!read_file("/proc/" + std::to_string(tid) + "/status", &text)) return false;
  text.insert(0, "\n");
  uint64_t v[64];
  if (parse_numbers(text, "Uid", v, 4, 10) != 4) return false;
  for (int i = 0; i < 4; ++i) out->uid[i] = static_cast<uid_t>(v[i]);
  if (parse_numbers(text, "Gid", v, 4, 10) != 4) return false;
  for (int i = 0; i < 4; ++i) out->gid[i] = static_cast<gid_t>(v[i]);
  int ng = parse_numbers(text, "Groups", v, 64, 10);
  out->groups.assign(v, v + ng);
  if (parse_numbers(text, "CapEff", v, 1, 16) == 1) out->cap_eff = v[0];
  if (parse_numbers(text, "CapPrm", v, 1, 16) == 1) out->cap_prm = v[0];
  if (parse_numbers(text, "Umask", v, 1, 8) == 1) out->umask = static_cast<uint32_t>(v[0]);
  if (parse_numbers(text, "Tgid", v, 1, 10) == 1) out->tgid = static_cast<pid_t>(v[0]);
  if (parse_numbers(text, "PPid", v, 1, 10) == 1) out->ppid = static_cast<pid_t>(v[0]);
  return true;
}

ino_t ns_inode(pid_t pid, const char* name) {
  std::string p = pid == 0 ? std::string("/proc/self/ns/") + name
                           : "/proc/" + std::to_string(pid) + "/ns/" + name;
  struct stat st {};
  if (stat(p.c_str(), &st) != 0) return 0;
  return st.st_ino;
}

ScopedFd pidfd_open(pid_t tid) {
  long fd = syscall(SYS_pidfd_open, tid, arch::kPidfdThread);
  if (fd < 0 && errno == EINVAL) fd = syscall(SYS_pidfd_open, tid, 0);
  return ScopedFd(static_cast<int>(fd));
}

ScopedFd pidfd_getfd(int pidfd, int target_fd) {
  return ScopedFd(static_cast<int>(syscall(SYS_pidfd_getfd, pidfd, target_fd, 0)));
}

ScopedFd getfd(pid_t tid, int target_fd) {
  ScopedFd pidfd = pidfd_open(tid);
  if (!pidfd) return ScopedFd();
  return pidfd_getfd(pidfd.get(), target_fd);
}

pid_t pidfd_target(int pidfd) {
  std::string text;
  if (!read_file("/proc/self/fdinfo/" + std::to_string(pidfd), &text, 4096)) return 0;
  size_t p = text.find("\nPid:");
  if (p == std::string::npos) return 0;
  return static_cast<pid_t>(strtol(text.c_str() + p + 5, nullptr, 10));
}

}  // namespace agentsh::tracer::proc_fs
