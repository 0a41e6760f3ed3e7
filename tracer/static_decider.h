// A Decider from a fixed list of deny rules; everything else is allowed. The tests use
// it as "the policy" (it is what the tracer's corner-case suite runs against), and it
// documents by example what a Decider is asked. Not a policy engine: no globs, no
// approvals.
//
// Thread-safety: configure before use; the decision methods are const-safe and
// thread-safe (counters are atomic).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "tracer/decider.h"

namespace agentsh::tracer {

class StaticDecider : public Decider {
 public:
  // Deny exec when the basename of argv[0] or of the resolved path equals `name`.
  StaticDecider& deny_command(std::string rule, std::string name);
  // Deny file operations in `ops` on `dir` and everything below it.
  StaticDecider& deny_path(std::string rule, std::string dir, policy::OpMask ops);
  // Deletes (delete, rmdir) below `dir` become moves into `trash`.
  StaticDecider& soft_delete_path(std::string rule, std::string dir, std::string trash);
  // Deny connections to `ip` (any port when `port` is 0).
  StaticDecider& deny_net(std::string rule, std::string ip, uint16_t port = 0);

  Verdict exec(const std::vector<std::string>& argv, std::string_view path, bool nested) override;
  // How many exec questions were asked with nested == false.
  uint64_t direct_exec_calls() const { return direct_exec_calls_; }
  Verdict file(std::string_view path, policy::FileOp op) override;
  bool file_silently_allowed(std::string_view path, policy::FileOp op) override;
  Verdict net(std::string_view ip, uint16_t port) override;

  uint64_t exec_calls() const { return exec_calls_; }
  uint64_t file_calls() const { return file_calls_; }
  uint64_t net_calls() const { return net_calls_; }

 private:
  struct Rule {
    std::string name, subject;
    policy::OpMask ops = 0;
    uint16_t port = 0;
  };
  std::vector<Rule> commands_, paths_, nets_, soft_;
  std::string trash_;
  std::atomic<uint64_t> exec_calls_{0}, file_calls_{0}, net_calls_{0}, direct_exec_calls_{0};
};

}  // namespace agentsh::tracer
