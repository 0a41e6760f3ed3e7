// Small readers of /proc and pidfd helpers the supervisor uses to see a caller the way
// the kernel sees it (its creds, umask, namespaces, fds).
// Thread-safety: stateless; every function returns -errno / empty on failure.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/scoped_fd.h"

namespace agentsh::tracer::proc_fs {

// readlink(2) into a string. Empty on failure.
std::string read_link(const std::string& path);
// The path an fd of ours refers to (readlink /proc/self/fd/N).
std::string fd_path(int fd);
// Reads a whole (small) file. False on failure or when larger than `max`.
bool read_file(const std::string& path, std::string* out, size_t max = 1 << 20);

// The credential part of /proc/<tid>/status.
struct Creds {
  uid_t uid[4] = {};  // real, effective, saved, fs
  gid_t gid[4] = {};
  std::vector<gid_t> groups;
  uint64_t cap_eff = 0, cap_prm = 0;
  uint32_t umask = 022;
  pid_t tgid = 0;
  pid_t ppid = 0;
};
bool read_creds(pid_t tid, Creds* out);

// Inode of /proc/<pid>/ns/<name> (0 on failure); pid 0 = ourselves.
ino_t ns_inode(pid_t pid, const char* name);

// pidfd_open; PIDFD_THREAD first (a pidfd for exactly this thread), the thread group
// otherwise. Invalid ScopedFd on failure (errno set).
ScopedFd pidfd_open(pid_t tid);
// Duplicates `target_fd` of the process behind `pidfd` into ours (O_CLOEXEC).
ScopedFd pidfd_getfd(int pidfd, int target_fd);
// Duplicates `target_fd` of thread `tid`. Invalid on failure (errno set).
ScopedFd getfd(pid_t tid, int target_fd);
// The pid a pidfd refers to (its fdinfo "Pid:" line): >0, 0 if unknown, -1 if it exited.
pid_t pidfd_target(int pidfd);

}  // namespace agentsh::tracer::proc_fs
