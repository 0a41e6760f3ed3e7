// Who is in the supervised tree, and what the supervisor remembers per process.
//
// The ptrace thread keeps it current (clone/fork/vfork/exec events, exits); the
// notification workers read it (is this signal target in the tree? has this process
// changed its credentials?) and record exec approvals and taints. Every member is
// guarded by one mutex; accessors return copies.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace agentsh::tracer {

// The syscall gate page of one address space (see gate.h and README.md).
enum class GateState : uint8_t {
  kNone,      // no gate may be set up here (static image, no hook, or no gate at all)
  kEligible,  // dynamic image: the hook may map the gate page once
  kMapped,    // mapped writable by the hook; the next allowed step is mprotect(R|X)
  kSealed,    // read+exec: nothing may touch it any more
};

// Per thread group. Inherited by fork/clone children; exec keeps it except the gate.
struct ProcState {
  GateState gate = GateState::kNone;
  // Changed credentials (set*id, setgroups, capset, capability prctls, a user namespace):
  // emulated operations run with the caller's own fsuid/fsgid/groups/capabilities.
  bool foreign_creds = false;
  // Changed root or mount namespace (chroot, unshare/clone CLONE_NEWNS, setns): absolute
  // paths resolve through /proc/<tid>/root.
  bool foreign_view = false;
  // Shares its file table with another process (clone with CLONE_FILES, no CLONE_THREAD).
  bool shared_files = false;
  uint32_t umask = 022;
  // The last exec this process was refused (real path + argv). A shell or execvp walking
  // $PATH meets the same program twice (/bin -> /usr/bin): the repeat is refused
  // silently, so one command gives one stderr line and one audit record.
  std::string last_exec_denial;
  // The root before its first successful exec: that exec is the command `agentsh exec`
  // was asked to run (not nested). Never inherited.
  bool initial = false;
};

// What an approved exec must turn out to be at PTRACE_EVENT_EXEC.
struct ExecApproval {
  dev_t dev = 0;  // identity of the image the kernel must load (the interpreter for #!)
  ino_t ino = 0;
  std::vector<std::string> argv;  // the argv the new image must see
  bool dynamic = false;           // has PT_INTERP: may set up a gate
  std::string command;            // for the audit record
};

class ProcessTable {
 public:
  // The first member (the child the supervisor forked).
  void add_root(pid_t pid, const ProcState& state);
  // A new task reported by a clone/fork/vfork event or by its own first stop. `parent`
  // is the tid that created it. No-op if already known. Returns false if the parent is
  // unknown (the task is then registered with default state).
  bool add_child(pid_t parent, pid_t child, bool thread, bool shares_files);
  // A task is gone. Returns true if it was the last thread of its group.
  bool remove(pid_t tid);
  // PTRACE_EVENT_EXEC: `former_tid` has become `tgid` (the leader's id), other threads
  // are gone. Returns the approval recorded for `former_tid`, if any.
  std::optional<ExecApproval> on_exec(pid_t tgid, pid_t former_tid);

  bool contains_tid(pid_t tid) const;
  pid_t tgid_of(pid_t tid) const;  // 0 if unknown
  size_t thread_count(pid_t tgid) const;
  std::vector<pid_t> tgids() const;
  bool empty() const;

  std::optional<ProcState> state(pid_t tid) const;
  // Runs `fn` on the state of `tid`'s group under the lock. False if unknown.
  bool update(pid_t tid, const std::function<void(ProcState&)>& fn);

  void set_approval(pid_t tid, ExecApproval approval);

 private:
  struct Group {
    ProcState state;
    std::unordered_set<pid_t> threads;
  };
  mutable std::mutex mu_;
  std::unordered_map<pid_t, pid_t> tid_to_tgid_;
  std::unordered_map<pid_t, Group> groups_;
  std::unordered_map<pid_t, ExecApproval> approvals_;  // by tid of the exec caller
};

}  // namespace agentsh::tracer
