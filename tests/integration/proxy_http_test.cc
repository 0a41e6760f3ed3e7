// The HTTP forward proxy: CONNECT tunnels and plain absolute-URI requests, decided by
// domain, address and port. Everything runs in a private network namespace.
#include <gtest/gtest.h>

#include "tests/integration/proxy_support.h"

namespace agentsh::proxy::testing {
namespace {

std::vector<FakeRule> standard_rules(uint16_t allowed_port) {
  return {
      {"block-evil", {"evil.test", "*.evil.test"}, {}, {}, NetEffect::kDeny},
      {"allow-test",
       {"allowed.test", "sneaky.test", "other.test"},
       {},
       {allowed_port},
       NetEffect::kAllow},
      {"allow-lab-server", {}, {"127.0.0.2/32"}, {}, NetEffect::kAllow},
      {"block-private", {}, {"127.0.0.3/32", "10.0.0.0/8"}, {}, NetEffect::kDeny},
      {"block-metadata", {}, {"169.254.169.254/32", "100.100.100.200/32"}, {}, NetEffect::kDeny},
      {"approve-ask", {"ask.test"}, {}, {}, NetEffect::kAsk},
      {"allow-metadata-name", {"metadata.test"}, {}, {80}, NetEffect::kAllow},
  };
}

std::map<std::string, std::vector<std::string>> standard_names() {
  return {{"allowed.test", {"127.0.0.4"}}, {"other.test", {"127.0.0.4"}},
          {"sneaky.test", {"127.0.0.3"}},  {"metadata.test", {"169.254.169.254"}},
          {"ask.test", {"127.0.0.4"}},     {"evil.test", {"127.0.0.4"}}};
}

std::string connect_req(const std::string& target) {
  return "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n";
}

TEST(ProxyHttp, ConnectAllowedByDomainTunnelsBytes) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  // The upstream must exist before the rules know its port; the namespace comes first.
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4", "", "pong");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  ScopedFd c = lab.client();
  ASSERT_TRUE(c);
  const std::string target = "allowed.test:" + std::to_string(srv.port());
  ASSERT_TRUE(send_all(c.get(), connect_req(target)));
  std::string head = recv_until(c.get(), "\r\n\r\n");
  EXPECT_EQ(head, "HTTP/1.1 200 Connection established\r\n\r\n");
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(recv_all(c.get(), 4), "pong");
  c.reset();
  ASSERT_TRUE(lab.audit.wait_for([&](const AuditEvent& e) {
    return e.type == "network" && e.target == target && e.effective == "allow";
  }));
  auto ev = lab.audit.events();
  size_t n = 0;
  for (const auto& e : ev) {
    if (e.target != target) continue;
    ++n;
    EXPECT_EQ(e.operation, "connect");
    EXPECT_EQ(e.rule, "allow-test");
    EXPECT_EQ(e.decision, "allow");
    EXPECT_EQ(e.source, "proxy");
    EXPECT_EQ(e.session, "test-session");
    EXPECT_NE(e.message.find("ip=127.0.0.4"), std::string::npos) << e.message;
  }
  EXPECT_EQ(n, 1u);  // one decision, one record
  lab.proxy->stop();
  auto got = srv.received(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], "ping");
}

TEST(ProxyHttp, ConnectDeniedByDomainIsNeverResolvedOrContacted) {
  Lab lab;
  PROXY_LAB_START(lab, standard_rules(443), standard_names());
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req("evil.test:443")));
  std::string resp = recv_all(c.get());
  const std::string body = "agentsh: blocked by policy: rule=block-evil host=evil.test\n";
  EXPECT_EQ(resp.substr(0, resp.find("\r\n")), "HTTP/1.1 403 Forbidden");
  EXPECT_NE(resp.find("Content-Length: " + std::to_string(body.size())), std::string::npos);
  EXPECT_EQ(resp.substr(resp.size() - body.size()), body);
  EXPECT_EQ(lab.dns->queries_for("evil.test"), 0);
  ASSERT_TRUE(lab.audit.wait_for([](const AuditEvent& e) {
    return e.target == "evil.test:443" && e.effective == "deny" && e.rule == "block-evil" &&
           e.decision == "deny" && e.type == "network";
  }));
}

TEST(ProxyHttp, DeniedByPort) {
  Lab lab;
  PROXY_LAB_START(lab, standard_rules(443), standard_names());
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req("allowed.test:8443")));
  std::string resp = recv_all(c.get());
  EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 403");
  EXPECT_NE(resp.find("rule=default-deny-network host=allowed.test"), std::string::npos) << resp;
}

