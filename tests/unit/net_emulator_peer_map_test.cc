// The tracer's record of redirected sockets' original destinations.
#include "tracer/net_emulator_peer_map.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>

namespace agentsh::tracer {
namespace {

sockaddr_storage v4(const char* ip, uint16_t port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  inet_pton(AF_INET, ip, &a->sin_addr);
  return ss;
}

TEST(NetEmulatorPeerMap, KeepsEachFamilyWithItsLength) {
  NetEmulatorPeerMap m;
  m.put(7, v4("10.1.2.3", 22));
  sockaddr_storage v6{};
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&v6);
  a6->sin6_family = AF_INET6;
  a6->sin6_port = htons(443);
  a6->sin6_flowinfo = htonl(0x12345);
  a6->sin6_scope_id = 3;
  inet_pton(AF_INET6, "fe80::1", &a6->sin6_addr);
  m.put(8, v6);

  sockaddr_storage out{};
  socklen_t len = 0;
  ASSERT_TRUE(m.get(7, &out, &len));
  EXPECT_EQ(len, sizeof(sockaddr_in));
  const auto* o4 = reinterpret_cast<const sockaddr_in*>(&out);
  EXPECT_EQ(o4->sin_family, AF_INET);
  EXPECT_EQ(ntohs(o4->sin_port), 22);
  EXPECT_EQ(o4->sin_addr.s_addr, inet_addr("10.1.2.3"));

  ASSERT_TRUE(m.get(8, &out, &len));
  EXPECT_EQ(len, sizeof(sockaddr_in6));
  const auto* o6 = reinterpret_cast<const sockaddr_in6*>(&out);
  EXPECT_EQ(ntohs(o6->sin6_port), 443);
  EXPECT_EQ(o6->sin6_flowinfo, 0u);  // as the kernel's getpeername reports it
  EXPECT_EQ(o6->sin6_scope_id, 3u);
  EXPECT_EQ(std::memcmp(&o6->sin6_addr, &a6->sin6_addr, sizeof o6->sin6_addr), 0);

  EXPECT_FALSE(m.get(9, &out, &len));
}

TEST(NetEmulatorPeerMap, IgnoresOtherFamilies) {
  NetEmulatorPeerMap m;
  sockaddr_storage un{};
  un.ss_family = AF_UNIX;
  m.put(1, un);
  sockaddr_storage out{};
  socklen_t len = 0;
  EXPECT_FALSE(m.get(1, &out, &len));
  EXPECT_EQ(m.size(), 0u);
}

TEST(NetEmulatorPeerMap, BoundedOldestFirstAndReplacingDoesNotGrow) {
  NetEmulatorPeerMap m(3);
  m.put(1, v4("10.0.0.1", 1));
  m.put(2, v4("10.0.0.2", 2));
  m.put(3, v4("10.0.0.3", 3));
  m.put(2, v4("10.0.0.22", 22));  // a reconnect of the same socket
  EXPECT_EQ(m.size(), 3u);
  m.put(4, v4("10.0.0.4", 4));
  EXPECT_EQ(m.size(), 3u);
  sockaddr_storage out{};
  socklen_t len = 0;
  EXPECT_FALSE(m.get(1, &out, &len));  // the oldest went
  ASSERT_TRUE(m.get(2, &out, &len));
  EXPECT_EQ(ntohs(reinterpret_cast<const sockaddr_in*>(&out)->sin_port), 22);
  EXPECT_TRUE(m.get(3, &out, &len));
  EXPECT_TRUE(m.get(4, &out, &len));
}

}  // namespace
}  // namespace agentsh::tracer
