// Tests for policy/cidr: strict parsing, v4-mapped storage, containment at the prefix
// edges, sockaddr conversion and RFC 5952 formatting.
#include "policy/cidr.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

namespace agentsh::cidr {
namespace {

IpAddr ip(std::string_view s) {
  IpAddr a;
  EXPECT_TRUE(parse_ip(s.data(), s.size(), &a)) << s;
  return a;
}

Cidr net(std::string_view s) {
  Cidr c;
  EXPECT_TRUE(parse_cidr(s.data(), s.size(), &c)) << s;
  return c;
}

std::string fmt(const IpAddr& a) {
  char buf[64];
  size_t n = format(a, buf, sizeof buf);
  return std::string(buf, n);
}

TEST(Cidr, ParsesV4AsMapped) {
  IpAddr a = ip("192.168.1.20");
  EXPECT_TRUE(a.is_v4());
  const uint8_t want[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 168, 1, 20};
  EXPECT_EQ(memcmp(a.b, want, 16), 0);
  EXPECT_EQ(fmt(a), "192.168.1.20");
}

TEST(Cidr, ParsesV6) {
  IpAddr a = ip("2001:db8::1");
  EXPECT_FALSE(a.is_v4());
  EXPECT_EQ(a.b[0], 0x20);
  EXPECT_EQ(a.b[1], 0x01);
  EXPECT_EQ(a.b[15], 1);
  EXPECT_FALSE(ip("::1").is_v4());
  EXPECT_TRUE(ip("::ffff:10.1.2.3").is_v4());
  EXPECT_EQ(memcmp(ip("::ffff:10.1.2.3").b, ip("10.1.2.3").b, 16), 0);
}

TEST(Cidr, RejectsBadAddresses) {
  const char* bad[] = {"",
                       "1.2.3",
                       "1.2.3.4.5",
                       "256.1.1.1",
                       "01.2.3.4",
                       "0x7f.0.0.1",
                       "127.1",
                       "1.2.3.4 ",
                       " 1.2.3.4",
                       "a.b.c.d",
                       ":::",
                       "1::2::3",
                       "fe80::1%eth0",
                       "12345::",
                       "g::1",
                       "1.2.3.4/8",
                       "-1.2.3.4",
                       "0000:0000:0000:0000:0000:0000:0000:0000:0"};
  for (const char* s : bad) {
    IpAddr a;
    EXPECT_FALSE(parse_ip(s, strlen(s), &a)) << s;
  }
  // Embedded NUL: the explicit length wins and the address is rejected.
  IpAddr a;
  EXPECT_FALSE(parse_ip("1.2.3.4\0junk", 12, &a));
  EXPECT_FALSE(parse_ip(nullptr, 0, &a));
  // Longer than any address text.
  std::string long_text(100, '1');
  EXPECT_FALSE(parse_ip(long_text.data(), long_text.size(), &a));
}

TEST(Cidr, ParsesPrefixesInto128BitSpace) {
  EXPECT_EQ(net("10.0.0.0/8").prefix, 104);
  EXPECT_EQ(net("0.0.0.0/0").prefix, 96);
  EXPECT_EQ(net("1.2.3.4/32").prefix, 128);
  EXPECT_EQ(net("1.2.3.4").prefix, 128);
  EXPECT_EQ(net("::1/128").prefix, 128);
  EXPECT_EQ(net("::1").prefix, 128);
  EXPECT_EQ(net("::/0").prefix, 0);
  EXPECT_EQ(net("fc00::/7").prefix, 7);
  EXPECT_EQ(net("::ffff:10.0.0.0/104").prefix, 104);
}

TEST(Cidr, MasksHostBits) {
  Cidr c = net("10.1.2.3/8");
  EXPECT_EQ(fmt(c.net), "10.0.0.0");
  Cidr d = net("172.31.255.255/12");
  EXPECT_EQ(fmt(d.net), "172.16.0.0");
  Cidr e = net("2001:db8:ffff::1/33");
  EXPECT_EQ(fmt(e.net), "2001:db8:8000::");
}

TEST(Cidr, RejectsBadCidrs) {
  const char* bad[] = {"10.0.0.0/33",  "::/129",     "10.0.0.0/", "10.0.0.0/-1",   "10.0.0.0/08",
                       "10.0.0.0/8/8", "10.0.0.0/a", "/8",        "10.0.0.0/1000", "10.0.0.0/ 8"};
  for (const char* s : bad) {
    Cidr c;
    EXPECT_FALSE(parse_cidr(s, strlen(s), &c)) << s;
  }
}

struct ContainsCase {
  const char* cidr;
  const char* ip;
  bool want;
};

class CidrContains : public ::testing::TestWithParam<ContainsCase> {};

TEST_P(CidrContains, Works) {
  const ContainsCase& c = GetParam();
  EXPECT_EQ(contains(net(c.cidr), ip(c.ip)), c.want) << c.cidr << " ∋ " << c.ip;
}

INSTANTIATE_TEST_SUITE_P(
    All, CidrContains,
    ::testing::Values(
        ContainsCase{"10.0.0.0/8", "10.255.1.2", true},
        ContainsCase{"10.0.0.0/8", "11.0.0.0", false},
        ContainsCase{"10.0.0.0/8", "9.255.255.255", false},
        ContainsCase{"172.16.0.0/12", "172.31.255.255", true},
        ContainsCase{"172.16.0.0/12", "172.32.0.0", false},
        ContainsCase{"172.16.0.0/12", "172.15.255.255", false},
        ContainsCase{"169.254.169.254/32", "169.254.169.254", true},
        ContainsCase{"169.254.169.254/32", "169.254.169.255", false},
        ContainsCase{"127.0.0.1/32", "127.0.0.1", true},
        ContainsCase{"127.0.0.1/32", "127.0.0.2", false},
        // v4-mapped IPv6 peers match IPv4 rules.
        ContainsCase{"10.0.0.0/8", "::ffff:10.9.8.7", true},
        ContainsCase{"169.254.169.254/32", "::ffff:169.254.169.254", true},
        ContainsCase{"::ffff:10.0.0.0/104", "10.1.1.1", true},
        // v4 /0 is all of IPv4, and nothing else.
        ContainsCase{"0.0.0.0/0", "8.8.8.8", true}, ContainsCase{"0.0.0.0/0", "2001:db8::1", false},
        ContainsCase{"0.0.0.0/0", "::1", false},
        // v6 /0 is everything, IPv4 included (it is in the v4-mapped range).
        ContainsCase{"::/0", "2001:db8::1", true}, ContainsCase{"::/0", "8.8.8.8", true},
        ContainsCase{"::1/128", "::1", true}, ContainsCase{"::1/128", "::2", false},
        ContainsCase{"::1/128", "127.0.0.1", false}, ContainsCase{"fc00::/7", "fd12:3456::1", true},
        ContainsCase{"fc00::/7", "fe00::1", false},
        ContainsCase{"2001:db8::/33", "2001:db8:7fff::1", true},
        ContainsCase{"2001:db8::/33", "2001:db8:8000::1", false},
        ContainsCase{"10.0.0.0/8", "::a00:1", false}));  // v4-compatible form is not v4

TEST(Cidr, FromSockaddrV4) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(8443);
  inet_pton(AF_INET, "10.2.3.4", &sin.sin_addr);
  IpAddr a;
  uint16_t port = 0;
  ASSERT_TRUE(from_sockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin, &a, &port));
  EXPECT_EQ(port, 8443);
  EXPECT_EQ(fmt(a), "10.2.3.4");
  EXPECT_TRUE(contains(net("10.0.0.0/8"), a));
  EXPECT_FALSE(from_sockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin - 1, &a, &port));
  // A null port pointer is allowed.
  EXPECT_TRUE(from_sockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin, &a, nullptr));
}

