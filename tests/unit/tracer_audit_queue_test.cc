// AuditQueue: records reach the callback in push order, on the delivery thread, without
// a stop() while the tree runs (lingering never strands a record), all of them by the
// time stop() returns, and synchronously after it.
#include "tracer/audit_queue.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentsh::tracer {
namespace {

struct Sink {
  std::mutex mu;
  std::vector<std::string> got;
  std::vector<std::thread::id> threads;
  size_t size() {
    std::lock_guard lk(mu);
    return got.size();
  }
};

AuditEvent event(const std::string& target) {
  AuditEvent e;
  e.target = target;
  return e;
}

// Waits (up to a generous bound, never asserted as a speed) for `n` deliveries.
bool wait_for(Sink& s, size_t n) {
  for (int i = 0; i < 10000 && s.size() < n; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return s.size() >= n;
}

TEST(AuditQueueTest, DeliversInOrderWhileRunningAndAllByStop) {
  Sink s;
  AuditQueue q;
  ASSERT_TRUE(q.start([&](const AuditEvent& e) {
    std::lock_guard lk(s.mu);
    s.got.push_back(e.target);
    s.threads.push_back(std::this_thread::get_id());
  }));
  // One record after a quiet period: the idle thread is woken for it.
  q.push(event("first"));
  ASSERT_TRUE(wait_for(s, 1));
  // A burst while the thread lingers: collected without a wake-up, none lost.
  for (int i = 0; i < 100; ++i) q.push(event("r" + std::to_string(i)));
  ASSERT_TRUE(wait_for(s, 101));
  // Quiet again, then one more: the thread went idle and must be woken again.
  std::this_thread::sleep_for(AuditQueue::kLinger * 3);
  q.push(event("late"));
  ASSERT_TRUE(wait_for(s, 102));
  for (int i = 0; i < 50; ++i) q.push(event("s" + std::to_string(i)));
  q.stop();
  ASSERT_EQ(s.size(), 152u);  // stop() returned: everything delivered
  EXPECT_EQ(s.got[0], "first");
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.got[1 + i], "r" + std::to_string(i));
  EXPECT_EQ(s.got[101], "late");
  for (int i = 0; i < 50; ++i) EXPECT_EQ(s.got[102 + i], "s" + std::to_string(i));
  for (auto id : s.threads) EXPECT_NE(id, std::this_thread::get_id());

  // After stop(): delivered on the pushing thread before push() returns.
  q.push(event("after"));
  ASSERT_EQ(s.size(), 153u);
  EXPECT_EQ(s.got.back(), "after");
  EXPECT_EQ(s.threads.back(), std::this_thread::get_id());
}

TEST(AuditQueueTest, ManyPushersLoseNothing) {
  std::atomic<int> n{0};
  AuditQueue q;
  ASSERT_TRUE(q.start([&](const AuditEvent&) { n.fetch_add(1); }));
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) q.push(event("x"));
    });
  for (auto& t : ts) t.join();
  q.stop();
  EXPECT_EQ(n.load(), 8000);
}

}  // namespace
}  // namespace agentsh::tracer