TEST(ProxyHttp, DeniedByCidrLiteral) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.3");
  PROXY_LAB_START(lab, standard_rules(443), standard_names());
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req("127.0.0.3:" + std::to_string(srv.port()))));
  std::string resp = recv_all(c.get());
  EXPECT_NE(resp.find("agentsh: blocked by policy: rule=block-private host=127.0.0.3"),
            std::string::npos)
      << resp;
  EXPECT_EQ(srv.connections(), 0);
}

TEST(ProxyHttp, NameResolvingToDeniedAddressIsDeniedLikeTheAddress) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.3");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  ScopedFd c = lab.client();
  // sneaky.test is allowed by name but resolves to 127.0.0.3 (block-private).
  ASSERT_TRUE(send_all(c.get(), connect_req("sneaky.test:" + std::to_string(srv.port()))));
  std::string resp = recv_all(c.get());
  EXPECT_NE(resp.find("rule=block-private host=sneaky.test"), std::string::npos) << resp;
  EXPECT_EQ(srv.connections(), 0);
  ASSERT_TRUE(lab.audit.wait_for([&](const AuditEvent& e) {
    return e.target == "sneaky.test:" + std::to_string(srv.port()) && e.effective == "deny" &&
           e.rule == "block-private" &&
           e.message.find("resolved to 127.0.0.3") != std::string::npos;
  }));
  // And a name allowed by name that resolves to the metadata address.
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), "GET http://metadata.test/latest HTTP/1.1\r\n\r\n"));
  resp = recv_all(c.get());
  EXPECT_NE(resp.find("agentsh: blocked by policy: rule=block-metadata host=metadata.test"),
            std::string::npos)
      << resp;
}

TEST(ProxyHttp, IpLiteralSpellingsAreDecidedAsTheAddress) {
  Lab lab;
  PROXY_LAB_START(lab, standard_rules(443), standard_names());
  for (const char* url : {"http://169.254.169.254/", "http://0xa9fea9fe/", "http://2852039166/",
                          "http://0251.0376.0251.0376/", "http://169.254.43518/",
                          "http://[::ffff:169.254.169.254]/", "http://[::ffff:a9fe:a9fe]/"}) {
    ScopedFd c = lab.client();
    ASSERT_TRUE(send_all(c.get(), std::string("GET ") + url + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    std::string resp = recv_all(c.get());
    EXPECT_NE(resp.find("agentsh: blocked by policy: rule=block-metadata host=169.254.169.254\n"),
              std::string::npos)
        << url << " → " << resp;
  }
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), "GET http://100.100.100.200/x HTTP/1.1\r\n\r\n"));
  EXPECT_NE(recv_all(c.get()).find("rule=block-metadata host=100.100.100.200"), std::string::npos);
  // A numeric host that is no address is refused, not resolved.
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), "GET http://4294967296/ HTTP/1.1\r\n\r\n"));
  std::string resp = recv_all(c.get());
  EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 400") << resp;
  EXPECT_EQ(lab.dns->total(), 0);
}

TEST(ProxyHttp, HexLiteralOfAnAllowedAddressWorks) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.2");
  PROXY_LAB_START(lab, standard_rules(443), standard_names());
  ScopedFd c = lab.client();
  const std::string port = std::to_string(srv.port());
  ASSERT_TRUE(send_all(c.get(), "GET http://0x7f000002:" + port + "/hex HTTP/1.1\r\n\r\n"));
  std::string resp = recv_response(c.get());
  EXPECT_EQ(resp.substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(resp.find("hello 127.0.0.2:" + port + " /hex"), std::string::npos) << resp;
}

TEST(ProxyHttp, V4MappedIpv6ConnectTargets) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer allowed("127.0.0.2", "", "pong");
  RecordingServer denied("127.0.0.3");
  PROXY_LAB_START(lab, standard_rules(443), standard_names());
  ScopedFd c = lab.client();
  ASSERT_TRUE(
      send_all(c.get(), connect_req("[::ffff:127.0.0.3]:" + std::to_string(denied.port()))));
  EXPECT_NE(recv_all(c.get()).find("rule=block-private host=127.0.0.3"), std::string::npos);
  EXPECT_EQ(denied.connections(), 0);
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req("[::ffff:7f00:2]:" + std::to_string(allowed.port()))));
  EXPECT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(recv_all(c.get(), 4), "pong");
}

