// Process-wide hook state (see hook_state.h). House rules: no exceptions, no malloc, no
// locks, no stdio, raw syscalls for own I/O, errno preserved.
#include "preload/hook_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "preload/gate.h"
#include "preload/line_buf.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

extern char** environ;

namespace agentsh::hook {

HookState HookState::instance_;

namespace {

constexpr char kSnapVar[] = "AGENTSH_SNAPSHOT";  // followed by "=" or "_FD="
constexpr size_t kSnapVarLen = sizeof kSnapVar - 1;

// Parses a decimal unsigned number ending at `end` (':' or NUL); advances *p past it.
bool parse_u64(const char** p, char end, uint64_t* out) noexcept {
  const char* s = *p;
  uint64_t v = 0;
  if (*s < '0' || *s > '9') return false;
  for (; *s >= '0' && *s <= '9'; ++s) {
    if (v > (~0ull - 9) / 10) return false;
    v = v * 10 + static_cast<uint64_t>(*s - '0');
  }
  if (*s != end) return false;
  *p = end == '\0' ? s : s + 1;
  *out = v;
  return true;
}

// AGENTSH_SNAPSHOT_FD = "<fd>:<st_dev>:<st_ino>" (agentsh/snapshot_handoff.h): the
// snapshot as an inherited, sealed, read-only descriptor. Trusted only when the fd
// still names that very object (the program may have closed the number or reused it for
// another file); then `st` is its fstat. Returns the fd or -1.
long handed_fd(const char* v, struct stat* st) noexcept {
  uint64_t fd = 0, dev = 0, ino = 0;
  if (v == nullptr || !parse_u64(&v, ':', &fd) || !parse_u64(&v, ':', &dev) ||
      !parse_u64(&v, '\0', &ino) || fd > 0x7fffffff) {
    return -1;
  }
  if (sys::call(SYS_fstat, static_cast<long>(fd), sys::arg(st)) != 0) return -1;
  if (!S_ISREG(st->st_mode) || static_cast<uint64_t>(st->st_dev) != dev ||
      static_cast<uint64_t>(st->st_ino) != ino) {
    return -1;
  }
  return static_cast<long>(fd);
}

}  // namespace

void HookState::fail_closed(const char* why) noexcept {
  mode_ = Mode::kFailClosed;
  fail_reason_ = why;
}

void HookState::init() noexcept {
  int expected = 0;
  if (!__atomic_compare_exchange_n(&init_state_, &expected, 1, false, __ATOMIC_ACQ_REL,
                                   __ATOMIC_ACQUIRE)) {
    return;  // done, or running (re-entry from dlsym during init: stay inert for it)
  }
  int saved_errno = errno;
  real_fns::resolve_all();

  // One pass over the environment for AGENTSH_SNAPSHOT and AGENTSH_SNAPSHOT_FD (no
  // getenv: no locale, no locks).
  const char* snap = nullptr;
  const char* snap_fd = nullptr;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const char* v = *e;
    if (v[0] != 'A' || strncmp(v, kSnapVar, kSnapVarLen) != 0) continue;
    if (v[kSnapVarLen] == '=') {
      snap = v + kSnapVarLen + 1;
    } else if (strncmp(v + kSnapVarLen, "_FD=", 4) == 0) {
      snap_fd = v + kSnapVarLen + 4;
    }
  }
  if (snap == nullptr || *snap == '\0') {
    mode_ = Mode::kInert;
  } else {
    size_t n = strlen(snap);
    if (n >= sizeof snapshot_env_) n = sizeof snapshot_env_ - 1;
    memcpy(snapshot_env_, snap, n);
    snapshot_env_[n] = '\0';
    snapshot_path_ = snapshot_env_;
    snapshot_path_len_ = n;
    if (snap_fd != nullptr) {
      size_t m = strlen(snap_fd);
      if (m < sizeof snapshot_fd_env_) memcpy(snapshot_fd_env_, snap_fd, m + 1);
    }

    // The inherited descriptor first: no path lookup (under the tracer, no supervisor
    // round trip for the open). Kept open: children inherit it. Else by path.
    struct stat st;
    bool handed = true;
    long fd = handed_fd(snapshot_fd_env_[0] != '\0' ? snapshot_fd_env_ : nullptr, &st);
    if (fd < 0) {
      handed = false;
      fd = sys::openat(AT_FDCWD, snapshot_env_, O_RDONLY | O_CLOEXEC, 0);
    }
    if (fd < 0) {
      fail_closed(fd == -ENOENT ? "the snapshot file does not exist"
                                : "the snapshot file cannot be opened");
    } else if ((!handed && sys::call(SYS_fstat, fd, sys::arg(&st)) != 0) || st.st_size <= 0 ||
               st.st_size > (1l << 30)) {
      if (!handed) sys::close(static_cast<int>(fd));
      fail_closed("the snapshot file is empty or unreadable");
    } else {
      // MAP_POPULATE: attach() reads every page to validate it; one populate in the
      // mmap is cheaper than a page fault per page (this runs in every process).
      long addr = sys::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                            MAP_PRIVATE | MAP_POPULATE, static_cast<int>(fd), 0);
      if (!handed) sys::close(static_cast<int>(fd));
      if (addr < 0 && addr > -4096) {
        fail_closed("the snapshot file cannot be mapped");
      } else if (!view_.attach(reinterpret_cast<const void*>(addr),
                               static_cast<size_t>(st.st_size))) {
        sys::munmap(reinterpret_cast<void*>(addr), static_cast<size_t>(st.st_size));
        fail_closed("the snapshot is invalid (wrong magic/version or corrupt)");
      } else {
        const snapshot::Header& h = view_.header();
        mode_ = Mode::kActive;
        enforce_ = (h.flags & snapshot::kFlagEnforce) != 0;
        exec_via_broker_ = (h.flags & snapshot::kFlagHookExecViaBroker) != 0;
        approval_mode_ = static_cast<policy::ApprovalMode>(h.approval_mode);
        hook_library_ = view_.str(h.hook_library);
        hook_library_len_ = h.hook_library.len;
        if (h.snapshot_path.len != 0) {
          snapshot_path_ = view_.str(h.snapshot_path);
          snapshot_path_len_ = h.snapshot_path.len;
        }
        session_id_ = view_.str(h.session_id);
        broker_socket_ = view_.str(h.broker_socket);
        trash_dir_ = view_.str(h.trash_dir);
        gate::arm(h.gate_addr);  // mapped by the first governed syscall (gate.h)
      }
    }
  }
  errno = saved_errno;
  __atomic_store_n(&init_state_, 2, __ATOMIC_RELEASE);
  __atomic_store_n(&init_done_, true, __ATOMIC_RELEASE);
}

void HookState::warn_fail_closed_once() noexcept {
  if (__atomic_exchange_n(&warned_, 1, __ATOMIC_ACQ_REL) != 0) return;
  LineBuf line;
  line.add("agentsh: AGENTSH_SNAPSHOT=").add(snapshot_env_).add(": ").add(fail_reason_);
  line.add("; denying file, network and exec operations (fail closed)\n");
  sys::write_all(2, line.data(), line.size());
}

}  // namespace agentsh::hook
