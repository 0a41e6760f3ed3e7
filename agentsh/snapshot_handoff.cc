// See snapshot_handoff.h.
#include "agentsh/snapshot_handoff.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agentsh::snapshot_handoff {

bool create(std::string_view bytes, Handoff* out, std::string* err) {
  ScopedFd mfd(memfd_create("agentsh-policy-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (!mfd) {
    *err = std::string("memfd_create: ") + strerror(errno);
    return false;
  }
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t w = write(mfd.get(), bytes.data() + off, bytes.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      *err = std::string("writing the snapshot memfd: ") + strerror(w == 0 ? EIO : errno);
      return false;
    }
    off += static_cast<size_t>(w);
  }
  if (fcntl(mfd.get(), F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) !=
      0) {
    *err = std::string("sealing the snapshot memfd: ") + strerror(errno);
    return false;
  }
  // A high number; if RLIMIT_NOFILE is below it, the memfd's own number will do.
  int high = fcntl(mfd.get(), F_DUPFD_CLOEXEC, kMinFd);
  if (high >= 0) mfd.reset(high);
  struct stat st;
  if (fstat(mfd.get(), &st) != 0) {
    *err = std::string("fstat of the snapshot memfd: ") + strerror(errno);
    return false;
  }
  out->env_value = std::to_string(mfd.get()) + ":" +
                   std::to_string(static_cast<unsigned long long>(st.st_dev)) + ":" +
                   std::to_string(static_cast<unsigned long long>(st.st_ino));
  out->fd = std::move(mfd);
  return true;
}

void release_to_child(int fd) noexcept {
  if (fd >= 0) fcntl(fd, F_SETFD, 0);
}

}  // namespace agentsh::snapshot_handoff
