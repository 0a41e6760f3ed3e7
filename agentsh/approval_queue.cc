#include "agentsh/approval_queue.h"

#include <sys/random.h>
#include <sys/time.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace agentsh {

namespace {

int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

std::string new_id() {
  unsigned char b[8] = {};
  if (getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    uint64_t v = static_cast<uint64_t>(now_us()) * 0x9e3779b97f4a7c15ull;
    memcpy(b, &v, sizeof b);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id = "appr-";
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

std::string seconds(int64_t ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

}  // namespace

ApprovalOutcome ApprovalQueue::submit_and_wait(
    const ApprovalRequest& req, int64_t timeout_ms, const std::string& requester,
    const std::function<void(const std::string&)>& on_queued) {
  auto e = std::make_shared<Entry>();
  e->info.req = req;
  e->info.requester = requester;
  e->info.created_us = now_us();
  e->info.expires_us = e->info.created_us + timeout_ms * 1000;
  std::unique_lock<std::mutex> lk(mu_);
  if (shutdown_) {
    e->outcome = {false, "", "approval server is shutting down; nobody can approve"};
    e->done = true;
  } else {
    do e->info.id = new_id();
    while (entries_.count(e->info.id));
    entries_[e->info.id] = e;
    if (on_queued) {
      lk.unlock();
      on_queued(e->info.id);
      lk.lock();
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    bool answered = cv_.wait_until(lk, deadline, [&] { return e->done || shutdown_; });
    if (!e->done) {
      e->done = true;
      e->outcome = answered ? ApprovalOutcome{false, "", "approval server shutting down; denied"}
                            : ApprovalOutcome{false, "timeout",
                                              "no answer within " + seconds(timeout_ms) +
                                                  " (approval timed out); denied"};
    }
    entries_.erase(e->info.id);
  }
  ApprovalOutcome out = e->outcome;
  lk.unlock();

  if (metrics_)
    metrics_->count_approval(out.approved           ? "approved"
                             : out.who == "timeout" ? "timeout"
                                                    : "denied");
  if (audit_) {
    AuditEvent ev;
    ev.session = req.session;
    ev.type = "approval";
    ev.operation = req.operation;
    ev.target = req.target;
    ev.decision = "approve";
    ev.effective = out.approved ? "allow" : "deny";
    ev.rule = req.rule;
    std::string by = out.who.empty() || out.who == "timeout" ? "" : " by " + out.who;
    ev.message = (req.kind.empty() ? "" : req.kind + " ") + req.operation + ": " +
                 (out.approved ? "approved" : "denied") + by +
                 (out.reason.empty() ? "" : ": " + out.reason) +
                 (e->info.id.empty() ? "" : " [" + e->info.id + "]");
    ev.source = "server";
    audit_->record(std::move(ev));
  }
  return out;
}

std::vector<PendingApproval> ApprovalQueue::pending() const {
  std::lock_guard<std::mutex> lk(mu_);
  std::vector<PendingApproval> v;
  for (const auto& [id, e] : entries_)
    if (!e->done) v.push_back(e->info);
  return v;
}

size_t ApprovalQueue::pending_count() const {
  std::lock_guard<std::mutex> lk(mu_);
  size_t n = 0;
  for (const auto& [id, e] : entries_) n += e->done ? 0 : 1;
  return n;
}

bool ApprovalQueue::resolve(const std::string& id, bool approve, const std::string& who,
                            const std::string& reason) {
  std::lock_guard<std::mutex> lk(mu_);
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->done) return false;
  it->second->done = true;
  it->second->outcome = {approve, who, reason};
  cv_.notify_all();
  return true;
}

void ApprovalQueue::shutdown() {
  std::lock_guard<std::mutex> lk(mu_);
  shutdown_ = true;
  cv_.notify_all();
}

}  // namespace agentsh
