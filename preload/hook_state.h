// The hook's process-wide state: the mapped policy snapshot and what the header says.
// Written once by init() (from the constructor, before the program's threads exist),
// read-only afterwards — so every reader is lock-free, fork-safe and signal-safe.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno kept.
#pragma once

#include <cstddef>
#include <cstdint>

#include "policy/decision.h"
#include "policy/snapshot_view.h"

namespace agentsh::hook {

class HookState {
 public:
  enum class Mode : uint8_t {
    kInert,       // AGENTSH_SNAPSHOT unset: every call passes straight through
    kActive,      // snapshot mapped: decide
    kFailClosed,  // AGENTSH_SNAPSHOT set but the blob is missing/invalid: deny
  };

  static HookState& get() noexcept { return instance_; }

  // Reads AGENTSH_SNAPSHOT (and AGENTSH_SNAPSHOT_FD, the inherited descriptor tried
  // first), maps the blob, arms the gate (mapped lazily, gate.h). Idempotent: the first call
  // does the work (the constructor normally), later calls return at once. A call that
  // re-enters while init runs (dlsym → an interposed function) sees kInert.
  void init() noexcept;
  bool ready() const noexcept { return __atomic_load_n(&init_done_, __ATOMIC_ACQUIRE); }

  Mode mode() const noexcept { return mode_; }
  bool active() const noexcept { return mode_ == Mode::kActive; }
  bool inert() const noexcept { return mode_ == Mode::kInert; }
  const snapshot::View& view() const noexcept { return view_; }

  bool enforce() const noexcept { return enforce_; }
  bool exec_via_broker() const noexcept { return exec_via_broker_; }
  policy::ApprovalMode approval_mode() const noexcept { return approval_mode_; }

  // Strings below are NUL-terminated and live as long as the process ("" when unset).
  const char* hook_library() const noexcept { return hook_library_; }
  size_t hook_library_len() const noexcept { return hook_library_len_; }
  const char* snapshot_path() const noexcept { return snapshot_path_; }
  size_t snapshot_path_len() const noexcept { return snapshot_path_len_; }
  // The AGENTSH_SNAPSHOT_FD value this process was given ("" when none): passed on to
  // children as is (each child verifies it again).
  const char* snapshot_fd_env() const noexcept { return snapshot_fd_env_; }
  const char* session_id() const noexcept { return session_id_; }
  const char* broker_socket() const noexcept { return broker_socket_; }
  const char* trash_dir() const noexcept { return trash_dir_; }

  // Fail-closed mode: prints the one warning line for this process (first call only).
  void warn_fail_closed_once() noexcept;

 private:
  static HookState instance_;

  void fail_closed(const char* why) noexcept;

  int init_state_ = 0;  // 0 = not started, 1 = running, 2 = done
  bool init_done_ = false;
  Mode mode_ = Mode::kInert;
  snapshot::View view_;
  bool enforce_ = true;
  bool exec_via_broker_ = false;
  policy::ApprovalMode approval_mode_ = policy::ApprovalMode::kNone;
  const char* hook_library_ = "";
  size_t hook_library_len_ = 0;
  const char* snapshot_path_ = "";
  size_t snapshot_path_len_ = 0;
  const char* session_id_ = "";
  const char* broker_socket_ = "";
  const char* trash_dir_ = "";
  const char* fail_reason_ = "";
  int warned_ = 0;
  char snapshot_env_[4096] = {};   // copy of $AGENTSH_SNAPSHOT (the program may change env)
  char snapshot_fd_env_[64] = {};  // copy of $AGENTSH_SNAPSHOT_FD
};

}  // namespace agentsh::hook
