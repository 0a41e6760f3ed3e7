// Thread-per-connection task queue for cpp-httplib.
//
// httplib hands every accepted connection to a TaskQueue. Its stock ThreadPool has a
// fixed number of workers (8 here), so eight slow clients — or eight long-lived event
// streams / approval long-polls — would stall every other request. This queue starts a
// thread per connection instead, up to `max_threads`; only beyond that do connections
// wait in a FIFO. A slow client therefore costs one thread and never delays others; the
// read/write timeouts set on the server bound how long it can hold that thread.
//
// Thread-safety: enqueue() may be called from any thread (httplib calls it from its
// accept loop). shutdown() blocks until every started and queued task has run.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

#include "agentsh/http_server_lib.h"

namespace agentsh {

class HttpServerThreads : public httplib::TaskQueue {
 public:
  explicit HttpServerThreads(size_t max_threads) : max_threads_(max_threads ? max_threads : 1) {}
  ~HttpServerThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

  size_t running() const;

 private:
  void worker(std::function<void()> fn);

  const size_t max_threads_;
  mutable std::mutex mu_;
  std::condition_variable idle_;
  std::deque<std::function<void()>> queued_;
  size_t running_ = 0;
};

}  // namespace agentsh
