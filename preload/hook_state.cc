// Process-wide hook state (see hook_state.h). House rules: no exceptions, no malloc, no
// locks, no stdio, raw syscalls for own I/O, errno preserved.
#include "preload/hook_state.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "preload/file_guard.h"
#include "preload/gate.h"
#include "preload/line_buf.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

extern char** environ;

namespace agentsh::hook {

HookState HookState::instance_;

namespace {

// getenv() without libc (no locale, no locks): scans environ once.
const char* env_value(const char* name) noexcept {
  size_t n = strlen(name);
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') return *e + n + 1;
  }
  return nullptr;
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

  const char* snap = env_value("AGENTSH_SNAPSHOT");
  if (snap == nullptr || *snap == '\0') {
    mode_ = Mode::kInert;
  } else {
    size_t n = strlen(snap);
    if (n >= sizeof snapshot_env_) n = sizeof snapshot_env_ - 1;
    memcpy(snapshot_env_, snap, n);
    snapshot_env_[n] = '\0';
    snapshot_path_ = snapshot_env_;
    snapshot_path_len_ = n;

    long fd = sys::openat(AT_FDCWD, snapshot_env_, O_RDONLY | O_CLOEXEC, 0);
    struct stat st;
    if (fd < 0) {
      fail_closed(fd == -ENOENT ? "the snapshot file does not exist"
                                : "the snapshot file cannot be opened");
    } else if (sys::call(SYS_fstat, fd, sys::arg(&st)) != 0 || st.st_size <= 0 ||
               st.st_size > (1l << 30)) {
      sys::close(static_cast<int>(fd));
      fail_closed("the snapshot file is empty or unreadable");
    } else {
      // MAP_POPULATE: attach() reads every page to validate it; one populate in the
      // mmap is cheaper than a page fault per page (this runs in every process).
      long addr = sys::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ,
                            MAP_PRIVATE | MAP_POPULATE, static_cast<int>(fd), 0);
      sys::close(static_cast<int>(fd));
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
        gate::install(h.gate_addr);
        file_guard::probe_openat2();
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
