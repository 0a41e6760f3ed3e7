#include "proxy/name_map.h"

#include <gtest/gtest.h>

#include <thread>

namespace agentsh::proxy {
namespace {

using std::chrono::seconds;

IpAddress ip(const char* s) {
  IpAddress a;
  EXPECT_TRUE(IpAddress::parse(s, &a)) << s;
  return a;
}

TEST(ProxyNameMap, RecordLookupAndTtl) {
  NameMap m(100, seconds(30), seconds(3600));
  const auto t0 = NameMap::Clock::time_point() + seconds(1000);
  m.record(ip("198.18.0.10"), "registry.npm.example", 300, t0);
  m.record(ip("198.18.0.10"), "cdn.example", 5, t0);  // TTL 5 → floor 30 s
  auto names = m.lookup(ip("198.18.0.10"), t0);
  ASSERT_EQ(names.size(), 2u);
  EXPECT_EQ(names[0], "cdn.example");  // most recent first
  EXPECT_EQ(names[1], "registry.npm.example");
  // The v4-mapped spelling is the same address.
  EXPECT_TRUE(m.contains(ip("::ffff:198.18.0.10"), "cdn.example", t0 + seconds(29)));
  EXPECT_FALSE(m.contains(ip("198.18.0.10"), "cdn.example", t0 + seconds(30)));
  EXPECT_TRUE(m.contains(ip("198.18.0.10"), "registry.npm.example", t0 + seconds(299)));
  EXPECT_TRUE(m.lookup(ip("198.18.0.10"), t0 + seconds(300)).empty());
  EXPECT_EQ(m.size(), 0u);  // fully expired entries are dropped on lookup
  // The ceiling: a TTL of a week lives an hour.
  m.record(ip("198.18.0.11"), "long.example", 7 * 86400, t0);
  EXPECT_TRUE(m.contains(ip("198.18.0.11"), "long.example", t0 + seconds(3599)));
  EXPECT_FALSE(m.contains(ip("198.18.0.11"), "long.example", t0 + seconds(3600)));
}

TEST(ProxyNameMap, BoundedByCapacityAndNamesPerAddress) {
  NameMap m(3);
  const auto t0 = NameMap::Clock::time_point() + seconds(10);
  m.record(ip("10.0.0.1"), "a.example", 60, t0);
  m.record(ip("10.0.0.2"), "b.example", 60, t0);
  m.record(ip("10.0.0.3"), "c.example", 60, t0);
  m.record(ip("10.0.0.1"), "a.example", 60, t0);  // refreshes 10.0.0.1
  m.record(ip("10.0.0.4"), "d.example", 60, t0);  // evicts the oldest: 10.0.0.2
  EXPECT_EQ(m.size(), 3u);
  EXPECT_TRUE(m.lookup(ip("10.0.0.2"), t0).empty());
  EXPECT_FALSE(m.lookup(ip("10.0.0.1"), t0).empty());
  for (int i = 0; i < 10; ++i)
    m.record(ip("10.0.0.4"), "n" + std::to_string(i) + ".example", 60, t0);
  auto names = m.lookup(ip("10.0.0.4"), t0);
  ASSERT_EQ(names.size(), NameMap::kNamesPerAddress);
  EXPECT_EQ(names[0], "n9.example");
}

TEST(ProxyNameMap, ConcurrentUse) {
  NameMap m(1000);
  const auto t0 = NameMap::Clock::time_point() + seconds(10);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m, t, t0] {
      for (int i = 0; i < 5000; ++i) {
        IpAddress a = IpAddress::v4(0x0a000000u + static_cast<uint32_t>((i * 7 + t) % 2000));
        m.record(a, "h" + std::to_string(i % 50) + ".example", 60, t0);
        m.lookup(a, t0);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(m.size(), 1000u);
  EXPECT_GT(m.size(), 0u);
}

}  // namespace
}  // namespace agentsh::proxy
