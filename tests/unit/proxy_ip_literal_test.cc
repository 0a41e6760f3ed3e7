#include "proxy/ip_literal.h"

#include <gtest/gtest.h>

#include "proxy/http_target.h"
#include "proxy/ip_address.h"

namespace agentsh::proxy {
namespace {

using ip_literal::Host;

std::string norm(std::string_view in) {
  Host h;
  std::string err;
  if (!ip_literal::normalize_host(in, &h, &err)) return "ERR";
  return (h.is_ip() ? "ip:" : "name:") + h.text;
}

TEST(ProxyIpLiteral, MetadataAddressInEverySpelling) {
  for (const char* s :
       {"169.254.169.254", "0xa9fea9fe", "0XA9FEA9FE", "2852039166", "0251.0376.0251.0376",
        "0xa9.0xfe.0xa9.0xfe", "169.254.43518", "169.16689662", "0251.254.169.0376",
        "169.254.169.254.", "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "::ffff:a9fe:a9fe"}) {
    EXPECT_EQ(norm(s), "ip:169.254.169.254") << s;
  }
}

TEST(ProxyIpLiteral, OtherAddresses) {
  EXPECT_EQ(norm("100.100.100.200"), "ip:100.100.100.200");
  EXPECT_EQ(norm("0x7f.1"), "ip:127.0.0.1");
  EXPECT_EQ(norm("127.1"), "ip:127.0.0.1");
  EXPECT_EQ(norm("0"), "ip:0.0.0.0");
  EXPECT_EQ(norm("10"), "ip:0.0.0.10");
  EXPECT_EQ(norm("4294967295"), "ip:255.255.255.255");
  EXPECT_EQ(norm("[::1]"), "ip:::1");
  EXPECT_EQ(norm("[2001:DB8::1]"), "ip:2001:db8::1");
  EXPECT_EQ(norm("::1"), "ip:::1");
}

TEST(ProxyIpLiteral, NumericButInvalidIsRefusedNotResolved) {
  for (const char* s :
       {"4294967296", "256.1.1.1", "1.2.3.4.5", "1.2.3.256", "1.2.65536", "08", "1.2.3.0x100",
        "99999999999999999999", "1..2", "[::1", "[fe80::1%25eth0]", "[not-v6]", "1:2", "[]"}) {
    EXPECT_EQ(norm(s), "ERR") << s;
  }
}

TEST(ProxyIpLiteral, Names) {
  EXPECT_EQ(norm("Registry.NPM.example"), "name:registry.npm.example");
  EXPECT_EQ(norm("example.com."), "name:example.com");
  EXPECT_EQ(norm("_dmarc.example.com"), "name:_dmarc.example.com");
  EXPECT_EQ(norm("1.2.3.example"), "name:1.2.3.example");
  EXPECT_EQ(norm("0x10.example"), "name:0x10.example");
  EXPECT_EQ(norm("localhost"), "name:localhost");
  EXPECT_EQ(norm("a..b"), "ERR");
  EXPECT_EQ(norm(".a"), "ERR");
  EXPECT_EQ(norm("a b"), "ERR");
  EXPECT_EQ(norm("a%2eb"), "ERR");
  EXPECT_EQ(norm("ex\xc3\xa4mple.com"), "ERR");
  EXPECT_EQ(norm(""), "ERR");
  EXPECT_EQ(norm(std::string(64, 'a') + ".com"), "ERR");
  EXPECT_EQ(norm(std::string(63, 'a') + ".com"), "name:" + std::string(63, 'a') + ".com");
}

TEST(ProxyIpLiteral, SplitHostPort) {
  std::string_view host;
  uint16_t port = 0;
  std::string err;
  ASSERT_TRUE(ip_literal::split_host_port("example.com:443", 0, &host, &port, &err));
  EXPECT_EQ(host, "example.com");
  EXPECT_EQ(port, 443);
  ASSERT_TRUE(ip_literal::split_host_port("[::1]:8080", 0, &host, &port, &err));
  EXPECT_EQ(host, "[::1]");
  EXPECT_EQ(port, 8080);
  ASSERT_TRUE(ip_literal::split_host_port("example.com", 80, &host, &port, &err));
  EXPECT_EQ(port, 80);
  // CONNECT needs a port, and a good one.
  EXPECT_FALSE(ip_literal::split_host_port("example.com", 0, &host, &port, &err));
  EXPECT_EQ(err, "missing port");
  for (const char* bad :
       {"example.com:0", "example.com:65536", "example.com:-1", "example.com:", "example.com:https",
        "example.com:443x", ":443", "user@example.com:443", "::1:443", "[::1]x:443", "[::1"}) {
    EXPECT_FALSE(ip_literal::split_host_port(bad, 0, &host, &port, &err)) << bad;
  }
}

TEST(ProxyIpLiteral, JoinHostPort) {
  Host h;
  std::string err;
  ASSERT_TRUE(ip_literal::normalize_host("[::1]", &h, &err));
  EXPECT_EQ(ip_literal::join_host_port(h, 443), "[::1]:443");
  ASSERT_TRUE(ip_literal::normalize_host("Example.COM", &h, &err));
  EXPECT_EQ(ip_literal::join_host_port(h, 80), "example.com:80");
}

TEST(ProxyIpAddress, MappedAndSockaddr) {
  IpAddress a, b;
  ASSERT_TRUE(IpAddress::parse("::ffff:10.1.2.3", &a));
  ASSERT_TRUE(IpAddress::parse("10.1.2.3", &b));
  EXPECT_FALSE(a.v6);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.to_string(), "10.1.2.3");
  sockaddr_storage ss;
  socklen_t len = a.to_sockaddr(443, &ss);
  IpAddress c;
  uint16_t port = 0;
  ASSERT_TRUE(IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss), len, &c, &port));
  EXPECT_EQ(c, a);
  EXPECT_EQ(port, 443);
  ASSERT_TRUE(IpAddress::parse("::", &c));
  EXPECT_TRUE(c.is_unspecified());
  EXPECT_FALSE(IpAddress::parse("0xa9fea9fe", &c));  // strict parser: no lenient forms
}

TEST(ProxyHttpTarget, AbsoluteUri) {
  http_target::AbsoluteUri u;
  std::string err;
  ASSERT_TRUE(http_target::parse_absolute("http://Example.com/a/b?c=d#frag", &u, &err));
  EXPECT_EQ(u.host, "Example.com");
  EXPECT_EQ(u.port, 80);
  EXPECT_EQ(u.origin_form, "/a/b?c=d");
  ASSERT_TRUE(http_target::parse_absolute("HTTP://[::1]:8080", &u, &err));
  EXPECT_EQ(u.host, "[::1]");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.origin_form, "/");
  ASSERT_TRUE(http_target::parse_absolute("http://0xa9fea9fe?x", &u, &err));
  EXPECT_EQ(u.host, "0xa9fea9fe");
  EXPECT_EQ(u.origin_form, "/?x");
  EXPECT_FALSE(http_target::parse_absolute("/relative", &u, &err));
  EXPECT_FALSE(http_target::parse_absolute("https://example.com/", &u, &err));
  EXPECT_EQ(err, "https URIs must be tunnelled with CONNECT");
  EXPECT_FALSE(http_target::parse_absolute("ftp://example.com/", &u, &err));
  EXPECT_FALSE(http_target::parse_absolute("http://user:pw@example.com/", &u, &err));
  EXPECT_FALSE(http_target::parse_absolute("http://example.com:99999/", &u, &err));
}

}  // namespace
}  // namespace agentsh::proxy
