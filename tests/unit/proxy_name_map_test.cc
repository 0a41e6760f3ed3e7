#include "proxy/name_map.h"

#include <gtest/gtest.h>

#include "tests/unit/proxy_redirect_testdata.h"

#include <thread>

#include "proxy/net_decider.h"
#include "proxy/redirect_table.h"
#include "proxy/transparent_protocol.h"

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

TEST(ProxyTransparentProtocol, RoundTripV4AndV6) {
  uint8_t buf[transparent_protocol::kHeaderSize];
  ASSERT_TRUE(
      transparent_protocol::encode(ip("198.18.0.10"), 443, 4242, "Registry.NPM.example", buf));
  EXPECT_TRUE(transparent_protocol::looks_like_header(buf[0]));
  transparent_protocol::Header h;
  std::string err;
  ASSERT_TRUE(transparent_protocol::decode(
      std::string_view(reinterpret_cast<char*>(buf), sizeof(buf)), &h, &err))
      << err;
  EXPECT_EQ(h.address.to_string(), "198.18.0.10");
  EXPECT_EQ(h.port, 443);
  EXPECT_EQ(h.pid, 4242u);
  EXPECT_EQ(h.domain, "registry.npm.example");

  // A v4-mapped IPv6 destination is decided as IPv4.
  ASSERT_TRUE(transparent_protocol::encode(ip("2001:db8::1"), 80, 0, "", buf));
  uint8_t mapped[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 169, 254, 169, 254};
  std::memcpy(buf + 16, mapped, 16);
  ASSERT_TRUE(transparent_protocol::decode(
      std::string_view(reinterpret_cast<char*>(buf), sizeof(buf)), &h, &err));
  EXPECT_FALSE(h.address.v6);
  EXPECT_EQ(h.address.to_string(), "169.254.169.254");
  EXPECT_EQ(h.domain, "");
}

TEST(ProxyTransparentProtocol, RejectsBadHeaders) {
  uint8_t buf[transparent_protocol::kHeaderSize];
  transparent_protocol::Header h;
  std::string err;
  auto decode = [&] {
    return transparent_protocol::decode(std::string_view(reinterpret_cast<char*>(buf), sizeof(buf)),
                                        &h, &err);
  };
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "ok.example", buf));
  ASSERT_TRUE(decode());
  buf[7] = 2;  // version
  EXPECT_FALSE(decode());
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "ok.example", buf));
  buf[8] = 5;  // family
  EXPECT_FALSE(decode());
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "ok.example", buf));
  buf[10] = buf[11] = 0;  // port 0
  EXPECT_FALSE(decode());
  ASSERT_TRUE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, "bad name!", buf));
  EXPECT_FALSE(decode());
  EXPECT_FALSE(transparent_protocol::encode(ip("127.0.0.1"), 80, 1, std::string(256, 'a'), buf));
  EXPECT_FALSE(transparent_protocol::decode("short", &h, &err));
}

NetDecision d(NetEffect e, bool matched, const char* rule) {
  NetDecision x;
  x.effect = e;
  x.matched = matched;
  x.rule = rule;
  x.decision = e == NetEffect::kAllow ? "allow" : e == NetEffect::kDeny ? "deny" : "approve";
  return x;
}

