#include "tracer/audit_queue.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

namespace agentsh::tracer {

AuditQueue::~AuditQueue() {
  stop();
}

bool AuditQueue::start(Fn fn) {
  std::lock_guard lk(mu_);
  fn_ = std::move(fn);
  if (!fn_ || running_) return running_;
  // The thread inherits a blocked signal mask: signals belong to the integrator's threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, &old);
  try {
    thread_ = std::thread([this] { run(); });
    running_ = true;
  } catch (...) {
    running_ = false;
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return running_;
}

void AuditQueue::push(AuditEvent e) {
  {
    std::unique_lock lk(mu_);
    if (running_ && !stopping_) {
      q_.push_back(std::move(e));
      // A lingering thread collects the record at its deadline: no wake-up needed.
      bool wake = idle_;
      idle_ = false;
      lk.unlock();
      if (wake) cv_.notify_one();
      return;
    }
  }
  if (fn_) fn_(e);
}

void AuditQueue::run() {
  // SCHED_BATCH: a wake-up of this thread never preempts the worker that queued the
  // record (otherwise the redaction runs first, on the worker's CPU, and nothing is
  // gained). Records are delivered when a CPU has time, and all at the latest by stop().
  sched_param sp{};
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &sp);
  std::unique_lock lk(mu_);
  for (;;) {
    if (q_.empty() && !stopping_) {
      idle_ = true;
      cv_.wait(lk, [&] { return stopping_ || !q_.empty(); });
      idle_ = false;
    }
    if (q_.empty()) return;  // stopping, nothing left
    std::deque<AuditEvent> batch;
    batch.swap(q_);
    lk.unlock();
    for (const auto& e : batch) fn_(e);
    lk.lock();
    // Linger: what the tree records in the next moment is collected in one go, and its
    // pushes make no syscall. Only stop() ends the lingering early.
    if (!stopping_) cv_.wait_for(lk, kLinger, [&] { return stopping_; });
  }
}

void AuditQueue::stop() {
  {
    std::lock_guard lk(mu_);
    if (!running_ || stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lk(mu_);
  running_ = false;
}

}  // namespace agentsh::tracer
