// EventLoop: one epoll loop on one thread, with timers and a cross-thread task queue.
//
// Threading contract: everything but post() and request_stop() must be called on the
// loop thread (the one inside run()). Handlers and timer callbacks run on that thread.
// Level-triggered epoll: a handler that does not drain its fd is simply called again.
//
// Lifetime contract: a Handler must stay alive until it is removed *and* the current
// iteration ends — objects that close while events may still be queued for them hand
// themselves to defer() and are destroyed after the batch (see Connection::close).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/scoped_fd.h"

namespace agentsh::proxy {

class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;
  using Task = std::function<void()>;
  using TimerId = uint64_t;

  class Handler {
   public:
    virtual void on_io(uint32_t events) = 0;

   protected:
    ~Handler() = default;
  };

  static std::unique_ptr<EventLoop> create(std::string* error);
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // epoll registration (EPOLLIN / EPOLLOUT / EPOLLRDHUP ...). False on failure (errno set).
  bool add(int fd, uint32_t events, Handler* handler);
  bool modify(int fd, uint32_t events, Handler* handler);
  void remove(int fd);

  // Runs `fn` once, `delay` from now. Timer callbacks may add and cancel timers.
  TimerId run_after(std::chrono::milliseconds delay, Task fn);
  void cancel(TimerId id);
  // Runs `fn` after the current batch of events (loop thread only).
  void defer(Task fn);
  // Runs `fn` on the loop thread soon. Any thread.
  void post(Task fn);

  // Runs until request_stop(). Returns after finishing the current iteration.
  void run();
  void request_stop();  // any thread
  // After run() has returned: drops posted tasks and runs deferred ones, so that objects
  // handed to defer() are destroyed while their owners still exist.
  void run_leftovers();
  bool on_loop_thread() const;
  // The time at the start of the current iteration (cheap; good enough for timeouts).
  Clock::time_point now() const { return now_; }

 private:
  EventLoop() = default;
  void drain_posted();
  void run_timers();
  void run_deferred();

  ScopedFd epfd_, wakefd_;
  Clock::time_point now_ = Clock::now();
  std::map<std::pair<Clock::time_point, TimerId>, Task> timers_;
  std::unordered_map<TimerId, Clock::time_point> timer_index_;
  TimerId next_timer_ = 1;
  std::vector<Task> deferred_;
  std::mutex post_mu_;
  std::vector<Task> posted_;
  bool stop_ = false;  // loop thread only; request_stop posts a task that sets it
  std::atomic_uintptr_t thread_id_{0};
};

}  // namespace agentsh::proxy