TEST(ProxyHttp, KeepAliveSecondRequestToDeniedHost) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.4");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  const std::string host = "allowed.test:" + std::to_string(srv.port());
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), "GET http://" + host + "/one HTTP/1.1\r\nHost: " + host +
                                    "\r\nProxy-Connection: keep-alive\r\n\r\n"));
  std::string r1 = recv_response(c.get());
  EXPECT_NE(r1.find("hello " + host + " /one"), std::string::npos) << r1;
  // Same connection, another host: decided again, denied.
  ASSERT_TRUE(send_all(c.get(), "GET http://evil.test/two HTTP/1.1\r\nHost: evil.test\r\n\r\n"));
  std::string r2 = recv_all(c.get());
  EXPECT_EQ(r2.substr(0, 12), "HTTP/1.1 403") << r2;
  EXPECT_NE(r2.find("rule=block-evil host=evil.test"), std::string::npos);
  auto reqs = srv.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0], "GET /one HTTP/1.1 host=" + host);  // origin-form, Proxy-* stripped
}

TEST(ProxyHttp, KeepAliveReusesUpstreamAndDecidesEveryRequest) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.4");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  const std::string host = "allowed.test:" + std::to_string(srv.port());
  ScopedFd c = lab.client();
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(send_all(c.get(), "GET http://" + host + "/r" + std::to_string(i) +
                                      " HTTP/1.1\r\nHost: " + host + "\r\n\r\n"));
    std::string r = recv_response(c.get());
    EXPECT_NE(r.find("/r" + std::to_string(i)), std::string::npos) << r;
  }
  // Chunked response, then one more request on the same connection.
  ASSERT_TRUE(send_all(c.get(), "GET http://" + host + "/chunked HTTP/1.1\r\n\r\n"));
  EXPECT_NE(recv_until(c.get(), "0\r\n\r\n").find("5\r\nhello\r\n0\r\n\r\n"), std::string::npos);
  ASSERT_TRUE(send_all(c.get(),
                       "POST http://" + host + "/post HTTP/1.1\r\nContent-Length: 5\r\n\r\nabcde"));
  EXPECT_NE(recv_response(c.get()).find("/post"), std::string::npos);
  EXPECT_EQ(srv.connections(), 1);  // one upstream connection for all five
  EXPECT_EQ(srv.requests().back(), "POST /post HTTP/1.1 host=" + host + " body=abcde");
  EXPECT_EQ(lab.audit.count(
                [&](const AuditEvent& e) { return e.target == host && e.effective == "allow"; }),
            5u);  // every request decided and recorded
}

TEST(ProxyHttp, RedirectToDeniedHostIsNotFollowedByTheProxy) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.4");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  const std::string host = "allowed.test:" + std::to_string(srv.port());
  ScopedFd c = lab.client();
  ASSERT_TRUE(
      send_all(c.get(), "GET http://" + host + "/redirect?http://evil.test/x HTTP/1.1\r\n\r\n"));
  std::string r = recv_response(c.get());
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 302");
  EXPECT_NE(r.find("Location: http://evil.test/x"), std::string::npos);
  EXPECT_EQ(lab.dns->queries_for("evil.test"), 0);  // the proxy did not chase it
  // curl -L follows it through the proxy and is refused there.
  const std::string cmd =
      "curl -s -L -o /dev/null -w '%{http_code}' --max-time 10 -x http://127.0.0.1:" +
      std::to_string(lab.port()) + " 'http://" + host + "/redirect?http://evil.test/x' 2>&1";
  FILE* f = popen(cmd.c_str(), "r");
  ASSERT_NE(f, nullptr);
  char buf[64] = {};
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  pclose(f);
  EXPECT_EQ(std::string(buf, n), "403");
}

TEST(ProxyHttp, CurlThroughTheProxyAllowedAndDenied) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.4");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  auto run = [&](const std::string& url) {
    const std::string cmd = "http_proxy=http://127.0.0.1:" + std::to_string(lab.port()) +
                            " curl -s --max-time 10 -w ' %{http_code}' '" + url + "' 2>&1";
    FILE* f = popen(cmd.c_str(), "r");
    std::string out;
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    if (f) pclose(f);
    return out;
  };
  const std::string host = "allowed.test:" + std::to_string(srv.port());
  EXPECT_EQ(run("http://" + host + "/curl"), "hello " + host + " /curl 200");
  EXPECT_EQ(run("http://evil.test/"),
            "agentsh: blocked by policy: rule=block-evil host=evil.test\n 403");
}

