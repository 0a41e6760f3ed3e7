#include "agentsh/http_server_threads.h"

#include <cstdio>
#include <thread>

namespace agentsh {

void HttpServerThreads::enqueue(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mu_);
  if (running_ >= max_threads_) {
    queued_.push_back(std::move(fn));
    return;
  }
  ++running_;
  lock.unlock();
  try {
    std::thread(&HttpServerThreads::worker, this, fn).detach();  // a copy: fn survives a throw
  } catch (const std::system_error& e) {
    // No thread to be had (resource limits): serve it on the accept thread rather than
    // drop the connection (httplib closes the socket inside fn).
    fprintf(stderr, "agentsh server: cannot start a connection thread (%s); serving inline\n",
            e.what());
    lock.lock();
    --running_;
    idle_.notify_all();
    lock.unlock();
    fn();
  }
}

void HttpServerThreads::worker(std::function<void()> fn) {
  for (;;) {
    if (fn) fn();
    std::lock_guard<std::mutex> lock(mu_);
    if (queued_.empty()) {
      --running_;
      idle_.notify_all();
      return;  // `this` is not touched after the lock is released
    }
    fn = std::move(queued_.front());
    queued_.pop_front();
  }
}

void HttpServerThreads::shutdown() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [&] { return running_ == 0 && queued_.empty(); });
}

size_t HttpServerThreads::running() const {
  std::lock_guard<std::mutex> lock(mu_);
  return running_;
}

}  // namespace agentsh
