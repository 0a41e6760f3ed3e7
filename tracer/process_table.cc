#include "tracer/process_table.h"

namespace agentsh::tracer {

void ProcessTable::add_root(pid_t pid, const ProcState& state) {
  std::lock_guard lock(mu_);
  tid_to_tgid_[pid] = pid;
  Group& g = groups_[pid];
  g.state = state;
  g.threads.insert(pid);
}

bool ProcessTable::add_child(pid_t parent, pid_t child, bool thread, bool shares_files) {
  std::lock_guard lock(mu_);
  if (tid_to_tgid_.count(child)) return true;
  auto p = tid_to_tgid_.find(parent);
  if (p == tid_to_tgid_.end()) {
    tid_to_tgid_[child] = child;
    groups_[child].threads.insert(child);
    return false;
  }
  pid_t ptgid = p->second;
  if (thread) {
    tid_to_tgid_[child] = ptgid;
    groups_[ptgid].threads.insert(child);
    return true;
  }
  ProcState st = groups_[ptgid].state;
  st.initial = false;
  if (shares_files) {
    st.shared_files = true;
    groups_[ptgid].state.shared_files = true;
  }
  tid_to_tgid_[child] = child;
  Group& g = groups_[child];
  g.state = st;
  g.threads.insert(child);
  return true;
}

bool ProcessTable::remove(pid_t tid) {
  std::lock_guard lock(mu_);
  approvals_.erase(tid);
  auto it = tid_to_tgid_.find(tid);
  if (it == tid_to_tgid_.end()) return false;
  pid_t tgid = it->second;
  tid_to_tgid_.erase(it);
  auto g = groups_.find(tgid);
  if (g == groups_.end()) return false;
  g->second.threads.erase(tid);
  if (!g->second.threads.empty()) return false;
  groups_.erase(g);
  return true;
}

std::optional<ExecApproval> ProcessTable::on_exec(pid_t tgid, pid_t former_tid) {
  std::lock_guard lock(mu_);
  std::optional<ExecApproval> out;
  if (auto a = approvals_.find(former_tid); a != approvals_.end()) {
    out = std::move(a->second);
    approvals_.erase(a);
  }
  // de_thread(): every other thread is gone and the exec caller now has the leader's id.
  ProcState st;
  if (auto g = groups_.find(tgid); g != groups_.end()) {
    st = g->second.state;
    for (pid_t t : g->second.threads) tid_to_tgid_.erase(t);
    groups_.erase(g);
  }
  tid_to_tgid_.erase(former_tid);
  tid_to_tgid_[tgid] = tgid;
  Group& g = groups_[tgid];
  st.gate = GateState::kNone;  // new address space; the caller sets it from the approval
  st.initial = false;
  st.last_exec_denial.clear();
  g.state = st;
  g.threads = {tgid};
  return out;
}

bool ProcessTable::contains_tid(pid_t tid) const {
  std::lock_guard lock(mu_);
  return tid_to_tgid_.count(tid) != 0;
}

pid_t ProcessTable::tgid_of(pid_t tid) const {
  std::lock_guard lock(mu_);
  auto it = tid_to_tgid_.find(tid);
  return it == tid_to_tgid_.end() ? 0 : it->second;
}

size_t ProcessTable::thread_count(pid_t tgid) const {
  std::lock_guard lock(mu_);
  auto g = groups_.find(tgid);
  return g == groups_.end() ? 0 : g->second.threads.size();
}

std::vector<pid_t> ProcessTable::tgids() const {
  std::lock_guard lock(mu_);
  std::vector<pid_t> out;
  out.reserve(groups_.size());
  for (const auto& [tgid, g] : groups_) out.push_back(tgid);
  return out;
}

bool ProcessTable::empty() const {
  std::lock_guard lock(mu_);
  return groups_.empty();
}

std::optional<ProcState> ProcessTable::state(pid_t tid) const {
  std::lock_guard lock(mu_);
  auto it = tid_to_tgid_.find(tid);
  if (it == tid_to_tgid_.end()) return std::nullopt;
  auto g = groups_.find(it->second);
  if (g == groups_.end()) return std::nullopt;
  return g->second.state;
}

bool ProcessTable::update(pid_t tid, const std::function<void(ProcState&)>& fn) {
  std::lock_guard lock(mu_);
  auto it = tid_to_tgid_.find(tid);
  if (it == tid_to_tgid_.end()) return false;
  auto g = groups_.find(it->second);
  if (g == groups_.end()) return false;
  fn(g->second.state);
  return true;
}

void ProcessTable::set_approval(pid_t tid, ExecApproval approval) {
  std::lock_guard lock(mu_);
  approvals_[tid] = std::move(approval);
}

}  // namespace agentsh::tracer
