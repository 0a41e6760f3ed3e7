// The table of traced syscalls (see syscall_table.h). Adding a row here is all it takes
// for the filter to route the call and the tests to cover its routing; a new Handler
// also needs a case in notification_handler.cc.
#include "tracer/syscall_table.h"

#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/shm.h>

#include <algorithm>
#include <cerrno>

#include "tracer/arch_x86_64.h"

namespace agentsh::tracer::syscall_table {

namespace {

using policy::FileOp;
using A = Arg;
constexpr Arg _ = Arg::kNone;

constexpr SyscallInfo exec(int nr, const char* name, std::array<Arg, 6> args) {
  SyscallInfo s;
  s.nr = nr;
  s.name = name;
  s.family = Family::kExec;
  s.handler = Handler::kExec;
  s.args = args;
  s.op = FileOp::kExec;
  s.follow = true;
  s.deny_errno = EACCES;
  return s;
}

// A file operation the hook also decides (so the gate may run it).
constexpr SyscallInfo file(int nr, const char* name, Handler h, FileOp op, bool follow,
                           std::array<Arg, 6> args) {
  SyscallInfo s;
  s.nr = nr;
  s.name = name;
  s.family = Family::kFile;
  s.handler = h;
  s.args = args;
  s.op = op;
  s.follow = follow;
  s.gate_ok = true;
  s.deny_errno = EACCES;
  return s;
}

constexpr SyscallInfo net(int nr, const char* name, Handler h, std::array<Arg, 6> args) {
  SyscallInfo s;
  s.nr = nr;
  s.name = name;
  s.family = Family::kNet;
  s.handler = h;
  s.args = args;
  s.gate_ok = true;
  s.deny_errno = EACCES;
  return s;
}

constexpr SyscallInfo other(int nr, const char* name, Family f, Handler h, int err,
                            std::array<Arg, 6> args) {
  SyscallInfo s;
  s.nr = nr;
  s.name = name;
  s.family = f;
  s.handler = h;
  s.args = args;
  s.deny_errno = err;
  return s;
}

constexpr SyscallInfo if_nonzero(SyscallInfo s, uint8_t arg) {
  s.route = Route::kArgNonZero;
  s.route_arg = arg;
  return s;
}

constexpr SyscallInfo if_mask(SyscallInfo s, uint8_t arg, uint32_t mask) {
  s.route = Route::kArgMaskAny;
  s.route_arg = arg;
  s.route_mask = mask;
  return s;
}

constexpr SyscallInfo if_in(SyscallInfo s, uint8_t arg, std::array<uint32_t, 4> values,
                            uint8_t count) {
  s.route = Route::kArgIn;
  s.route_arg = arg;
  s.route_in = values;
  s.route_in_count = count;
  return s;
}

constexpr SyscallInfo memory(int nr, const char* name, std::array<Arg, 6> args,
                             std::array<std::array<uint8_t, 2>, 3> ranges) {
  SyscallInfo s = other(nr, name, Family::kMemory, Handler::kMemoryGuard, EPERM, args);
  s.route = Route::kGateRange;
  s.ranges = ranges;
  return s;
}

constexpr std::array<uint8_t, 2> kEnd{kNoArg, kNoArg};

constexpr SyscallInfo seal_fast(SyscallInfo s) {
  s.gate_seal_fast = true;
  return s;
}

// A new user namespace changes what the caller's capabilities mean; a new mount
// namespace alone changes nothing for the tracer, because mounts are refused.
constexpr uint32_t kNsFlags = CLONE_NEWUSER;

// Sorted by syscall number (checked at compile time below).
constexpr SyscallInfo kTable[] = {
    file(SYS_open, "open", Handler::kOpen, FileOp::kRead, true,
         {A::kPath, A::kFlags, A::kMode, _, _, _}),
    memory(SYS_mmap, "mmap", {A::kAddr, A::kLen, A::kProt, A::kFlags, A::kFd, A::kOther},
           {{{0, 1}, kEnd, kEnd}}),
    seal_fast(memory(SYS_mprotect, "mprotect", {A::kAddr, A::kLen, A::kProt, _, _, _},
                     {{{0, 1}, kEnd, kEnd}})),
    memory(SYS_munmap, "munmap", {A::kAddr, A::kLen, _, _, _, _}, {{{0, 1}, kEnd, kEnd}}),
    memory(SYS_mremap, "mremap", {A::kAddr, A::kLen, A::kLen, A::kFlags, A::kAddr, _},
           {{{0, 1}, {0, 2}, {4, 2}}}),
    memory(SYS_madvise, "madvise", {A::kAddr, A::kLen, A::kOther, _, _, _}, {{{0, 1}, kEnd, kEnd}}),
    if_mask(other(SYS_shmat, "shmat", Family::kMemory, Handler::kMemoryGuard, EPERM,
                  {A::kOther, A::kAddr, A::kFlags, _, _, _}),
            2, SHM_EXEC),
    net(SYS_connect, "connect", Handler::kConnect, {A::kFd, A::kSockaddr, A::kSockLen, _, _, _}),
    if_nonzero(net(SYS_sendto, "sendto", Handler::kSendto,
                   {A::kFd, A::kBuf, A::kLen, A::kFlags, A::kSockaddr, A::kSockLen}),
               4),
    // Always: whether a msghdr names a destination (UDP, TCP Fast Open) is in memory.
    net(SYS_sendmsg, "sendmsg", Handler::kSendmsg, {A::kFd, A::kMsghdr, A::kFlags, _, _, _}),
    // Always (not hot): the filter cannot tell which sockets the tracer redirected.
    net(SYS_getpeername, "getpeername", Handler::kGetpeername,
        {A::kFd, A::kSockaddr, A::kOther, _, _, _}),
    if_mask(other(SYS_clone, "clone", Family::kCreds, Handler::kTaint, EPERM,
                  {A::kFlags, A::kAddr, A::kOther, A::kOther, A::kOther, _}),
            0, kNsFlags),
    exec(SYS_execve, "execve", {A::kPath, A::kArgv, A::kEnvp, _, _, _}),
    other(SYS_kill, "kill", Family::kSignal, Handler::kSignal, EPERM,
          {A::kPid, A::kSig, _, _, _, _}),
    file(SYS_truncate, "truncate", Handler::kPathOp, FileOp::kWrite, true,
         {A::kPath, A::kLen, _, _, _, _}),
    file(SYS_rename, "rename", Handler::kTwoPathOp, FileOp::kRename, false,
         {A::kPath, A::kPath, _, _, _, _}),
    file(SYS_mkdir, "mkdir", Handler::kPathOp, FileOp::kMkdir, false,
         {A::kPath, A::kMode, _, _, _, _}),
    file(SYS_rmdir, "rmdir", Handler::kPathOp, FileOp::kRmdir, false, {A::kPath, _, _, _, _, _}),
    file(SYS_creat, "creat", Handler::kOpen, FileOp::kCreate, true,
         {A::kPath, A::kMode, _, _, _, _}),
    file(SYS_link, "link", Handler::kTwoPathOp, FileOp::kLink, false,
         {A::kPath, A::kPath, _, _, _, _}),
    file(SYS_unlink, "unlink", Handler::kPathOp, FileOp::kDelete, false, {A::kPath, _, _, _, _, _}),
    file(SYS_symlink, "symlink", Handler::kSymlink, FileOp::kSymlink, false,
         {A::kLinkTarget, A::kPath, _, _, _, _}),
    file(SYS_chmod, "chmod", Handler::kPathOp, FileOp::kChmod, true,
         {A::kPath, A::kMode, _, _, _, _}),
    file(SYS_fchmod, "fchmod", Handler::kFdMeta, FileOp::kChmod, true,
         {A::kFd, A::kMode, _, _, _, _}),
    file(SYS_chown, "chown", Handler::kPathOp, FileOp::kChown, true,
         {A::kPath, A::kUid, A::kGid, _, _, _}),
    file(SYS_fchown, "fchown", Handler::kFdMeta, FileOp::kChown, true,
         {A::kFd, A::kUid, A::kGid, _, _, _}),
    file(SYS_lchown, "lchown", Handler::kPathOp, FileOp::kChown, false,
         {A::kPath, A::kUid, A::kGid, _, _, _}),
    other(SYS_umask, "umask", Family::kCreds, Handler::kUmask, 0, {A::kMode, _, _, _, _, _}),
    other(SYS_ptrace, "ptrace", Family::kProcess, Handler::kPtrace, EPERM,
          {A::kOther, A::kPid, A::kAddr, A::kOther, _, _}),
    other(SYS_setuid, "setuid", Family::kCreds, Handler::kTaint, 0, {A::kUid, _, _, _, _, _}),
    other(SYS_setgid, "setgid", Family::kCreds, Handler::kTaint, 0, {A::kGid, _, _, _, _, _}),
    other(SYS_setreuid, "setreuid", Family::kCreds, Handler::kTaint, 0,
          {A::kUid, A::kUid, _, _, _, _}),
    other(SYS_setregid, "setregid", Family::kCreds, Handler::kTaint, 0,
          {A::kGid, A::kGid, _, _, _, _}),
    other(SYS_setgroups, "setgroups", Family::kCreds, Handler::kTaint, 0,
          {A::kLen, A::kOther, _, _, _, _}),
    other(SYS_setresuid, "setresuid", Family::kCreds, Handler::kTaint, 0,
          {A::kUid, A::kUid, A::kUid, _, _, _}),
    other(SYS_setresgid, "setresgid", Family::kCreds, Handler::kTaint, 0,
          {A::kGid, A::kGid, A::kGid, _, _, _}),
    other(SYS_setfsuid, "setfsuid", Family::kCreds, Handler::kTaint, 0, {A::kUid, _, _, _, _, _}),
    other(SYS_setfsgid, "setfsgid", Family::kCreds, Handler::kTaint, 0, {A::kGid, _, _, _, _, _}),
    other(SYS_capset, "capset", Family::kCreds, Handler::kTaint, 0,
          {A::kOther, A::kOther, _, _, _, _}),
    other(SYS_rt_sigqueueinfo, "rt_sigqueueinfo", Family::kSignal, Handler::kSignal, EPERM,
          {A::kPid, A::kSig, A::kSigInfo, _, _, _}),
    file(SYS_mknod, "mknod", Handler::kPathOp, FileOp::kMknod, false,
         {A::kPath, A::kMode, A::kDev, _, _, _}),
    // READ_IMPLIES_EXEC would make any readable mapping (the heap, say) executable:
    // a way to put code at the gate address without an mprotect the guard sees.
    if_mask(other(SYS_personality, "personality", Family::kMemory, Handler::kMemoryGuard, EPERM,
                  {A::kFlags, _, _, _, _, _}),
            0, arch::kReadImpliesExec),
    other(SYS_pivot_root, "pivot_root", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kPath, A::kPath, _, _, _, _}),
    if_in(other(SYS_prctl, "prctl", Family::kCreds, Handler::kPrctl, 0,
                {A::kOther, A::kOther, A::kOther, A::kOther, A::kOther, _}),
          0, {PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_CAP_AMBIENT}, 4),
    // One filesystem view for the whole tree: paths must mean the same thing to the
    // policy, the process and the supervisor (README.md, "One view").
    other(SYS_chroot, "chroot", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kPath, _, _, _, _, _}),
    other(SYS_mount, "mount", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kPath, A::kPath, A::kOther, A::kFlags, A::kOther, _}),
    other(SYS_umount2, "umount2", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kPath, A::kFlags, _, _, _, _}),
    other(SYS_tkill, "tkill", Family::kSignal, Handler::kSignal, EPERM,
          {A::kTid, A::kSig, _, _, _, _}),
    other(SYS_tgkill, "tgkill", Family::kSignal, Handler::kSignal, EPERM,
          {A::kPid, A::kTid, A::kSig, _, _, _}),
    file(SYS_openat, "openat", Handler::kOpen, FileOp::kRead, true,
         {A::kDirfd, A::kPath, A::kFlags, A::kMode, _, _}),
    file(SYS_mkdirat, "mkdirat", Handler::kPathOp, FileOp::kMkdir, false,
         {A::kDirfd, A::kPath, A::kMode, _, _, _}),
    file(SYS_mknodat, "mknodat", Handler::kPathOp, FileOp::kMknod, false,
         {A::kDirfd, A::kPath, A::kMode, A::kDev, _, _}),
    file(SYS_fchownat, "fchownat", Handler::kPathOp, FileOp::kChown, true,
         {A::kDirfd, A::kPath, A::kUid, A::kGid, A::kFlags, _}),
    file(SYS_unlinkat, "unlinkat", Handler::kPathOp, FileOp::kDelete, false,
         {A::kDirfd, A::kPath, A::kFlags, _, _, _}),
    file(SYS_renameat, "renameat", Handler::kTwoPathOp, FileOp::kRename, false,
         {A::kDirfd, A::kPath, A::kDirfd, A::kPath, _, _}),
    file(SYS_linkat, "linkat", Handler::kTwoPathOp, FileOp::kLink, false,
         {A::kDirfd, A::kPath, A::kDirfd, A::kPath, A::kFlags, _}),
    file(SYS_symlinkat, "symlinkat", Handler::kSymlink, FileOp::kSymlink, false,
         {A::kLinkTarget, A::kDirfd, A::kPath, _, _, _}),
    file(SYS_fchmodat, "fchmodat", Handler::kPathOp, FileOp::kChmod, true,
         {A::kDirfd, A::kPath, A::kMode, _, _, _}),
    if_mask(other(SYS_unshare, "unshare", Family::kCreds, Handler::kTaint, 0,
                  {A::kFlags, _, _, _, _, _}),
            0, kNsFlags),
    other(SYS_rt_tgsigqueueinfo, "rt_tgsigqueueinfo", Family::kSignal, Handler::kSignal, EPERM,
          {A::kPid, A::kTid, A::kSig, A::kSigInfo, _, _}),
    other(SYS_open_by_handle_at, "open_by_handle_at", Family::kDenied, Handler::kAlwaysDeny, EACCES,
          {A::kFd, A::kOther, A::kFlags, _, _, _}),
    net(SYS_sendmmsg, "sendmmsg", Handler::kSendmsg,
        {A::kFd, A::kMsghdr, A::kLen, A::kFlags, _, _}),
    other(SYS_setns, "setns", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kFd, A::kFlags, _, _, _, _}),
    other(SYS_process_vm_readv, "process_vm_readv", Family::kProcess, Handler::kProcessVm, EPERM,
          {A::kPid, A::kOther, A::kOther, A::kOther, A::kOther, A::kFlags}),
    other(SYS_process_vm_writev, "process_vm_writev", Family::kProcess, Handler::kProcessVm, EPERM,
          {A::kPid, A::kOther, A::kOther, A::kOther, A::kOther, A::kFlags}),
    file(SYS_renameat2, "renameat2", Handler::kTwoPathOp, FileOp::kRename, false,
         {A::kDirfd, A::kPath, A::kDirfd, A::kPath, A::kFlags, _}),
    if_mask(other(SYS_seccomp, "seccomp", Family::kDenied, Handler::kAlwaysDeny, EPERM,
                  {A::kOther, A::kFlags, A::kOther, _, _, _}),
            1, SECCOMP_FILTER_FLAG_NEW_LISTENER),
    exec(SYS_execveat, "execveat", {A::kDirfd, A::kPath, A::kArgv, A::kEnvp, A::kFlags, _}),
    other(SYS_userfaultfd, "userfaultfd", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kFlags, _, _, _, _, _}),
    memory(SYS_pkey_mprotect, "pkey_mprotect", {A::kAddr, A::kLen, A::kProt, A::kOther, _, _},
           {{{0, 1}, kEnd, kEnd}}),
    other(SYS_pidfd_send_signal, "pidfd_send_signal", Family::kSignal, Handler::kPidfdSignal, EPERM,
          {A::kPidfd, A::kSig, A::kSigInfo, A::kFlags, _, _}),
    other(SYS_io_uring_setup, "io_uring_setup", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kOther, A::kOther, _, _, _, _}),
    other(SYS_io_uring_enter, "io_uring_enter", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kFd, A::kOther, A::kOther, A::kFlags, A::kOther, A::kOther}),
    other(SYS_io_uring_register, "io_uring_register", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kFd, A::kOther, A::kOther, A::kOther, _, _}),
    other(SYS_open_tree, "open_tree", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kDirfd, A::kPath, A::kFlags, _, _, _}),
    other(SYS_move_mount, "move_mount", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kDirfd, A::kPath, A::kDirfd, A::kPath, A::kFlags, _}),
    other(SYS_fsopen, "fsopen", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kOther, A::kFlags, _, _, _, _}),
    other(SYS_fsconfig, "fsconfig", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kFd, A::kOther, A::kOther, A::kOther, A::kOther, _}),
    other(SYS_fsmount, "fsmount", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kFd, A::kFlags, A::kFlags, _, _, _}),
    other(SYS_fspick, "fspick", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kDirfd, A::kPath, A::kFlags, _, _, _}),
    file(SYS_openat2, "openat2", Handler::kOpen, FileOp::kRead, true,
         {A::kDirfd, A::kPath, A::kOpenHow, A::kSize, _, _}),
    other(SYS_pidfd_getfd, "pidfd_getfd", Family::kProcess, Handler::kPidfdGetfd, EPERM,
          {A::kPidfd, A::kFd, A::kFlags, _, _, _}),
    other(arch::kNrMountSetattr, "mount_setattr", Family::kDenied, Handler::kAlwaysDeny, EPERM,
          {A::kDirfd, A::kPath, A::kFlags, A::kOther, A::kSize, _}),
    file(arch::kNrFchmodat2, "fchmodat2", Handler::kPathOp, FileOp::kChmod, true,
         {A::kDirfd, A::kPath, A::kMode, A::kFlags, _, _}),
};

