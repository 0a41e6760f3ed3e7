#include "proxy/dns_message.h"

#include <gtest/gtest.h>

#include "proxy/dns_config.h"

namespace agentsh::proxy {
namespace {

namespace dm = dns_message;

TEST(ProxyDnsMessage, QueryRoundTrip) {
  std::string q = dm::build_query(0x1234, "registry.npm.example", dm::kTypeAaaa);
  ASSERT_FALSE(q.empty());
  dm::Query parsed;
  std::string err;
  ASSERT_EQ(dm::parse_query(q, &parsed, &err), dm::ParseResult::kOk) << err;
  EXPECT_EQ(parsed.id, 0x1234);
  EXPECT_EQ(parsed.question.name, "registry.npm.example");
  EXPECT_EQ(parsed.question.qtype, dm::kTypeAaaa);
  EXPECT_EQ(parsed.question.qclass, dm::kClassIn);
  EXPECT_EQ(parsed.question_end, q.size());
}

TEST(ProxyDnsMessage, UpperCaseNamesAreLowered) {
  std::string q = dm::build_query(1, "WwW.Example.COM", dm::kTypeA);
  dm::Query parsed;
  std::string err;
  ASSERT_EQ(dm::parse_query(q, &parsed, &err), dm::ParseResult::kOk);
  EXPECT_EQ(parsed.question.name, "www.example.com");
}

TEST(ProxyDnsMessage, NxdomainAndRedirectAnswers) {
  std::string q = dm::build_query(0xbeef, "evil.example", dm::kTypeA);
  dm::Query parsed;
  std::string err;
  ASSERT_EQ(dm::parse_query(q, &parsed, &err), dm::ParseResult::kOk);
  std::string nx = dm::make_response(q, parsed, dm::kNxDomain, {});
  dm::Response r;
  ASSERT_TRUE(dm::parse_response(nx, &r, &err)) << err;
  EXPECT_EQ(r.id, 0xbeef);
  EXPECT_EQ(r.rcode, dm::kNxDomain);
  EXPECT_EQ(r.question.name, "evil.example");
  EXPECT_TRUE(r.answers.empty());

  std::string ans = dm::make_response(q, parsed, dm::kNoError,
                                      {{dm::kTypeA, 60, std::string("\x0a\x00\x01\x32", 4)}});
  ASSERT_TRUE(dm::parse_response(ans, &r, &err)) << err;
  EXPECT_EQ(r.rcode, dm::kNoError);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].name, "evil.example");  // via the compression pointer
  EXPECT_EQ(r.answers[0].type, dm::kTypeA);
  EXPECT_EQ(r.answers[0].ttl, 60u);
  EXPECT_EQ(r.answers[0].rdata, std::string("\x0a\x00\x01\x32", 4));
}

TEST(ProxyDnsMessage, MalformedQueries) {
  dm::Query parsed;
  std::string err;
  EXPECT_EQ(dm::parse_query("short", &parsed, &err), dm::ParseResult::kDrop);
  std::string q = dm::build_query(7, "a.example", dm::kTypeA);
  std::string resp = q;
  resp[2] |= 0x80;  // QR set
  EXPECT_EQ(dm::parse_query(resp, &parsed, &err), dm::ParseResult::kDrop);
  std::string op = q;
  op[2] |= 0x10;  // opcode 2 (STATUS)
  EXPECT_EQ(dm::parse_query(op, &parsed, &err), dm::ParseResult::kNotImp);
  std::string two = q;
  two[5] = 2;  // QDCOUNT 2
  EXPECT_EQ(dm::parse_query(two, &parsed, &err), dm::ParseResult::kFormErr);
  std::string trunc = q.substr(0, q.size() - 3);
  EXPECT_EQ(dm::parse_query(trunc, &parsed, &err), dm::ParseResult::kFormErr);
  // A compression pointer that points at itself (a loop) in the question.
  std::string loop = q.substr(0, 12) + std::string("\xc0\x0c\x00\x01\x00\x01", 6);
  EXPECT_EQ(dm::parse_query(loop, &parsed, &err), dm::ParseResult::kFormErr);
  // A label with a dot inside it.
  std::string dot = q.substr(0, 12) + std::string(
                                          "\x03"
                                          "a.b\x00\x00\x01\x00\x01",
                                          9);
  EXPECT_EQ(dm::parse_query(dot, &parsed, &err), dm::ParseResult::kFormErr);
  // Header-only error answer keeps the id.
  std::string h = dm::make_header_only(0x4242, 0x0100, dm::kFormErr);
  EXPECT_EQ(dm::get_id(h), 0x4242);
  EXPECT_EQ(h[3] & 0x0f, dm::kFormErr);
}

