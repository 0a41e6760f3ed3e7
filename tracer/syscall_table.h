// The one table of traced syscalls. It is the single source for
//   * the seccomp-bpf prefilter (tracer/bpf_program.cc): which calls reach the
//     supervisor, under which argument conditions, and which the gate may run;
//   * the decoder (tracer/notification_handler.cc): which argument is a path, a dirfd, a
//     sockaddr, a pid, flags — and what each call means for the policy;
//   * the tests (tests/unit/tracer_syscall_table_test.cc, tracer_bpf_test.cc), which walk
//     the table instead of repeating it.
// A syscall not listed here runs at full speed, never stopped.
//
// Thread-safety: immutable, constant-initialised; safe anywhere including after fork().
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "policy/decision.h"

namespace agentsh::tracer {

// What a syscall is about (for audit records and for reading the table).
enum class Family : uint8_t {
  kExec,     // starting a program
  kFile,     // path-based file operations
  kNet,      // outbound connections
  kSignal,   // signals to other processes
  kProcess,  // reaching into other processes (ptrace, process_vm_*, pidfd_getfd)
  kDenied,   // always refused (io_uring, userfaultfd, open_by_handle_at, mounts, ...)
  kCreds,    // credential / filesystem-view changes the emulation must follow
  kMemory,   // mappings that could touch the syscall gate page
};

// How the supervisor handles a notification for the syscall.
enum class Handler : uint8_t {
  kExec,         // execve/execveat: decide, then verify at PTRACE_EVENT_EXEC
  kOpen,         // open/creat/openat/openat2: emulated, the fd injected (ADDFD)
  kPathOp,       // one path, one operation (unlink, mkdir, chmod, truncate, ...): emulated
  kTwoPathOp,    // rename/link: two paths, emulated
  kSymlink,      // symlink/symlinkat: the link is created, its content is not resolved
  kFdMeta,       // fchmod/fchown: decided on the fd's path, emulated on a duplicate
  kConnect,      // connect: emulated on a duplicate of the socket
  kSendto,       // sendto with a destination: emulated
  kSendmsg,      // sendmsg/sendmmsg: the msghdr may carry a destination: emulated
  kGetpeername,  // getpeername: a socket the tracer redirected shows its original peer
  kSignal,       // kill/tkill/tgkill/rt_(tg)sigqueueinfo: target must be in the tree
  kPidfdSignal,  // pidfd_send_signal: emulated on a duplicate of the pidfd
  kPtrace,       // ptrace: EPERM
  kProcessVm,    // process_vm_readv/writev: only on the caller itself (write), tree (read)
  kPidfdGetfd,   // pidfd_getfd: emulated, only from processes in the tree
  kAlwaysDeny,   // refused with deny_errno, audited
  kTaint,        // recorded (the emulation then follows the caller's creds/root), continued
  kUmask,        // recorded (emulated creates apply it), continued
  kPrctl,        // PR_SET_DUMPABLE / capability prctls
  kMemoryGuard,  // may touch the gate page: exact check in the supervisor
};

// What one argument register holds.
enum class Arg : uint8_t {
  kNone,
  kDirfd,       // int, AT_FDCWD or a directory fd (or the object with AT_EMPTY_PATH)
  kPath,        // const char*, resolved against the preceding kDirfd (or the cwd)
  kLinkTarget,  // const char*, symlink content: stored, never resolved
  kFd,          // an fd the call operates on
  kFlags,       // flags (O_*, AT_*, RENAME_*, MSG_*, ...)
  kMode,        // mode_t
  kOpenHow,     // struct open_how*
  kSize,        // size of the preceding struct
  kSockaddr,    // const struct sockaddr*
  kSockLen,     // socklen_t
  kMsghdr,      // struct msghdr* (sendmsg) or struct mmsghdr* (sendmmsg)
  kBuf,         // const void* payload
  kLen,         // size_t length (payload or mapping)
  kPid,         // pid_t (kill: <= 0 means process groups)
  kTid,         // thread id
  kSig,         // signal number
  kSigInfo,     // siginfo_t*
  kArgv,        // char* const argv[]
  kEnvp,        // char* const envp[]
  kUid,
  kGid,
  kDev,
  kAddr,  // a virtual address (mappings)
  kProt,
  kPidfd,
  kOther,
};

// When the prefilter sends the call to the supervisor (after the ABI checks, the
// exec rule and the gate).
enum class Route : uint8_t {
  kAlways,      // every call
  kArgNonZero,  // args[route_arg] != 0 (64-bit compare)
  kArgMaskAny,  // args[route_arg] & route_mask (low 32 bits)
  kArgIn,       // low 32 bits of args[route_arg] is one of route_in[0..route_in_count)
  kGateRange,   // memory ops: some (addr, len) pair may touch the gate's 4 GiB slice;
                // only emitted when a gate is configured
};

inline constexpr uint8_t kNoArg = 0xff;

struct SyscallInfo {
  int nr = -1;
  const char* name = "";
  Family family = Family::kFile;
  Handler handler = Handler::kPathOp;
  std::array<Arg, 6> args{};
  // File family: the policy operation (kOpen is refined from the open flags; unlinkat
  // with AT_REMOVEDIR becomes kRmdir).
  policy::FileOp op = policy::FileOp::kRead;
  // Path ops: whether the final symlink is followed by default (AT_SYMLINK_NOFOLLOW /
  // AT_SYMLINK_FOLLOW in the flags override it).
  bool follow = false;
  // The hook decides this call in-process; from the gate page it runs without a stop.
  // Never true for exec, signals, ptrace, memory, creds or always-denied calls.
  bool gate_ok = false;
  int deny_errno = 0;  // errno for denials (EACCES files/exec/net, EPERM signals/ptrace)
  Route route = Route::kAlways;
  uint8_t route_arg = kNoArg;
  uint32_t route_mask = 0;
  std::array<uint32_t, 4> route_in{};
  uint8_t route_in_count = 0;
  // kGateRange, mprotect only: the hook's sealing call — exactly (gate, 4096,
  // PROT_READ|PROT_EXEC) — is allowed by the filter itself, saving a round trip per
  // process. Safe: the page can only have been mapped through a checked mmap, and every
  // other protection change on it still reaches the supervisor.
  bool gate_seal_fast = false;
  // kGateRange: up to three (addr arg, len arg) pairs; kNoArg ends the list.
  std::array<std::array<uint8_t, 2>, 3> ranges{
      {{kNoArg, kNoArg}, {kNoArg, kNoArg}, {kNoArg, kNoArg}}};
};

namespace syscall_table {

// Every traced syscall, sorted by number.
std::span<const SyscallInfo> all() noexcept;
// nullptr if `nr` is not traced. O(1).
const SyscallInfo* find(int nr) noexcept;
const SyscallInfo* find(std::string_view name) noexcept;
// Index of the `nth` (0-based) argument of kind `kind`, or -1.
int arg_index(const SyscallInfo& info, Arg kind, int nth = 0) noexcept;
std::string_view family_name(Family f) noexcept;

}  // namespace syscall_table
}  // namespace agentsh::tracer
