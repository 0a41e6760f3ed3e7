// Server metrics in the Prometheus text exposition format (version 0.0.4).
//
// Counters are fed from two places: the API handlers (HTTP responses, API execs,
// approvals) and a follower of the audit store (every decision any agentsh process
// recorded, by type, policy decision and outcome). Gauges (sessions, pending approvals)
// are passed in at render time. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "agentsh/audit_event.h"

namespace agentsh {

class Metrics {
 public:
  void count_http(int status);
  // result: ok | failed (non-zero exit) | blocked (126 or a denial) | timeout | error
  void count_api_exec(const std::string& result);
  // outcome: approved | denied | timeout
  void count_approval(const std::string& outcome);
  void count_session(const std::string& what);  // created | destroyed | expired
  void observe_audit(const AuditEvent& ev);

  std::string render(size_t sessions, size_t approvals_pending) const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, uint64_t> http_, api_exec_, approvals_, sessions_;
  std::map<std::tuple<std::string, std::string, std::string>, uint64_t> decisions_;
  uint64_t commands_ = 0;
};

}  // namespace agentsh
