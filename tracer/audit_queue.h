// Takes audit records off the notification path: the integrator's audit callback (DLP
// redaction, the store's queue) runs on one thread of its own while the caller whose
// call produced the record is already answered. Every exec is audited, so before this
// each exec waited for a redaction of its command line (a 100 KiB xargs command: 0.1–5 ms).
//
// Records keep their order. stop() delivers everything queued before it returns; a
// record pushed after stop() (a worker finishing a slow call late) is delivered
// synchronously on the caller's thread, as before.
//
// Wake-ups: after a delivery the thread lingers for kLinger and takes whatever arrived
// meanwhile, so a busy tree (one record per exec) pays no futex wake per record on the
// worker that pushes it; only the first record after a quiet period wakes the thread.
// A record is delivered at most kLinger (plus the callback's own time) after its push.
//
// Thread-safety: push() from any thread; start()/stop() from the supervisor's thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "agentsh/audit_event.h"

namespace agentsh::tracer {

class AuditQueue {
 public:
  using Fn = std::function<void(const AuditEvent&)>;
  AuditQueue() = default;
  ~AuditQueue();
  AuditQueue(const AuditQueue&) = delete;
  AuditQueue& operator=(const AuditQueue&) = delete;

  // Starts the delivery thread. False if no thread could be started (then push()
  // delivers synchronously).
  bool start(Fn fn);
  void push(AuditEvent e);
  // Delivers what is queued and ends the thread.
  void stop();

  static constexpr std::chrono::milliseconds kLinger{5};

 private:
  void run();
  Fn fn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<AuditEvent> q_;
  bool running_ = false, stopping_ = false;
  bool idle_ = false;  // the thread waits without a deadline: the next push wakes it
  std::thread thread_;
};

}  // namespace agentsh::tracer
