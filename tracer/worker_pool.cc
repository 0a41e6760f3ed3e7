#include "tracer/worker_pool.h"

#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "tracer/creds_scope.h"

namespace agentsh::tracer {

namespace {
constexpr int kMaxWorkers = 64;
constexpr int kMinWorkers = 1;
// A surplus worker leaves after this long without a notification: the pool grows to the
// concurrency the tree needs and stays there instead of churning threads.
constexpr int kSurplusIdleMs = 5000;
}  // namespace

struct WorkerPool::Shared {
  std::shared_ptr<SupervisorContext> ctx;
  std::shared_ptr<NotificationHandler> handler;
  ScopedFd stop_fd;
  std::atomic<int> idle{0};
  std::atomic<int> total{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  std::condition_variable cv;
};

WorkerPool::WorkerPool(std::shared_ptr<SupervisorContext> ctx,
                       std::shared_ptr<NotificationHandler> h)
    : s_(std::make_shared<Shared>()) {
  s_->ctx = std::move(ctx);
  s_->handler = std::move(h);
}

WorkerPool::~WorkerPool() {
  stop();
}

bool WorkerPool::start(std::string* error) {
  s_->stop_fd.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!s_->stop_fd) {
    *error = "tracer: eventfd failed";
    return false;
  }
  if (!spawn(s_)) {
    *error = "tracer: cannot start a notification worker thread";
    return false;
  }
  return true;
}

bool WorkerPool::spawn(const std::shared_ptr<Shared>& s) {
  if (s->total.fetch_add(1) >= kMaxWorkers) {
    s->total.fetch_sub(1);
    return false;
  }
  try {
    std::thread(worker_main, s).detach();
  } catch (...) {
    s->total.fetch_sub(1);
    return false;
  }
  return true;
}

void WorkerPool::worker_main(std::shared_ptr<Shared> s) {
  sigset_t all;
  sigfillset(&all);
  pthread_sigmask(SIG_BLOCK, &all, nullptr);
  SupervisorContext& ctx = *s->ctx;
  bool ok = unshare(CLONE_FS) == 0;
  if (ok && ctx.view_mnt_ns && setns(ctx.view_mnt_ns.get(), CLONE_NEWNS) != 0) ok = false;
  if (ok && ctx.view_root && (fchdir(ctx.view_root.get()) != 0 || chroot(".") != 0)) ok = false;
  if (!ok) {
    // Without a private fs_struct an emulated create would change the whole
    // supervisor's umask; without the tree's view paths would mean something else.
    // Refuse to serve: the tree's governed calls then wait for a healthy worker, and if
    // there is none the supervisor kills the tree (see Supervisor::run).
    fprintf(stderr, "agentsh: tracer worker could not set up (%s)\n", strerror(errno));
    s->failed = true;
    s->total.fetch_sub(1);
    s->cv.notify_all();
    return;
  }
  set_thread_umask(ctx.self_creds.umask);
  // One epoll instance per worker, the listener added EPOLLEXCLUSIVE: a notification
  // wakes one idle worker, not all of them (a thundering herd costs a context switch per
  // idle worker per call).
  ScopedFd ep(epoll_create1(EPOLL_CLOEXEC));
  epoll_event lev{}, sev{};
  lev.events = EPOLLIN | EPOLLEXCLUSIVE;
  lev.data.u32 = 0;
  sev.events = EPOLLIN;
  sev.data.u32 = 1;
  if (!ep || epoll_ctl(ep.get(), EPOLL_CTL_ADD, ctx.listener.fd(), &lev) != 0 ||
      epoll_ctl(ep.get(), EPOLL_CTL_ADD, s->stop_fd.get(), &sev) != 0) {
    fprintf(stderr, "agentsh: tracer worker: epoll failed (%s)\n", strerror(errno));
    s->failed = true;
    s->total.fetch_sub(1);
    s->cv.notify_all();
    return;
  }
  for (;;) {
    s->idle.fetch_add(1);
    epoll_event ev[2];
    int r = epoll_wait(ep.get(), ev, 2, s->total.load() > kMinWorkers ? kSurplusIdleMs : -1);
    s->idle.fetch_sub(1);
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (r == 0) {
      if (s->total.load() > kMinWorkers) break;
      continue;
    }
    bool stop = false, ready = false;
    for (int i = 0; i < r; ++i) {
      if (ev[i].data.u32 == 1) stop = true;
      if (ev[i].data.u32 == 0) {
        if (ev[i].events & (EPOLLHUP | EPOLLERR)) stop = true;  // no filter left
        if (ev[i].events & EPOLLIN) ready = true;
      }
    }
    if (stop) break;
    if (!ready) continue;
    seccomp_notif n;
    if (ctx.listener.receive(&n) < 0) continue;  // taken by another worker, or gone
    if (s->idle.load() == 0) spawn(s);
    s->handler->handle(n);
  }
  s->total.fetch_sub(1);
  s->cv.notify_all();
}

void WorkerPool::stop() {
  if (!s_ || !s_->stop_fd) return;
  uint64_t one = 1;
  ssize_t w = write(s_->stop_fd.get(), &one, sizeof one);
  (void)w;
  std::unique_lock lock(s_->mu);
  s_->cv.wait_for(lock, std::chrono::seconds(2), [&] { return s_->total.load() == 0; });
}

}  // namespace agentsh::tracer
