// TLS through CONNECT: the ClientHello's server name is decided too (no decryption),
// garbage ClientHellos are refused cleanly, rewrite_sni redirects rewrite it, and a real
// TLS client (curl) talks to a real TLS server (openssl s_server) through the tunnel.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include "tests/unit/proxy_redirect_testdata.h"

#include "proxy/client_hello.h"
#include "tests/integration/proxy_support.h"
#include "tests/unit/proxy_tls_testdata.h"

namespace agentsh::proxy::testing {
namespace {

namespace td = testdata;

std::vector<FakeRule> tls_rules(uint16_t port) {
  return {
      {"block-evil", {"evil.test"}, {}, {}, NetEffect::kDeny},
      {"allow-test",
       {"allowed.test", "other.test", "old.test", "tls.test"},
       {},
       {port},
       NetEffect::kAllow},
      {"approve-sni", {"asksni.test"}, {}, {}, NetEffect::kAsk},
  };
}

std::map<std::string, std::vector<std::string>> tls_names() {
  return {{"allowed.test", {"127.0.0.4"}},
          {"other.test", {"127.0.0.4"}},
          {"tls.test", {"127.0.0.4"}},
          {"evil.test", {"127.0.0.4"}}};
}

ScopedFd open_tunnel(Lab& lab, const std::string& target) {
  ScopedFd c = lab.client();
  if (!c) return c;
  send_all(c.get(), "CONNECT " + target + " HTTP/1.1\r\n\r\n");
  if (recv_until(c.get(), "\r\n\r\n") != "HTTP/1.1 200 Connection established\r\n\r\n")
    return ScopedFd();
  return c;
}

TEST(ProxyTls, SniMatchingTheConnectHostPassesUntouched) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4");
  PROXY_LAB_START(lab, tls_rules(srv.port()), tls_names());
  ScopedFd c = open_tunnel(lab, "allowed.test:" + std::to_string(srv.port()));
  ASSERT_TRUE(c);
  const std::string hello = td::client_hello_with_sni("allowed.test");
  ASSERT_TRUE(send_all(c.get(), hello + "more"));
  shutdown(c.get(), SHUT_WR);
  EXPECT_EQ(recv_all(c.get()), "");  // the server closes after our FIN
  lab.proxy->stop();
  auto got = srv.received(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], hello + "more");  // byte for byte
}

TEST(ProxyTls, DifferentDeniedSniClosesBeforeAnythingReachesTheServer) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4");
  PROXY_LAB_START(lab, tls_rules(srv.port()), tls_names());
  ScopedFd c = open_tunnel(lab, "allowed.test:" + std::to_string(srv.port()));
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), td::client_hello_with_sni("evil.test")));
  // A fatal access_denied alert, then EOF.
  EXPECT_EQ(recv_all(c.get()), client_hello::fatal_alert(49));
  ASSERT_TRUE(lab.audit.wait_for([&](const AuditEvent& e) {
    return e.target == "evil.test:" + std::to_string(srv.port()) && e.effective == "deny" &&
           e.rule == "block-evil" &&
           e.message.find("TLS SNI evil.test differs") != std::string::npos;
  }));
  lab.proxy->stop();
  auto got = srv.received(1);
  ASSERT_EQ(got.size(), 1u);  // connected (the CONNECT host was allowed)...
  EXPECT_EQ(got[0], "");      // ...but not one byte of the ClientHello arrived
}

TEST(ProxyTls, DifferentAllowedSniIsRecordedAndPasses) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4", "", "ok");
  PROXY_LAB_START(lab, tls_rules(srv.port()), tls_names());
  const std::string port = std::to_string(srv.port());
  ScopedFd c = open_tunnel(lab, "allowed.test:" + port);
  ASSERT_TRUE(c);
  // Split across many records and sent one byte at a time: still parsed.
  const std::string hello = td::client_hello_with_sni("other.test", 9);
  for (char ch : hello) ASSERT_TRUE(send_all(c.get(), std::string_view(&ch, 1)));
  EXPECT_EQ(recv_all(c.get(), 2), "ok");
  ASSERT_TRUE(lab.audit.wait_for([&](const AuditEvent& e) {
    return e.target == "other.test:" + port && e.effective == "allow" && e.rule == "allow-test";
  }));
}

TEST(ProxyTls, SniNeedingApprovalWaitsForTheAnswer) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4", "", "ok");
  PROXY_LAB_START(lab, tls_rules(srv.port()), tls_names());
  const std::string target = "allowed.test:" + std::to_string(srv.port());
  const std::string hello = td::client_hello_with_sni("asksni.test");
  ScopedFd c = open_tunnel(lab, target);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), hello));
  EXPECT_EQ(recv_all(c.get()), client_hello::fatal_alert(49));  // nobody approved
  lab.decider->set_approve(true);
  c = open_tunnel(lab, target);
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), hello + "after"));
  EXPECT_EQ(recv_all(c.get(), 2), "ok");
  c.reset();
  lab.proxy->stop();
  auto got = srv.received(2);  // the refused tunnel (nothing) and the approved one
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0] + got[1], hello + "after");  // the hello first, in order, nothing lost
  EXPECT_EQ(lab.decider->asked().size(), 2u);
}

