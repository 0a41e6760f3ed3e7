#include "tracer/audit_queue.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <chrono>

namespace agentsh::tracer {

namespace {
constexpr std::chrono::milliseconds kCoalesce{3};
}  // namespace

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
      bool was_empty = q_.empty();
      q_.push_back(std::move(e));
      lk.unlock();
      // The thread drains everything it finds: only the first record wakes it.
      if (was_empty) cv_.notify_one();
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
    cv_.wait(lk, [&] { return stopping_ || !q_.empty(); });
    if (q_.empty()) return;  // stopping, nothing left
    std::deque<AuditEvent> batch;
    batch.swap(q_);
    lk.unlock();
    for (const auto& e : batch) fn_(e);
    lk.lock();
    // Coalesce: let records gather for a moment before the next drain. A shell loop
    // execs every ~0.5 ms and every exec is audited; waking this thread (and the
    // integrator's store writer behind it) once per record costs two context switches
    // per exec on the tree's critical path. stop() cuts the pause short.
    cv_.wait_for(lk, kCoalesce, [&] { return stopping_; });
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
