// The server's pending approvals: a supervisor's request waits here (a long poll on the
// internal endpoint) until a person answers through the API, or its timeout passes.
//
// Every request ends in exactly one audit record (type "approval"): operation and target
// of what was asked, rule, decision "approve", effective allow|deny, and a message saying
// who answered and why ("approved by cli:root from 127.0.0.1: looks fine", "denied: no
// answer within 300s"). The record's timestamp is when it was answered.
//
// Thread-safety: all methods may be called from any thread. submit_and_wait() blocks the
// calling thread until answered, timed out, or shutdown() (which denies everything still
// waiting with "server shutting down").
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agentsh/approval_client.h"
#include "agentsh/audit_store.h"
#include "agentsh/metrics.h"

namespace agentsh {

struct PendingApproval {
  std::string id;  // "appr-" + 16 hex digits
  ApprovalRequest req;
  std::string requester;  // where the request came from (remote address)
  int64_t created_us = 0, expires_us = 0;
};

class ApprovalQueue {
 public:
  ApprovalQueue(AuditStore* audit, Metrics* metrics) : audit_(audit), metrics_(metrics) {}

  // Queues `req` and waits up to timeout_ms for an answer. `on_queued` (optional) is
  // called with the id once the request is visible to pending().
  ApprovalOutcome submit_and_wait(const ApprovalRequest& req, int64_t timeout_ms,
                                  const std::string& requester,
                                  const std::function<void(const std::string&)>& on_queued = {});
  std::vector<PendingApproval> pending() const;
  size_t pending_count() const;
  // Answers a pending request. False if there is no such pending id (unknown, already
  // answered, or timed out).
  bool resolve(const std::string& id, bool approve, const std::string& who,
               const std::string& reason);
  void shutdown();

 private:
  struct Entry {
    PendingApproval info;
    bool done = false;
    ApprovalOutcome outcome;
  };

  AuditStore* audit_;
  Metrics* metrics_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  bool shutdown_ = false;
};

}  // namespace agentsh
