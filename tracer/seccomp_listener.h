// The supervisor's end of the seccomp user-notification fd: receive a notification,
// answer it (continue, error, value), inject an fd, check it is still pending.
//
// Thread-safety: every method is one ioctl; several workers may use one listener at once
// (each notification is received by exactly one of them).
#pragma once

#include <linux/seccomp.h>

#include <cstdint>

#include "common/scoped_fd.h"

namespace agentsh::tracer {

class SeccompListener {
 public:
  SeccompListener() = default;
  explicit SeccompListener(ScopedFd fd) : fd_(std::move(fd)) {}

  int fd() const { return fd_.get(); }
  bool valid() const { return fd_.valid(); }

  // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (6.6): the kernel wakes the caller on the
  // answering CPU, which roughly halves a round trip. False if unsupported.
  bool set_sync_wakeup();

  // Blocks for the next notification. 0, or -errno (-ENOENT: the caller went away
  // between poll and receive; -EINTR).
  int receive(seccomp_notif* n);
  // Still pending (the caller has not been killed or interrupted)? Pair with every read of
  // the caller's memory or /proc entries: pid numbers can be reused.
  bool id_valid(uint64_t id);

  // Answers. Each returns 0 or -errno (-ENOENT: the caller is gone; not an error).
  int respond_continue(uint64_t id);
  int respond_error(uint64_t id, int err);
  int respond_value(uint64_t id, int64_t value);
  // Installs `src_fd` in the caller and answers with the new fd number in one step
  // (SECCOMP_ADDFD_FLAG_SEND). Returns the caller's fd number or -errno.
  int respond_fd(uint64_t id, int src_fd, bool cloexec);

 private:
  ScopedFd fd_;
};

}  // namespace agentsh::tracer
