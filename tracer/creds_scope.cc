#include "tracer/creds_scope.h"

#include <linux/capability.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace agentsh::tracer {

namespace {

int set_effective_caps(uint64_t eff, uint64_t prm) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  data[0].effective = static_cast<uint32_t>(eff);
  data[1].effective = static_cast<uint32_t>(eff >> 32);
  data[0].permitted = static_cast<uint32_t>(prm);
  data[1].permitted = static_cast<uint32_t>(prm >> 32);
  // Inheritable stays empty: emulated operations never exec.
  return static_cast<int>(syscall(SYS_capset, &hdr, data));
}

thread_local uint32_t t_umask = 0xffffffff;

}  // namespace

CredsScope::CredsScope(pid_t tid, bool foreign, const proc_fs::Creds& ours, ino_t our_user_ns)
    : ours_(ours) {
  if (!foreign) return;
  proc_fs::Creds c;
  if (!proc_fs::read_creds(tid, &c)) {
    error_ = EACCES;
    return;
  }
  uint64_t caps = c.cap_eff;
  if (our_user_ns != 0 && proc_fs::ns_inode(tid, "user") != our_user_ns) caps = 0;
  caps &= ours.cap_prm;
  switched_ = true;
  if (c.groups != ours.groups) {
    if (syscall(SYS_setgroups, c.groups.size(), c.groups.data()) != 0) {
      error_ = EACCES;
      restore();
      return;
    }
    groups_changed_ = true;
  }
  syscall(SYS_setfsgid, c.gid[3]);
  syscall(SYS_setfsuid, c.uid[3]);
  // setfs* report the previous value, not errors: check that the switch took.
  if (static_cast<uid_t>(syscall(SYS_setfsuid, -1)) != c.uid[3] ||
      static_cast<gid_t>(syscall(SYS_setfsgid, -1)) != c.gid[3] ||
      set_effective_caps(caps, ours.cap_prm) != 0) {
    error_ = EACCES;
    restore();
  }
}

CredsScope::~CredsScope() {
  restore();
}

void CredsScope::restore() {
  if (!switched_) return;
  switched_ = false;
  set_effective_caps(ours_.cap_prm, ours_.cap_prm);
  syscall(SYS_setfsuid, ours_.uid[3]);
  syscall(SYS_setfsgid, ours_.gid[3]);
  if (groups_changed_) syscall(SYS_setgroups, ours_.groups.size(), ours_.groups.data());
  set_effective_caps(ours_.cap_eff, ours_.cap_prm);
}

void set_thread_umask(uint32_t mask) {
  if (t_umask == mask) return;
  umask(static_cast<mode_t>(mask));
  t_umask = mask;
}

}  // namespace agentsh::tracer