TEST(ProxyHttp, OneMegabyteHeaderLineGets431AndCostsNothingElse) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.4");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  const std::string host = "allowed.test:" + std::to_string(srv.port());
  ScopedFd c = lab.client();
  std::string req =
      "GET http://" + host + "/ HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  send_all(c.get(), req);  // the proxy may stop reading early; that is fine
  std::string resp = recv_all(c.get());
  EXPECT_EQ(resp.substr(0, resp.find("\r\n")), "HTTP/1.1 431 Request Header Fields Too Large")
      << resp.substr(0, 200);
  EXPECT_NE(resp.find("request head larger than 65536 bytes"), std::string::npos);
  EXPECT_EQ(srv.connections(), 0);
  // The proxy carries on.
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), "GET http://" + host + "/after HTTP/1.1\r\n\r\n"));
  EXPECT_NE(recv_response(c.get()).find("/after"), std::string::npos);
}

TEST(ProxyHttp, BadRequestsGetClearErrors) {
  Lab lab;
  PROXY_LAB_START(lab, standard_rules(443), standard_names());
  struct Case {
    std::string req;
    std::string status;
    std::string body;
  } cases[] = {
      {"CONNECT allowed.test:0 HTTP/1.1\r\n\r\n", "400", "bad CONNECT target: port out of range"},
      {"CONNECT allowed.test:99999 HTTP/1.1\r\n\r\n", "400",
       "bad CONNECT target: port out of range"},
      {"CONNECT allowed.test:123456 HTTP/1.1\r\n\r\n", "400", "bad CONNECT target: bad port"},
      {"CONNECT allowed.test:https HTTP/1.1\r\n\r\n", "400", "bad CONNECT target: bad port"},
      {"CONNECT allowed.test HTTP/1.1\r\n\r\n", "400", "bad CONNECT target: missing port"},
      {"GET https://allowed.test/ HTTP/1.1\r\n\r\n", "400", "tunnelled with CONNECT"},
      {"GET / HTTP/1.1\r\nHost: allowed.test\r\n\r\n", "400", "needs an absolute URI"},
      {"GET http://a.test/ HTTP/3.0\r\n\r\n", "505", "unsupported HTTP version"},
      {"POST http://allowed.test/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: "
       "chunked\r\n\r\n",
       "400", "both Transfer-Encoding and Content-Length"},
      {"\x16\x03\x01\x00\x10garbage-not-http", "400", "not an HTTP request"},
  };
  for (const auto& t : cases) {
    ScopedFd c = lab.client();
    ASSERT_TRUE(send_all(c.get(), t.req));
    std::string resp = recv_all(c.get());
    EXPECT_EQ(resp.substr(9, 3), t.status) << t.req << " → " << resp;
    EXPECT_NE(resp.find(t.body), std::string::npos) << t.req << " → " << resp;
  }
  EXPECT_EQ(lab.dns->total(), 0);
}

TEST(ProxyHttp, ApprovalAskedThenAllowedOrDenied) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4", "", "pong");
  PROXY_LAB_START(lab, standard_rules(srv.port()), standard_names());
  const std::string target = "ask.test:" + std::to_string(srv.port());
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req(target)));
  std::string resp = recv_all(c.get());
  EXPECT_NE(resp.find("403 Forbidden"), std::string::npos);
  EXPECT_NE(resp.find("rule=approve-ask host=ask.test"), std::string::npos) << resp;
  lab.decider->set_approve(true);
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req(target)));
  EXPECT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  ASSERT_TRUE(send_all(c.get(), "ping"));
  EXPECT_EQ(recv_all(c.get(), 4), "pong");
  EXPECT_EQ(lab.decider->asked().size(), 2u);
}

TEST(ProxyHttp, UnresolvableAndRefusedUpstreams) {
  Lab lab;
  PROXY_LAB_START(lab,
                  {{"allow-all-test", {"*.test"}, {}, {}, NetEffect::kAllow},
                   {"allow-lo", {}, {"127.0.0.0/8"}, {}, NetEffect::kAllow}},
                  standard_names());
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req("nonexistent.test:443")));
  std::string resp = recv_all(c.get());
  EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 502") << resp;
  EXPECT_NE(resp.find("cannot resolve nonexistent.test: no such host"), std::string::npos) << resp;
  // Nothing listens on 127.0.0.2:1.
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req("127.0.0.2:1")));
  resp = recv_all(c.get());
  EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 502") << resp;
  EXPECT_NE(resp.find("Connection refused"), std::string::npos) << resp;
  // The proxy refuses to connect to itself.
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), connect_req("127.0.0.1:" + std::to_string(lab.port()))));
  resp = recv_all(c.get());
  EXPECT_NE(resp.find("rule=agentsh-proxy-loop"), std::string::npos) << resp;
}

}  // namespace
}  // namespace agentsh::proxy::testing