TEST(ProxyDnsMessage, ResponseWithCnameChainAndForwardPointer) {
  // Hand-built response: a.example CNAME b.example; b.example A 1.2.3.4
  std::string q = dm::build_query(9, "a.example", dm::kTypeA);
  std::string r = q;
  r[2] = static_cast<char>(0x81);
  r[3] = static_cast<char>(0x80);
  r[7] = 2;  // ANCOUNT
  // CNAME rr: owner ptr to 12, rdata "b.example"
  std::string cname = std::string(
      "\x01"
      "b\x07"
      "example\x00",
      11);
  r += std::string("\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00", 11);
  r.push_back(static_cast<char>(cname.size()));
  size_t cname_off = r.size();
  r += cname;
  r += std::string("\xc0", 1);
  r.push_back(static_cast<char>(cname_off));
  r += std::string("\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\x01\x02\x03\x04", 14);
  dm::Response resp;
  std::string err;
  ASSERT_TRUE(dm::parse_response(r, &resp, &err)) << err;
  ASSERT_EQ(resp.answers.size(), 2u);
  EXPECT_EQ(resp.answers[0].type, dm::kTypeCname);
  EXPECT_EQ(resp.answers[1].name, "b.example");
  EXPECT_EQ(resp.answers[1].rdata, std::string("\x01\x02\x03\x04", 4));
  // A pointer forward (to a later offset) is refused.
  std::string fwd = r;
  fwd[fwd.size() - 14 - 1] = static_cast<char>(fwd.size() - 5);
  EXPECT_FALSE(dm::parse_response(fwd, &resp, &err));
  // Record overrunning the packet.
  EXPECT_FALSE(dm::parse_response(r.substr(0, r.size() - 2), &resp, &err));
}

TEST(ProxyDnsMessage, SetId) {
  std::string q = dm::build_query(1, "x.example", dm::kTypeA);
  dm::set_id(&q, 0xabcd);
  EXPECT_EQ(dm::get_id(q), 0xabcd);
}

TEST(ProxyDnsConfig, ResolvConf) {
  auto rc = dns_config::parse_resolv_conf(
      "# comment\nsearch example.com\nnameserver 127.0.0.53\nnameserver ::1 ; trailing\n"
      "nameserver 127.0.0.2:5353\nnameserver 10.0.0.1\noptions timeout:3 attempts:9 rotate\n");
  ASSERT_EQ(rc.nameservers.size(), 3u);  // glibc's limit of 3
  EXPECT_EQ(rc.nameservers[0].ip.to_string(), "127.0.0.53");
  EXPECT_EQ(rc.nameservers[0].port, 53);
  EXPECT_EQ(rc.nameservers[1].ip.to_string(), "::1");
  EXPECT_EQ(rc.nameservers[2].ip.to_string(), "127.0.0.2");
  EXPECT_EQ(rc.nameservers[2].port, 5353);
  EXPECT_EQ(rc.timeout_ms, 3000);
  EXPECT_EQ(rc.attempts, 5);  // clamped
  auto rc6 = dns_config::parse_resolv_conf("nameserver [::1]:5300\nnameserver bogus\n");
  ASSERT_EQ(rc6.nameservers.size(), 1u);
  EXPECT_EQ(rc6.nameservers[0].port, 5300);
  dns_config::ResolvConf out;
  std::string err;
  EXPECT_FALSE(dns_config::load_resolv_conf("/nonexistent/resolv.conf", &out, &err));
  EXPECT_NE(err.find("/nonexistent/resolv.conf"), std::string::npos);
}

TEST(ProxyDnsConfig, Hosts) {
  auto t = dns_config::parse_hosts(
      "127.0.0.1 localhost Localhost.Localdomain\n::1 localhost ip6-localhost\n"
      "# 10.0.0.1 commented.example\n127.0.0.2\tapi.test api\nbogus line here\n");
  ASSERT_EQ(t.count("localhost"), 1u);
  ASSERT_EQ(t["localhost"].size(), 2u);
  EXPECT_EQ(t["localhost"][0].to_string(), "127.0.0.1");
  EXPECT_EQ(t["localhost"][1].to_string(), "::1");
  EXPECT_EQ(t.count("localhost.localdomain"), 1u);
  EXPECT_EQ(t["api.test"][0].to_string(), "127.0.0.2");
  EXPECT_EQ(t.count("commented.example"), 0u);
  dns_config::HostsTable h;
  std::string err;
  EXPECT_TRUE(dns_config::load_hosts("/nonexistent/hosts", &h, &err));
  EXPECT_TRUE(h.empty());
}

}  // namespace
}  // namespace agentsh::proxy