TEST(Cidr, FromSockaddrV6) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_port = htons(443);
  inet_pton(AF_INET6, "::ffff:169.254.169.254", &sin6.sin6_addr);
  IpAddr a;
  uint16_t port = 0;
  ASSERT_TRUE(from_sockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6, &a, &port));
  EXPECT_EQ(port, 443);
  EXPECT_TRUE(a.is_v4());
  EXPECT_TRUE(contains(net("169.254.0.0/16"), a));
  EXPECT_FALSE(from_sockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6 - 1, &a, &port));
}

TEST(Cidr, FromSockaddrOtherFamilies) {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  IpAddr a;
  uint16_t port;
  EXPECT_FALSE(from_sockaddr(reinterpret_cast<sockaddr*>(&ss), sizeof ss, &a, &port));
  EXPECT_FALSE(from_sockaddr(nullptr, 0, &a, &port));
  EXPECT_FALSE(from_sockaddr(reinterpret_cast<sockaddr*>(&ss), 1, &a, &port));
}

TEST(Cidr, FormatsRfc5952) {
  const std::pair<const char*, const char*> cases[] = {
      {"::1", "::1"},
      {"::", "::"},
      {"2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},     // first of equal runs
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},  // a single 0 is not compressed
      {"1::", "1::"},
      {"FE80::ABCD", "fe80::abcd"},
      {"1:0:0:2:0:0:0:3", "1:0:0:2::3"},  // the longest run wins
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"0.0.0.0", "0.0.0.0"},
      {"255.255.255.255", "255.255.255.255"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(fmt(ip(in)), want) << in;
}

TEST(Cidr, FormatRespectsCapacity) {
  IpAddr a = ip("10.20.30.40");  // 11 chars + NUL
  char buf[16];
  EXPECT_EQ(format(a, buf, 12), 11u);
  EXPECT_STREQ(buf, "10.20.30.40");
  memset(buf, 'X', sizeof buf);
  EXPECT_EQ(format(a, buf, 11), 0u);
  EXPECT_EQ(buf[0], 'X');  // nothing written when it does not fit
  EXPECT_EQ(format(a, buf, 0), 0u);
}

}  // namespace
}  // namespace agentsh::cidr
