// Transparent mode (connections the hook/tracer redirect) and the DNS proxy, which feeds
// the address → name map transparent connections are decided by.
#include <gtest/gtest.h>

#include "tests/unit/proxy_redirect_testdata.h"

#include "proxy/client_hello.h"
#include "proxy/transparent_protocol.h"
#include "tests/integration/proxy_support.h"
#include "tests/unit/proxy_tls_testdata.h"

namespace agentsh::proxy::testing {
namespace {

namespace td = testdata;
namespace dm = dns_message;

std::vector<FakeRule> rules(uint16_t port) {
  return {
      {"block-evil", {"evil.test"}, {}, {}, NetEffect::kDeny},
      {"allow-test", {"allowed.test", "mirror.test"}, {}, {port}, NetEffect::kAllow},
      {"allow-lab-server", {}, {"127.0.0.2/32"}, {}, NetEffect::kAllow},
      {"block-private", {}, {"127.0.0.3/32"}, {}, NetEffect::kDeny},
  };
}

std::map<std::string, std::vector<std::string>> names() {
  return {{"allowed.test", {"127.0.0.4"}}, {"evil.test", {"127.0.0.4"}}, {"v6.test", {"::1"}}};
}

IpAddress ip(const char* s) {
  IpAddress a;
  IpAddress::parse(s, &a);
  return a;
}

// Connects in transparent mode; returns the socket and the status byte (-1: none).
ScopedFd transparent(Lab& lab, const IpAddress& dst, uint16_t port, const std::string& domain,
                     int* status, uint32_t pid = 4242) {
  ScopedFd c = lab.client();
  uint8_t hdr[transparent_protocol::kHeaderSize];
  transparent_protocol::encode(dst, port, pid, domain, hdr);
  send_all(c.get(), std::string_view(reinterpret_cast<char*>(hdr), sizeof(hdr)));
  char b;
  *status = recv(c.get(), &b, 1, 0) == 1 ? static_cast<uint8_t>(b) : -1;
  return c;
}

TEST(ProxyTransparent, AllowedByAddress) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.2", "", "pong");
  PROXY_LAB_START(lab, rules(1), names());
  int status = -1;
  ScopedFd c = transparent(lab, ip("127.0.0.2"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(recv_all(c.get(), 4), "pong");
  ASSERT_TRUE(lab.audit.wait_for([&](const AuditEvent& e) {
    return e.target == "127.0.0.2:" + std::to_string(srv.port()) && e.effective == "allow" &&
           e.rule == "allow-lab-server" && e.pid == 4242 &&
           e.message.find("via=transparent") != std::string::npos;
  }));
}

TEST(ProxyTransparent, DeniedByAddressAnswersEacces) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.3");
  PROXY_LAB_START(lab, rules(1), names());
  int status = -1;
  ScopedFd c = transparent(lab, ip("127.0.0.3"), srv.port(), "", &status);
  EXPECT_EQ(status, EACCES);
  EXPECT_EQ(recv_all(c.get()), "");  // then closed
  EXPECT_EQ(srv.connections(), 0);
  // The v4-mapped spelling of the same address.
  c = transparent(lab, ip("::ffff:127.0.0.3"), srv.port(), "", &status);
  EXPECT_EQ(status, EACCES);
  // Connection refused upstream → ECONNREFUSED.
  c = transparent(lab, ip("127.0.0.2"), 1, "", &status);
  EXPECT_EQ(status, ECONNREFUSED);
}

TEST(ProxyTransparent, BadHeaderAnswersEinval) {
  Lab lab;
  PROXY_LAB_START(lab, rules(1), names());
  ScopedFd c = lab.client();
  uint8_t hdr[transparent_protocol::kHeaderSize];
  transparent_protocol::encode(ip("127.0.0.2"), 80, 1, "", hdr);
  hdr[7] = 9;  // unknown version
  send_all(c.get(), std::string_view(reinterpret_cast<char*>(hdr), sizeof(hdr)));
  EXPECT_EQ(recv_all(c.get()), std::string(1, static_cast<char>(EINVAL)));
  // A client that vanishes halfway through the header costs nothing.
  c = lab.client();
  send_all(c.get(), std::string_view(reinterpret_cast<char*>(hdr), 100));
  c.reset();
  int status = -1;
  transparent(lab, ip("127.0.0.3"), 80, "", &status);
  EXPECT_EQ(status, EACCES);
}

TEST(ProxyTransparent, DecidedByTheNameTheDnsProxyHandedOut) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4", "", "pong");
  PROXY_LAB_START(lab, rules(srv.port()), names());
  // Without a name, 127.0.0.4 is only default-denied: not allowed outright.
  // Resolve through the DNS proxy first, as the agent's resolver would.
  uint16_t unused = 0;
  ScopedFd u = listen_on("127.0.0.1", 0, SOCK_DGRAM, &unused);
  std::string q = dm::build_query(0x5151, "allowed.test", dm::kTypeA);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(lab.proxy->dns_port());
  to.sin_addr.s_addr = htonl(0x7f000001);
  timeval tv{10, 0};
  setsockopt(u.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ASSERT_GT(sendto(u.get(), q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to)),
            0);
  char buf[1500];
  ssize_t n = recv(u.get(), buf, sizeof(buf), 0);
  ASSERT_GT(n, 0);
  dm::Response r;
  std::string err;
  ASSERT_TRUE(dm::parse_response(std::string_view(buf, n), &r, &err)) << err;
  EXPECT_EQ(r.id, 0x5151);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].rdata, std::string("\x7f\x00\x00\x04", 4));
  // Now a bare-address connect is decided as allowed.test.
  int status = -1;
  ScopedFd c = transparent(lab, ip("127.0.0.4"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(recv_all(c.get(), 4), "pong");
  ASSERT_TRUE(lab.audit.wait_for([&](const AuditEvent& e) {
    return e.target == "allowed.test:" + std::to_string(srv.port()) && e.effective == "allow" &&
           e.message.find("ip=127.0.0.4") != std::string::npos;
  }));
}

TEST(ProxyTransparent, ClientNamedDomainIsVerifiedByResolvingIt) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer good("127.0.0.4", "", "pong");
  RecordingServer other("127.0.0.5", "", "pong");
  PROXY_LAB_START(lab, rules(good.port()), names());
  // Honest: allowed.test really resolves to 127.0.0.4.
  int status = -1;
  ScopedFd c = transparent(lab, ip("127.0.0.4"), good.port(), "allowed.test", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(recv_all(c.get(), 4), "pong");
  // Lying: claims allowed.test for 127.0.0.5. The claim is ignored; the bare address is
  // only default-denied, so the proxy waits for a name in the first bytes — and the SNI
  // it gets (allowed.test again) does not resolve to 127.0.0.5 either.
  c = transparent(lab, ip("127.0.0.5"), other.port(), "allowed.test", &status);
  ASSERT_EQ(status, 0);  // deferred: "connected", nothing connected yet
  ASSERT_TRUE(send_all(c.get(), td::client_hello_with_sni("allowed.test")));
  EXPECT_EQ(recv_all(c.get()), client_hello::fatal_alert(49));
  EXPECT_EQ(other.connections(), 0);
  ASSERT_TRUE(lab.audit.wait_for([&](const AuditEvent& e) {
    return e.effective == "deny" &&
           e.message.find("does not resolve to 127.0.0.5") != std::string::npos;
  }));
}

TEST(ProxyTransparent, BareAddressDecidedBySni) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4", "", "ok");
  PROXY_LAB_START(lab, rules(srv.port()), names());
  int status = -1;
  ScopedFd c = transparent(lab, ip("127.0.0.4"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  const std::string hello = td::client_hello_with_sni("allowed.test");
  ASSERT_TRUE(send_all(c.get(), hello));
  EXPECT_EQ(recv_all(c.get(), 2), "ok");
  c.reset();
  // Denied SNI at the same address: refused, nothing reaches the server.
  c = transparent(lab, ip("127.0.0.4"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(send_all(c.get(), td::client_hello_with_sni("evil.test")));
  EXPECT_EQ(recv_all(c.get()), client_hello::fatal_alert(49));
  // No name at all (not TLS, not HTTP): refused.
  c = transparent(lab, ip("127.0.0.4"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(send_all(c.get(), std::string("\x01\x02\x03 binary", 10)));
  EXPECT_EQ(recv_all(c.get()), "");
  lab.proxy->stop();
  ASSERT_EQ(srv.connections(), 1);
  auto got = srv.received(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], hello);
}

TEST(ProxyTransparent, HostHeaderOfPlainHttpIsDecided) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.2");
  PROXY_LAB_START(lab, rules(srv.port()), names());
  int status = -1;
  ScopedFd c = transparent(lab, ip("127.0.0.2"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(send_all(c.get(), "GET /x HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
  std::string resp = recv_all(c.get());
  EXPECT_NE(resp.find("HTTP/1.1 403 Forbidden"), std::string::npos) << resp;
  EXPECT_NE(resp.find("agentsh: blocked by policy: rule=block-evil host=evil.test"),
            std::string::npos);
  EXPECT_TRUE(srv.requests().empty());
  // An allowed (or matching) Host goes through.
  c = transparent(lab, ip("127.0.0.2"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  ASSERT_TRUE(send_all(c.get(), "GET /y HTTP/1.1\r\nHost: 127.0.0.2\r\n\r\n"));
  EXPECT_NE(recv_response(c.get()).find("hello 127.0.0.2 /y"), std::string::npos);
}

TEST(ProxyTransparent, ServerSpeaksFirst) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.2", "SSH-2.0-fake\r\n");
  PROXY_LAB_START(lab, rules(1), names());
  int status = -1;
  ScopedFd c = transparent(lab, ip("127.0.0.2"), srv.port(), "", &status);
  ASSERT_EQ(status, 0);
  // The banner arrives although the client has not said anything yet.
  EXPECT_EQ(recv_until(c.get(), "\r\n"), "SSH-2.0-fake\r\n");
  ASSERT_TRUE(send_all(c.get(), "SSH-2.0-client\r\n"));
  shutdown(c.get(), SHUT_WR);
  EXPECT_EQ(recv_all(c.get()), "");
  lab.proxy->stop();
  auto got = srv.received(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "SSH-2.0-client\r\n");
}

// ---- the DNS proxy -------------------------------------------------------------------------

struct DnsClient {
  ScopedFd fd;
  sockaddr_in to{};
  explicit DnsClient(uint16_t port) {
    uint16_t unused;
    fd = listen_on("127.0.0.1", 0, SOCK_DGRAM, &unused);
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(0x7f000001);
    timeval tv{10, 0};
    setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  std::string ask(const std::string& pkt) {
    sendto(fd.get(), pkt.data(), pkt.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
    char buf[4096];
    ssize_t n = recv(fd.get(), buf, sizeof(buf), 0);
    return n > 0 ? std::string(buf, n) : std::string();
  }
};

TEST(ProxyDns, DeniedNameGetsNxdomainAndIsNeverForwarded) {
  Lab lab;
  PROXY_LAB_START(lab, rules(443), names());
  DnsClient dns(lab.proxy->dns_port());
  std::string resp = dns.ask(dm::build_query(0x1111, "evil.test", dm::kTypeA));
  dm::Response r;
  std::string err;
  ASSERT_TRUE(dm::parse_response(resp, &r, &err)) << err;
  EXPECT_EQ(r.id, 0x1111);
  EXPECT_EQ(r.rcode, dm::kNxDomain);
  EXPECT_EQ(r.question.name, "evil.test");
  // A name no rule mentions is denied by the default, too.
  resp = dns.ask(dm::build_query(0x1112, "unknown.example", dm::kTypeAaaa));
  ASSERT_TRUE(dm::parse_response(resp, &r, &err));
  EXPECT_EQ(r.rcode, dm::kNxDomain);
  EXPECT_EQ(lab.dns->total(), 0);
  EXPECT_EQ(lab.audit.count([](const AuditEvent& e) {
    return e.type == "dns" && e.operation == "resolve" && e.target == "evil.test" &&
           e.effective == "deny" && e.rule == "block-evil" && e.source == "proxy";
  }),
            1u);
}

TEST(ProxyDns, AllowedNameIsForwardedAndAnswered) {
  Lab lab;
  PROXY_LAB_START(lab, rules(443), names());
  DnsClient dns(lab.proxy->dns_port());
  std::string resp = dns.ask(dm::build_query(0x2222, "ALLOWED.test", dm::kTypeA));
  dm::Response r;
  std::string err;
  ASSERT_TRUE(dm::parse_response(resp, &r, &err)) << err;
  EXPECT_EQ(r.id, 0x2222);
  EXPECT_EQ(r.rcode, dm::kNoError);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].rdata, std::string("\x7f\x00\x00\x04", 4));
  EXPECT_EQ(lab.dns->queries_for("allowed.test"), 1);
  EXPECT_EQ(lab.audit.count([](const AuditEvent& e) {
    return e.type == "dns" && e.target == "allowed.test" && e.effective == "allow" &&
           e.message.find("qtype=A") != std::string::npos;
  }),
            1u);
}

TEST(ProxyDns, RedirectAnsweredLocally) {
  Lab lab;
  PROXY_LAB_START(lab, rules(443), names(), [](Proxy::Options& o) {
    o.dns_redirects.push_back(testdata::dns_redirect("mirror-dns", "^mirror\\.test$", "127.0.0.9"));
  });
  DnsClient dns(lab.proxy->dns_port());
  dm::Response r;
  std::string err;
  ASSERT_TRUE(dm::parse_response(dns.ask(dm::build_query(7, "mirror.test", dm::kTypeA)), &r, &err));
  EXPECT_EQ(r.rcode, dm::kNoError);
  ASSERT_EQ(r.answers.size(), 1u);
  EXPECT_EQ(r.answers[0].rdata, std::string("\x7f\x00\x00\x09", 4));
  ASSERT_TRUE(
      dm::parse_response(dns.ask(dm::build_query(8, "mirror.test", dm::kTypeAaaa)), &r, &err));
  EXPECT_EQ(r.rcode, dm::kNoError);
  EXPECT_TRUE(r.answers.empty());  // NODATA: the redirect is IPv4
  EXPECT_EQ(lab.dns->total(), 0);
  EXPECT_EQ(lab.audit.count([](const AuditEvent& e) {
    return e.type == "dns" && e.decision == "redirect" && e.rule == "mirror-dns";
  }),
            2u);
}

TEST(ProxyDns, TcpMalformedAndUpstreamFailure) {
  Lab lab;
  PROXY_LAB_START(lab, rules(443), names());
  // DNS over TCP: two queries on one connection.
  ScopedFd t = dial("127.0.0.1", lab.proxy->dns_port());
  ASSERT_TRUE(t);
  for (const char* name : {"evil.test", "allowed.test"}) {
    std::string q = dm::build_query(0x3333, name, dm::kTypeA);
    std::string frame = std::string(1, static_cast<char>(q.size() >> 8)) +
                        std::string(1, static_cast<char>(q.size() & 0xff)) + q;
    ASSERT_TRUE(send_all(t.get(), frame));
    std::string len = recv_all(t.get(), 2);
    ASSERT_EQ(len.size(), 2u);
    std::string resp =
        recv_all(t.get(), (static_cast<uint8_t>(len[0]) << 8) | static_cast<uint8_t>(len[1]));
    dm::Response r;
    std::string err;
    ASSERT_TRUE(dm::parse_response(resp, &r, &err)) << err;
    EXPECT_EQ(r.rcode, std::string(name) == "evil.test" ? dm::kNxDomain : dm::kNoError) << name;
  }
  // Garbage: too short for a header → silence; a bad question → FORMERR.
  DnsClient dns(lab.proxy->dns_port());
  sendto(dns.fd.get(), "xx", 2, 0, reinterpret_cast<sockaddr*>(&dns.to), sizeof(dns.to));
  std::string bad = dm::build_query(0x4444, "a.test", dm::kTypeA);
  bad[5] = 2;  // two questions
  std::string resp = dns.ask(bad);
  ASSERT_GE(resp.size(), 12u);
  EXPECT_EQ(dm::get_id(resp), 0x4444);
  EXPECT_EQ(resp[3] & 0x0f, dm::kFormErr);
}

TEST(ProxyDns, UpstreamDownGivesServfail) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  TempFile resolv("nameserver 127.0.0.99:9\noptions timeout:1 attempts:1\n");
  PROXY_LAB_START(lab, rules(443), names(),
                  [&](Proxy::Options& o) { o.resolv_conf = resolv.path(); });
  DnsClient dns(lab.proxy->dns_port());
  dm::Response r;
  std::string err;
  ASSERT_TRUE(
      dm::parse_response(dns.ask(dm::build_query(9, "allowed.test", dm::kTypeA)), &r, &err));
  EXPECT_EQ(r.rcode, dm::kServFail);
  EXPECT_EQ(r.id, 9);
}

TEST(ProxyStart, ClearErrors) {
  FakeDecider d({});
  std::string err;
  Proxy::Options o;
  EXPECT_EQ(Proxy::start(o, &err), nullptr);
  EXPECT_EQ(err, "agentsh proxy: Options.decider is required");
  o.decider = &d;
  o.resolv_conf = "/nonexistent/resolv.conf";
  EXPECT_EQ(Proxy::start(o, &err), nullptr);
  EXPECT_NE(err.find("cannot read /nonexistent/resolv.conf"), std::string::npos) << err;
  TempFile rc("nameserver 127.0.0.53\n");
  o.resolv_conf = rc.path();
  o.listen_host = "localhost";
  EXPECT_EQ(Proxy::start(o, &err), nullptr);
  EXPECT_NE(err.find("is not an IP address"), std::string::npos) << err;
  o.listen_host = "127.0.0.1";
  o.connect_redirects.push_back(testdata::connect_redirect("r", "x", "nohostport", "", ""));
  EXPECT_EQ(Proxy::start(o, &err), nullptr);
  EXPECT_NE(err.find("connect_redirects rule 'r'"), std::string::npos) << err;
}

}  // namespace
}  // namespace agentsh::proxy::testing
