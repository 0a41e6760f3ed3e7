#include "proxy/redirect_table.h"

#include <gtest/gtest.h>

#include "tests/unit/proxy_redirect_testdata.h"

namespace agentsh::proxy {
namespace {

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
