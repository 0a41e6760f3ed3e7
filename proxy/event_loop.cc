#include "proxy/event_loop.h"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace agentsh::proxy {
namespace {
// Tags the wake-up eventfd in epoll data (handlers are real pointers, never this value).
EventLoop::Handler* const kWakeTag = nullptr;
constexpr int kMaxEvents = 256;
}  // namespace

std::unique_ptr<EventLoop> EventLoop::create(std::string* error) {
  std::unique_ptr<EventLoop> loop(new EventLoop());
  loop->epfd_.reset(epoll_create1(EPOLL_CLOEXEC));
  if (!loop->epfd_) {
    *error = std::string("epoll_create1: ") + std::strerror(errno);
    return nullptr;
  }
  loop->wakefd_.reset(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!loop->wakefd_) {
    *error = std::string("eventfd: ") + std::strerror(errno);
    return nullptr;
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = kWakeTag;
  if (epoll_ctl(loop->epfd_.get(), EPOLL_CTL_ADD, loop->wakefd_.get(), &ev) != 0) {
    *error = std::string("epoll_ctl(eventfd): ") + std::strerror(errno);
    return nullptr;
  }
  return loop;
}

EventLoop::~EventLoop() = default;

bool EventLoop::add(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
}

bool EventLoop::modify(int fd, uint32_t events, Handler* handler) {
  epoll_event ev{};
  ev.events = events;
  ev.data.ptr = handler;
  return epoll_ctl(epfd_.get(), EPOLL_CTL_MOD, fd, &ev) == 0;
}

void EventLoop::remove(int fd) {
  epoll_ctl(epfd_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

EventLoop::TimerId EventLoop::run_after(std::chrono::milliseconds delay, Task fn) {
  const TimerId id = next_timer_++;
  const auto when = Clock::now() + delay;
  timers_.emplace(std::make_pair(when, id), std::move(fn));
  timer_index_.emplace(id, when);
  return id;
}

void EventLoop::cancel(TimerId id) {
  auto it = timer_index_.find(id);
  if (it == timer_index_.end()) return;
  timers_.erase(std::make_pair(it->second, id));
  timer_index_.erase(it);
}

void EventLoop::defer(Task fn) {
  deferred_.push_back(std::move(fn));
}

void EventLoop::post(Task fn) {
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    posted_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  // A full eventfd counter still wakes the loop; nothing to do on failure.
  [[maybe_unused]] ssize_t n = write(wakefd_.get(), &one, sizeof(one));
}

void EventLoop::request_stop() {
  post([this] { stop_ = true; });
}

bool EventLoop::on_loop_thread() const {
  return thread_id_.load() == static_cast<uintptr_t>(pthread_self());
}

void EventLoop::drain_posted() {
  uint64_t v;
  [[maybe_unused]] ssize_t n = read(wakefd_.get(), &v, sizeof(v));
  std::vector<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    tasks.swap(posted_);
  }
  for (auto& t : tasks) t();
}

void EventLoop::run_timers() {
  while (!timers_.empty()) {
    auto it = timers_.begin();
    if (it->first.first > now_) break;
    Task fn = std::move(it->second);
    timer_index_.erase(it->first.second);
    timers_.erase(it);
    fn();
  }
}

void EventLoop::run_deferred() {
  // Deferred tasks may defer more (a close that closes its peer); run until quiet.
  while (!deferred_.empty()) {
    std::vector<Task> tasks;
    tasks.swap(deferred_);
    for (auto& t : tasks) t();
  }
}

void EventLoop::run_leftovers() {
  std::vector<Task> dropped;
  {
    std::lock_guard<std::mutex> lock(post_mu_);
    dropped.swap(posted_);  // work for a loop that no longer runs: dropped, not run
  }
  dropped.clear();
  run_deferred();
}

void EventLoop::run() {
  thread_id_.store(static_cast<uintptr_t>(pthread_self()));
  epoll_event events[kMaxEvents];
  while (!stop_) {
    int timeout_ms = -1;
    if (!timers_.empty()) {
      auto delta = timers_.begin()->first.first - Clock::now();
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(delta).count();
      timeout_ms = ms <= 0 ? 0 : static_cast<int>(std::min<int64_t>(ms, 60000));
    }
    int n = epoll_wait(epfd_.get(), events, kMaxEvents, timeout_ms);
    now_ = Clock::now();
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      auto* h = static_cast<Handler*>(events[i].data.ptr);
      if (h == kWakeTag) {
        drain_posted();
      } else {
        h->on_io(events[i].events);
      }
    }
    run_deferred();
    run_timers();
    run_deferred();
  }
  thread_id_.store(0);
}

}  // namespace agentsh::proxy
