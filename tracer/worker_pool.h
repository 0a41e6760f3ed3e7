// The threads that answer seccomp notifications.
//
// Elastic: a worker that takes a notification while no other worker is waiting starts
// another one first, so a slow answer (an approval prompt, a blocking connect, a FIFO
// open) never stalls the rest of the tree; a surplus worker leaves after a few idle
// seconds (not sooner: thread churn costs more than an idle thread). Each worker
// has its own fs_struct (unshare(CLONE_FS)) for per-call umask, blocks every signal (they
// belong to the integrator's threads), and enters the tree's filesystem view if it
// differs from the supervisor's.
//
// Lifetime: workers hold the shared state; stop() asks them to leave and waits a bounded
// time — a worker stuck in a slow call finishes on its own and then exits.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "common/scoped_fd.h"
#include "tracer/notification_handler.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class WorkerPool {
 public:
  WorkerPool(std::shared_ptr<SupervisorContext> ctx, std::shared_ptr<NotificationHandler> h);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool start(std::string* error);
  void stop();

 private:
  struct Shared;
  static void worker_main(std::shared_ptr<Shared> s);
  static bool spawn(const std::shared_ptr<Shared>& s);
  std::shared_ptr<Shared> s_;
};

}  // namespace agentsh::tracer
