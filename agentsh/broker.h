// The supervisor's broker: a unix stream socket where hooked processes ask for exec
// decisions and approvals and leave audit records (protocol: common/broker_protocol.h).
// One accept thread; each connection is served on its own short-lived thread so a slow
// or hostile client cannot stall the others (a bounded number at a time; reads time out).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "common/broker_protocol.h"
#include "common/scoped_fd.h"

namespace agentsh {

struct ExecCheckRequest {
  int pid = 0;
  std::string resolved;  // executable path as resolved by the caller
  std::string cwd;
  std::vector<std::string> argv;
};

struct BrokerAudit {
  int pid = 0;
  int err = 0;
  std::string operation, target, rule, decision, message;
};

struct ApprovalAsk {
  int pid = 0;
  std::string kind, operation, target, rule, message;
};

class Broker {
 public:
  struct Handlers {
    std::function<broker::Reply(const ExecCheckRequest&)> exec_check;
    std::function<void(const BrokerAudit&)> audit;
    std::function<broker::Reply(const ApprovalAsk&)> approval;  // may block
  };
  Broker() = default;
  ~Broker();  // stops and joins
  Broker(const Broker&) = delete;
  Broker& operator=(const Broker&) = delete;

  // Binds `path` (mode 0666: processes of other uids in the tree must reach it; the
  // directory's mode decides who can) and starts serving.
  bool start(const std::string& path, Handlers handlers, std::string* error);
  void stop();
  const std::string& path() const { return path_; }

  // Helpers to fill a Reply.
  static broker::Reply allow();
  static broker::Reply deny(int err, const std::string& rule, const std::string& message);

 private:
  void accept_loop();
  void serve(ScopedFd conn);

  std::string path_;
  Handlers handlers_;
  ScopedFd listen_fd_;
  ScopedFd wake_r_, wake_w_;
  std::thread thread_;
  std::atomic<int> active_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace agentsh