constexpr bool sorted_unique() {
  for (size_t i = 1; i < std::size(kTable); ++i)
    if (kTable[i - 1].nr >= kTable[i].nr) return false;
  return true;
}
static_assert(sorted_unique(), "kTable must be sorted by syscall number, no duplicates");

constexpr int kMaxNr = 512;
static_assert(kTable[std::size(kTable) - 1].nr < kMaxNr);

struct Index {
  std::array<int16_t, kMaxNr> slot{};
  constexpr Index() {
    for (auto& s : slot) s = -1;
    for (size_t i = 0; i < std::size(kTable); ++i) slot[kTable[i].nr] = static_cast<int16_t>(i);
  }
};
constexpr Index kIndex;

}  // namespace

std::span<const SyscallInfo> all() noexcept {
  return kTable;
}

const SyscallInfo* find(int nr) noexcept {
  if (nr < 0 || nr >= kMaxNr) return nullptr;
  int i = kIndex.slot[nr];
  return i < 0 ? nullptr : &kTable[i];
}

const SyscallInfo* find(std::string_view name) noexcept {
  for (const auto& s : kTable)
    if (name == s.name) return &s;
  return nullptr;
}

int arg_index(const SyscallInfo& info, Arg kind, int nth) noexcept {
  for (int i = 0; i < 6; ++i)
    if (info.args[i] == kind && nth-- == 0) return i;
  return -1;
}

std::string_view family_name(Family f) noexcept {
  switch (f) {
    case Family::kExec:
      return "exec";
    case Family::kFile:
      return "file";
    case Family::kNet:
      return "network";
    case Family::kSignal:
      return "signal";
    case Family::kProcess:
      return "process";
    case Family::kDenied:
      return "denied";
    case Family::kCreds:
      return "creds";
    case Family::kMemory:
      return "memory";
  }
  return "?";
}

}  // namespace agentsh::tracer::syscall_table