TEST(ProxyNetDecider, CombineNameAndAddress) {
  using net_decider::combine;
  auto allow_name = d(NetEffect::kAllow, true, "allow-npm");
  auto deny_name = d(NetEffect::kDeny, true, "block-evil");
  auto default_deny = d(NetEffect::kDeny, false, "default-deny");
  auto deny_cidr = d(NetEffect::kDeny, true, "block-private");
  auto allow_cidr = d(NetEffect::kAllow, true, "allow-localhost");
  auto ask_name = d(NetEffect::kAsk, true, "approve-unknown");
  // An allowed name resolving to a denied address is denied like the address.
  EXPECT_EQ(combine(true, allow_name, deny_cidr).rule, "block-private");
  // An allowed name at an address no rule mentions stays allowed.
  EXPECT_EQ(combine(true, allow_name, default_deny).rule, "allow-npm");
  // A denied name stays denied even at an allowed address.
  EXPECT_EQ(combine(true, deny_name, allow_cidr).rule, "block-evil");
  // A name nobody mentions at an explicitly allowed address (localhost → 127.0.0.1).
  EXPECT_EQ(combine(true, default_deny, allow_cidr).rule, "allow-localhost");
  EXPECT_EQ(combine(true, default_deny, default_deny).effect, NetEffect::kDeny);
  EXPECT_EQ(combine(true, ask_name, default_deny).effect, NetEffect::kAsk);
  EXPECT_EQ(combine(true, ask_name, deny_cidr).effect, NetEffect::kDeny);
  // No name: the address decides, default included.
  EXPECT_EQ(combine(false, allow_name, default_deny).rule, "default-deny");
  EXPECT_EQ(combine(false, default_deny, allow_cidr).rule, "allow-localhost");
}

TEST(ProxyRedirectTable, RegexGlobAndValidation) {
  std::vector<policy::DnsRedirect> dns = {
      testdata::dns_redirect("npm-dns", "^registry\\.npmjs\\.org$", "127.0.0.5"),
      testdata::dns_redirect("wild-dns", "*.mirror.example", "::1"),
  };
  std::vector<policy::ConnectRedirect> conn = {
      testdata::connect_redirect("npm-conn", "registry\\.npmjs\\.org:443",
                                 "npm.internal.example:8443", "", ""),
      testdata::connect_redirect("sni", "^api\\.example\\.com:443$", "127.0.0.9:443", "rewrite_sni",
                                 "vertex.example"),
  };
  std::string err;
  auto t = RedirectTable::compile(dns, conn, &err);
  ASSERT_TRUE(t) << err;
  auto h = t->match_dns("registry.npmjs.org");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->rule, "npm-dns");
  EXPECT_EQ(h->ip.to_string(), "127.0.0.5");
  EXPECT_FALSE(t->match_dns("registry.npmjs.org.evil.example"));  // anchored by the author
  ASSERT_TRUE(t->match_dns("a.b.mirror.example"));
  EXPECT_EQ(t->match_dns("a.b.mirror.example")->ip.to_string(), "::1");
  EXPECT_FALSE(t->match_dns("mirror.example"));
  auto c = t->match_connect("registry.npmjs.org", 443);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->host, "npm.internal.example");
  EXPECT_EQ(c->port, 8443);
  EXPECT_EQ(c->tls, RedirectTable::TlsMode::kPassthrough);
  EXPECT_FALSE(t->match_connect("registry.npmjs.org", 80));
  auto s = t->match_connect("API.example.com", 443);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->tls, RedirectTable::TlsMode::kRewriteSni);
  EXPECT_EQ(s->sni, "vertex.example");
  // A rule over the bare host matches any port.
  auto any = RedirectTable::compile(
      {}, {testdata::connect_redirect("host-only", "^h\\.example$", "127.0.0.1:1")}, &err);
  ASSERT_TRUE(any) << err;
  EXPECT_TRUE(any->match_connect("h.example", 8080));
  EXPECT_FALSE(any->match_connect("xh.example", 8080));

  EXPECT_FALSE(RedirectTable::compile({testdata::dns_redirect("bad", "x", "not-an-ip")}, {}, &err));
  EXPECT_NE(err.find("bad"), std::string::npos);
  EXPECT_FALSE(RedirectTable::compile(
      {}, {testdata::connect_redirect("bad", "x", "nohostport", "", "")}, &err));
  EXPECT_FALSE(RedirectTable::compile(
      {}, {testdata::connect_redirect("bad", "x", "h.example:1", "mitm", "")}, &err));
  EXPECT_NE(err.find("mitm"), std::string::npos);
  EXPECT_FALSE(RedirectTable::compile(
      {}, {testdata::connect_redirect("bad", "x", "h.example:1", "rewrite_sni", "")}, &err));
}

}  // namespace
}  // namespace agentsh::proxy