TEST(ProxyTls, GarbageClientHelloGetsDecodeErrorAndCostsNothingElse) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.4", "", "ok");
  PROXY_LAB_START(lab, tls_rules(srv.port()), tls_names());
  const std::string target = "allowed.test:" + std::to_string(srv.port());
  const std::string garbage[] = {
      std::string("\x16\x03\x01\x00\x05\x02\x00\x00\x01\x00", 10),  // a ServerHello
      std::string("\x16\x03\x01\x00\x00", 5),                       // empty record
      std::string("\x16\x07garbage", 9),                            // bad version
      td::client_hello({td::sni_extension("a.test"), td::sni_extension("b.test")}),  // dup
  };
  int i = 0;
  for (const auto& g : garbage) {
    ScopedFd c = open_tunnel(lab, target);
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), g));
    EXPECT_EQ(td::to_hex(recv_all(c.get())), td::to_hex(client_hello::fatal_alert(50)))
        << "case " << i;
    ++i;
  }
  EXPECT_EQ(lab.audit.count([](const AuditEvent& e) { return e.rule == "agentsh-malformed-tls"; }),
            4u);
  // A good one still works.
  ScopedFd c = open_tunnel(lab, target);
  const std::string good = td::client_hello_with_sni("allowed.test");
  ASSERT_TRUE(send_all(c.get(), good));
  EXPECT_EQ(recv_all(c.get(), 2), "ok");
  lab.proxy->stop();
  auto got = srv.received(5);  // four refused tunnels got nothing, the good one its hello
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(std::count(got.begin(), got.end(), good), 1);
  EXPECT_EQ(std::count(got.begin(), got.end(), ""), 4);
}

TEST(ProxyTls, RewriteSniRedirect) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer mirror("127.0.0.2", "", "ok");
  PROXY_LAB_START(lab, tls_rules(443), tls_names(), [&](Proxy::Options& o) {
    o.connect_redirects.push_back(testdata::connect_redirect(
        "to-mirror", "^old\\.test:443$", "127.0.0.2:" + std::to_string(mirror.port()),
        "rewrite_sni", "mirror.test"));
  });
  ScopedFd c = open_tunnel(lab, "old.test:443");
  ASSERT_TRUE(c);
  ASSERT_TRUE(send_all(c.get(), td::openssl_client_hello()));
  EXPECT_EQ(recv_all(c.get(), 2), "ok");
  c.reset();
  lab.proxy->stop();
  auto got = mirror.received(1);
  ASSERT_EQ(got.size(), 1u);
  client_hello::Info info;
  std::string err;
  ASSERT_EQ(client_hello::parse(got[0], &info, &err), client_hello::Status::kOk);
  EXPECT_EQ(info.sni, "mirror.test");
  EXPECT_EQ(lab.dns->queries_for("old.test"), 0);  // redirected, never resolved
  EXPECT_EQ(lab.audit.count([](const AuditEvent& e) {
    return e.target == "old.test:443" && e.effective == "allow" &&
           e.message.find("redirected_to=127.0.0.2") != std::string::npos;
  }),
            1u);
}

// Runs a command, returns its stdout.
std::string run(const std::string& cmd) {
  FILE* f = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  size_t n;
  while (f && (n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  if (f) pclose(f);
  return out;
}

TEST(ProxyTls, RealCurlToRealTlsServerThroughTheTunnel) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  if (run("command -v openssl >/dev/null && command -v curl >/dev/null && echo yes") != "yes\n")
    GTEST_SKIP() << "needs openssl and curl";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  char dir_tmpl[] = "/tmp/agentsh-proxy-tls.XXXXXX";
  ASSERT_NE(mkdtemp(dir_tmpl), nullptr);
  const std::string dir = dir_tmpl;
  ASSERT_EQ(run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 "
                "-subj /CN=tls.test -addext subjectAltName=DNS:tls.test -keyout " +
                dir + "/key.pem -out " + dir + "/cert.pem 2>/dev/null && echo ok"),
            "ok\n");
  // A free port for s_server (inside our namespace nothing else runs).
  uint16_t port = 0;
  { ScopedFd probe = listen_on("127.0.0.4", 0, SOCK_STREAM, &port); }
  pid_t server = fork();
  if (server == 0) {
    execlp("openssl", "openssl", "s_server", "-quiet", "-www", "-accept",
           ("127.0.0.4:" + std::to_string(port)).c_str(), "-cert", (dir + "/cert.pem").c_str(),
           "-key", (dir + "/key.pem").c_str(), nullptr);
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {  // wait until it listens
    if (dial("127.0.0.4", port)) break;
    usleep(20000);
  }
  PROXY_LAB_START(lab, tls_rules(port), tls_names());
  const std::string proxy = "http://127.0.0.1:" + std::to_string(lab.port());
  std::string out =
      run("curl -s --max-time 10 -o /dev/null -w '%{http_code}' --cacert " + dir + "/cert.pem -x " +
          proxy + " https://tls.test:" + std::to_string(port) + "/ 2>&1");
  EXPECT_EQ(out, "200");
  // The same server under a denied name: curl's CONNECT is refused with a 403.
  out = run("curl -s --max-time 10 -o /dev/null -w '%{http_connect}' --cacert " + dir +
            "/cert.pem -x " + proxy + " https://evil.test:" + std::to_string(port) + "/ 2>&1");
  EXPECT_EQ(out, "403");
  kill(server, SIGTERM);
  waitpid(server, nullptr, 0);
  run("rm -rf " + dir);
}

}  // namespace
}  // namespace agentsh::proxy::testing
