// The syscall table is the single source for the filter, the decoder and the tests, so
// it is checked against the kernel's own numbering and against its own invariants.
#include <gtest/gtest.h>
#include <sys/syscall.h>

#include <set>
#include <string>

#include "tracer/arch_x86_64.h"
#include "tracer/syscall_table.h"

namespace agentsh::tracer {
namespace {

TEST(SyscallTable, NumbersMatchTheKernelHeaders) {
  struct {
    const char* name;
    int nr;
  } known[] = {
      {"open", SYS_open},
      {"openat", SYS_openat},
      {"openat2", SYS_openat2},
      {"creat", SYS_creat},
      {"execve", SYS_execve},
      {"execveat", SYS_execveat},
      {"truncate", SYS_truncate},
      {"renameat2", SYS_renameat2},
      {"linkat", SYS_linkat},
      {"symlinkat", SYS_symlinkat},
      {"fchmodat", SYS_fchmodat},
      {"fchownat", SYS_fchownat},
      {"mknodat", SYS_mknodat},
      {"unlinkat", SYS_unlinkat},
      {"mkdirat", SYS_mkdirat},
      {"connect", SYS_connect},
      {"sendto", SYS_sendto},
      {"kill", SYS_kill},
      {"tgkill", SYS_tgkill},
      {"ptrace", SYS_ptrace},
      {"io_uring_setup", SYS_io_uring_setup},
      {"process_vm_readv", SYS_process_vm_readv},
      {"process_vm_writev", SYS_process_vm_writev},
      {"open_by_handle_at", SYS_open_by_handle_at},
      {"pidfd_send_signal", SYS_pidfd_send_signal},
      {"pidfd_getfd", SYS_pidfd_getfd},
      {"fchmodat2", arch::kNrFchmodat2},
  };
  for (const auto& k : known) {
    const SyscallInfo* s = syscall_table::find(k.name);
    ASSERT_NE(s, nullptr) << k.name;
    EXPECT_EQ(s->nr, k.nr) << k.name;
    EXPECT_EQ(syscall_table::find(k.nr), s) << k.name;
  }
  EXPECT_EQ(syscall_table::find(SYS_read), nullptr);
  EXPECT_EQ(syscall_table::find(-1), nullptr);
  EXPECT_EQ(syscall_table::find(100000), nullptr);
}

TEST(SyscallTable, EveryRowIsConsistent) {
  std::set<std::string> names;
  for (const auto& s : syscall_table::all()) {
    SCOPED_TRACE(s.name);
    EXPECT_TRUE(names.insert(s.name).second) << "duplicate name";
    // Only what the hook decides may pass through the gate.
    const bool hook_family = s.family == Family::kFile || s.family == Family::kNet;
    if (!hook_family) {
      EXPECT_FALSE(s.gate_ok);
    }
    // Denials use the errno the contract names.
    if (hook_family || s.family == Family::kExec) {
      EXPECT_EQ(s.deny_errno, EACCES);
    }
    if (s.family == Family::kSignal || s.family == Family::kProcess) {
      EXPECT_EQ(s.deny_errno, EPERM);
    }
    if (s.handler == Handler::kAlwaysDeny) {
      EXPECT_NE(s.deny_errno, 0);
    }
    // Path handlers have the arguments their decoder looks for.
    switch (s.handler) {
      case Handler::kOpen:
      case Handler::kPathOp:
      case Handler::kExec:
        EXPECT_GE(syscall_table::arg_index(s, Arg::kPath), 0);
        break;
      case Handler::kTwoPathOp:
        EXPECT_GE(syscall_table::arg_index(s, Arg::kPath, 1), 0);
        break;
      case Handler::kSymlink:
        EXPECT_GE(syscall_table::arg_index(s, Arg::kLinkTarget), 0);
        EXPECT_GE(syscall_table::arg_index(s, Arg::kPath), 0);
        break;
      case Handler::kConnect:
      case Handler::kSendto:
        EXPECT_GE(syscall_table::arg_index(s, Arg::kSockaddr), 0);
        EXPECT_EQ(syscall_table::arg_index(s, Arg::kFd), 0);
        break;
      case Handler::kSendmsg:
        EXPECT_GE(syscall_table::arg_index(s, Arg::kMsghdr), 0);
        EXPECT_EQ(syscall_table::arg_index(s, Arg::kFd), 0);
        break;
      case Handler::kFdMeta:
        EXPECT_EQ(syscall_table::arg_index(s, Arg::kFd), 0);
        break;
      default:
        break;
    }
    // A dirfd, when present, precedes its path.
    int d = syscall_table::arg_index(s, Arg::kDirfd);
    if (d >= 0 && s.family != Family::kDenied) {
      EXPECT_LT(d, syscall_table::arg_index(s, Arg::kPath));
    }
    // Route conditions name a real argument.
    if (s.route == Route::kArgNonZero || s.route == Route::kArgMaskAny ||
        s.route == Route::kArgIn) {
      EXPECT_LT(s.route_arg, 6);
    }
    if (s.route == Route::kArgIn) {
      EXPECT_GT(s.route_in_count, 0);
    }
    if (s.route == Route::kGateRange) {
      EXPECT_EQ(s.family, Family::kMemory);
      EXPECT_NE(s.ranges[0][0], kNoArg);
      EXPECT_EQ(s.args[s.ranges[0][0]], Arg::kAddr);
      EXPECT_EQ(s.args[s.ranges[0][1]], Arg::kLen);
    }
  }
}

TEST(SyscallTable, CoversWhatTheTracerMustCatch) {
  // The list, by name: if one goes missing, the filter stops sending it.
  for (const char* n : {"execve",
                        "execveat",
                        "open",
                        "openat",
                        "openat2",
                        "creat",
                        "truncate",
                        "rename",
                        "renameat",
                        "renameat2",
                        "link",
                        "linkat",
                        "symlink",
                        "symlinkat",
                        "chmod",
                        "fchmodat",
                        "fchmodat2",
                        "chown",
                        "lchown",
                        "fchownat",
                        "mknod",
                        "mknodat",
                        "unlink",
                        "unlinkat",
                        "mkdir",
                        "mkdirat",
                        "rmdir",
                        "connect",
                        "sendto",
                        "sendmsg",
                        "sendmmsg",
                        "kill",
                        "tkill",
                        "tgkill",
                        "rt_sigqueueinfo",
                        "rt_tgsigqueueinfo",
                        "pidfd_send_signal",
                        "ptrace",
                        "process_vm_readv",
                        "process_vm_writev",
                        "pidfd_getfd",
                        "io_uring_setup",
                        "open_by_handle_at",
                        "userfaultfd",
                        "mount",
                        "chroot",
                        "seccomp"})
    EXPECT_NE(syscall_table::find(n), nullptr) << n;
  // Exec is never conditional and never gate-allowed.
  for (const char* n : {"execve", "execveat"}) {
    const SyscallInfo* s = syscall_table::find(n);
    EXPECT_EQ(s->route, Route::kAlways);
    EXPECT_FALSE(s->gate_ok);
  }
}

TEST(SyscallTable, ArgIndexFindsTheNth) {
  const SyscallInfo* s = syscall_table::find("renameat2");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(syscall_table::arg_index(*s, Arg::kDirfd, 0), 0);
  EXPECT_EQ(syscall_table::arg_index(*s, Arg::kPath, 0), 1);
  EXPECT_EQ(syscall_table::arg_index(*s, Arg::kDirfd, 1), 2);
  EXPECT_EQ(syscall_table::arg_index(*s, Arg::kPath, 1), 3);
  EXPECT_EQ(syscall_table::arg_index(*s, Arg::kFlags), 4);
  EXPECT_EQ(syscall_table::arg_index(*s, Arg::kPath, 2), -1);
  EXPECT_EQ(syscall_table::family_name(s->family), "file");
}

}  // namespace
}  // namespace agentsh::tracer
