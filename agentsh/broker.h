// The supervisor's broker: a unix stream socket where hooked processes ask for exec
// decisions and approvals and leave audit records (protocol: common/broker_protocol.h).
//
// One thread serves every connection through epoll: it accepts, reads each request
// without blocking, and answers exec checks and audit records inline — no thread per
// connection, no hand-off, so an exec in hook-only mode costs one socket round trip and
// one policy check. Only requests that may wait for a person go to a short-lived thread
// of their own: approvals, and exec checks the non-blocking handler declines (a command
// rule that asks). A slow or hostile client cannot stall the others: reads never block,
// a connection that has not sent a whole request within 5 s is closed, and at most 256
// connections are open at a time (more are closed at once: the client fails closed).
// Small requests may also arrive as one datagram with a reply channel attached
// (<path>.d, see broker_protocol.h): one wake-up per request instead of two. Requests
// that want no reply (kExecAudit, kAudit) may come there with no channel at all; those
// still queued when the broker stops are served before it returns, so a record the
// hook could hand over is never dropped at the end of a run.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
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
    // May block (asks a person). Runs on a thread of its own.
    std::function<broker::Reply(const ExecCheckRequest&)> exec_check;
    // Optional fast path, called on the serving thread: must not block; returns nullopt
    // (having done nothing, recorded nothing) when the answer needs exec_check.
    std::function<std::optional<broker::Reply>(const ExecCheckRequest&)> exec_check_nonblocking;
    std::function<void(const BrokerAudit&)> audit;  // called on the serving thread
    // An exec the hook allowed in-process (kExecAudit): record it. Serving thread.
    std::function<void(const ExecCheckRequest&)> exec_audit;
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

  // Requests served so far, by kind (AGENTSH_BROKER_STATS=1 prints them after a run).
  struct Stats {
    uint64_t exec_checks = 0, exec_audits = 0, audits = 0, approvals = 0;
  };
  Stats stats() const;

  // Helpers to fill a Reply.
  static broker::Reply allow();
  static broker::Reply deny(int err, const std::string& rule, const std::string& message);

 private:
  struct Conn;
  void loop();
  void accept_one(std::vector<Conn*>& conns);
  // Serves one request from the datagram door (broker_protocol.h kDgramSuffix). False
  // when there was nothing to read.
  bool recv_dgram();
  // Reads what `c` has to give; true when its request is complete.
  static bool read_some(Conn& c, bool* failed);
  // Answers a complete request; takes ownership of `c` (closes it or hands it on).
  void dispatch(Conn* c);
  void serve_blocking(Conn* c);

  std::string path_;
  Handlers handlers_;
  ScopedFd listen_fd_;
  ScopedFd dgram_fd_;  // the datagram door; empty when the path would be too long
  std::string dgram_path_;
  ScopedFd epoll_fd_;
  ScopedFd wake_fd_;  // eventfd: stop() wakes the loop
  std::thread thread_;
  std::atomic<int> active_{0};  // requests handed to threads of their own
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> n_exec_checks_{0}, n_exec_audits_{0}, n_audits_{0}, n_approvals_{0};
};

}  // namespace agentsh
