#include "tracer/seccomp_listener.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstring>

#include "tracer/arch_x86_64.h"

namespace agentsh::tracer {

namespace {
int ioctl_ret(int r) {
  return r < 0 ? -errno : r;
}
}  // namespace

bool SeccompListener::set_sync_wakeup() {
  return ioctl(fd_.get(), arch::kIoctlNotifSetFlags, arch::kUserNotifFdSyncWakeUp) == 0;
}

int SeccompListener::receive(seccomp_notif* n) {
  memset(n, 0, sizeof *n);  // the kernel insists on a zeroed buffer
  return ioctl_ret(ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_RECV, n));
}

bool SeccompListener::id_valid(uint64_t id) {
  return ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

int SeccompListener::respond_continue(uint64_t id) {
  seccomp_notif_resp r{};
  r.id = id;
  r.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  return ioctl_ret(ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_SEND, &r));
}

int SeccompListener::respond_error(uint64_t id, int err) {
  seccomp_notif_resp r{};
  r.id = id;
  r.error = -err;
  return ioctl_ret(ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_SEND, &r));
}

int SeccompListener::respond_value(uint64_t id, int64_t value) {
  seccomp_notif_resp r{};
  r.id = id;
  r.val = value;
  return ioctl_ret(ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_SEND, &r));
}

int SeccompListener::respond_fd(uint64_t id, int src_fd, bool cloexec) {
  seccomp_notif_addfd a{};
  a.id = id;
  a.flags = arch::kAddfdFlagSend;
  a.srcfd = static_cast<uint32_t>(src_fd);
  a.newfd_flags = cloexec ? O_CLOEXEC : 0;
  return ioctl_ret(ioctl(fd_.get(), SECCOMP_IOCTL_NOTIF_ADDFD, &a));
}

}  // namespace agentsh::tracer
