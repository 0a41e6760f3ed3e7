// Built to last: clients that vanish at every step, garbage, many connections at once,
// backpressure, phase timeouts, and stopping with live connections.
#include <gtest/gtest.h>

#include <random>
#include <thread>

#include "proxy/transparent_protocol.h"
#include "tests/integration/proxy_support.h"
#include "tests/unit/proxy_redirect_testdata.h"
#include "tests/unit/proxy_tls_testdata.h"

namespace agentsh::proxy::testing {
namespace {

namespace td = testdata;

std::vector<FakeRule> rules(uint16_t port) {
  return {
      {"allow-test", {"allowed.test"}, {}, {port}, NetEffect::kAllow},
      {"allow-lab", {}, {"127.0.0.2/32"}, {}, NetEffect::kAllow},
  };
}

std::map<std::string, std::vector<std::string>> names() {
  return {{"allowed.test", {"127.0.0.2"}}};
}

// Waits (bounded) until the proxy holds no connection; the bound only guards a hang.
bool drained(Proxy& p) {
  for (int i = 0; i < 500; ++i) {
    if (p.stats().active == 0) return true;
    usleep(10000);
  }
  return false;
}

void reset_close(ScopedFd& fd) {
  linger l{1, 0};  // close with RST
  setsockopt(fd.get(), SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  fd.reset();
}

TEST(ProxyRobustness, ClientsVanishingAtEveryStepCostNothing) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.2", "", "pong");
  PROXY_LAB_START(lab, rules(srv.port()), names());
  const std::string target = "allowed.test:" + std::to_string(srv.port());
  const std::string hello = td::client_hello_with_sni("allowed.test");
  for (int rst = 0; rst < 2; ++rst) {
    auto gone = [&](ScopedFd& c) {
      if (rst)
        reset_close(c);
      else
        c.reset();
    };
    ScopedFd c = lab.client();  // nothing at all
    gone(c);
    c = lab.client();  // half a request line
    send_all(c.get(), "CONNECT allowed.te");
    gone(c);
    c = lab.client();  // a whole CONNECT, gone before the answer
    send_all(c.get(), "CONNECT " + target + " HTTP/1.1\r\n\r\n");
    gone(c);
    c = lab.client();  // tunnel up, gone before the ClientHello
    send_all(c.get(), "CONNECT " + target + " HTTP/1.1\r\n\r\n");
    recv_until(c.get(), "\r\n\r\n");
    gone(c);
    c = lab.client();  // gone in the middle of the ClientHello
    send_all(c.get(), "CONNECT " + target + " HTTP/1.1\r\n\r\n");
    recv_until(c.get(), "\r\n\r\n");
    send_all(c.get(), hello.substr(0, 20));
    gone(c);
    c = lab.client();  // half a transparent header
    send_all(c.get(), std::string("\xA9"
                                  "AGSHTP",
                                  7));
    gone(c);
    c = lab.client();  // plain HTTP, gone in the middle of the body
    send_all(c.get(), "POST http://" + target + "/ HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc");
    gone(c);
  }
  EXPECT_TRUE(drained(*lab.proxy)) << "still active: " << lab.proxy->stats().active;
  // Still serving.
  ScopedFd c = lab.client();
  send_all(c.get(), "CONNECT " + target + " HTTP/1.1\r\n\r\n");
  EXPECT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  send_all(c.get(), hello);
  EXPECT_EQ(recv_all(c.get(), 4), "pong");
}

TEST(ProxyRobustness, GarbageStorm) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  FakeHttpServer srv("127.0.0.2");
  PROXY_LAB_START(lab, rules(srv.port()), names());
  std::mt19937 rng(77);
  for (int i = 0; i < 200; ++i) {
    ScopedFd c = lab.client();
    std::string junk(1 + rng() % 2000, '\0');
    for (auto& ch : junk) ch = static_cast<char>(rng());
    if (i % 3 == 0) junk[0] = static_cast<char>(0xA9);  // pretend transparent
    send_all(c.get(), junk);
    shutdown(c.get(), SHUT_WR);
    std::string resp = recv_all(c.get());
    // Either a clear HTTP error, an errno byte, or a close — never a hang.
    if (!resp.empty() && resp[0] == 'H') {
      EXPECT_EQ(resp.substr(0, 9), "HTTP/1.1 ");
    }
  }
  EXPECT_TRUE(drained(*lab.proxy));
  ScopedFd c = lab.client();
  const std::string host = "allowed.test:" + std::to_string(srv.port());
  send_all(c.get(), "GET http://" + host + "/ok HTTP/1.1\r\n\r\n");
  EXPECT_NE(recv_response(c.get()).find("hello " + host + " /ok"), std::string::npos);
}

TEST(ProxyRobustness, ManyConcurrentTunnels) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  // An echo server on a single thread per connection is fine for a few hundred.
  TcpServer echo("127.0.0.2", [](int fd) {
    char buf[256];
    ssize_t n;
    while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) send_all(fd, std::string_view(buf, n));
  });
  PROXY_LAB_START(lab, rules(echo.port()), names());
  constexpr int kConns = 300;
  std::vector<ScopedFd> conns;
  const std::string target = "127.0.0.2:" + std::to_string(echo.port());
  for (int i = 0; i < kConns; ++i) {
    ScopedFd c = lab.client();
    ASSERT_TRUE(c);
    ASSERT_TRUE(send_all(c.get(), "CONNECT " + target + " HTTP/1.1\r\n\r\n"));
    conns.push_back(std::move(c));
  }
  for (auto& c : conns)
    ASSERT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  EXPECT_EQ(lab.proxy->stats().active, static_cast<uint64_t>(kConns));
  for (int i = 0; i < kConns; ++i) {
    const std::string msg = "HELLO-" + std::to_string(i);  // not TLS, not HTTP: passes as is
    ASSERT_TRUE(send_all(conns[i].get(), msg));
  }
  for (int i = 0; i < kConns; ++i) {
    const std::string msg = "HELLO-" + std::to_string(i);
    ASSERT_EQ(recv_all(conns[i].get(), msg.size()), msg) << i;
  }
  conns.clear();
  EXPECT_TRUE(drained(*lab.proxy));
}

TEST(ProxyRobustness, BackpressureBoundsWhatTheProxyTakesFromAFastUpstream) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  constexpr size_t kTotal = 256u << 20;
  std::atomic<size_t> sent_before_block{0};
  std::atomic<bool> blocked{false};
  TcpServer fast("127.0.0.2", [&](int fd) {
    // Read the client's "GO" first: closing with unread input would send a reset that
    // destroys data still in flight.
    if (recv_all(fd, 2) != "GO") return;
    timeval tv{1, 0};  // a send that makes no progress for 1 s: nobody is reading
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    std::string chunk(1 << 16, 'z');
    size_t sent = 0;
    while (sent < kTotal) {
      ssize_t n = send(fd, chunk.data(), std::min(chunk.size(), kTotal - sent), MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (errno != EAGAIN) break;  // the client went away
      if (!blocked) {              // SO_SNDTIMEO expired: record how far we got
        sent_before_block = sent;
        blocked = true;
      }
    }
  });
  PROXY_LAB_START(lab, rules(fast.port()), names());
  ScopedFd c = lab.client();
  send_all(c.get(), "CONNECT 127.0.0.2:" + std::to_string(fast.port()) + " HTTP/1.1\r\n\r\n");
  ASSERT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  send_all(c.get(), "GO");  // first client bytes: the peek finishes, the server starts
  // Do not read: the server must block because the proxy stops reading from it.
  for (int i = 0; i < 1500 && !blocked; ++i) usleep(10000);
  ASSERT_TRUE(blocked) << "the upstream never blocked: the proxy buffers without bound";
  RecordProperty("bytes_taken_before_block", std::to_string(sent_before_block.load()));
  EXPECT_LT(sent_before_block.load(), 64u << 20) << "taken: " << sent_before_block.load();
  // Reading resumes the flow; every byte arrives.
  size_t got = 0;
  char buf[1 << 16];
  ssize_t n;
  while (got < kTotal && (n = recv(c.get(), buf, sizeof(buf), 0)) > 0) got += n;
  EXPECT_EQ(got, kTotal);
}

// The spliced relay stops asking a socket once a splice moved less than asked (full or
// drained) and relies on epoll to come back: a reader that takes irregular, often tiny
// bites while the other direction streams too must still get every byte, in order.
TEST(ProxyRobustness, BulkBothWaysArrivesIntactThroughIrregularReads) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  constexpr size_t kDown = 48u << 20, kUp = 24u << 20;
  auto byte_at = [](size_t i, uint8_t salt) {
    return static_cast<char>((i * 131 + (i >> 12) + salt) & 0xff);
  };
  auto pattern = [&](size_t from, size_t n, uint8_t salt) {
    std::string s(n, '\0');
    for (size_t k = 0; k < n; ++k) s[k] = byte_at(from + k, salt);
    return s;
  };
  std::atomic<size_t> up_ok{0};
  TcpServer srv("127.0.0.2", [&](int fd) {
    if (recv_all(fd, 2) != "GO") return;
    std::thread reader([&] {  // the upload, checked byte by byte
      char buf[70000];
      size_t got = 0;
      ssize_t n;
      while (got < kUp && (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
        for (ssize_t k = 0; k < n; ++k)
          if (buf[k] != byte_at(got + k, 7)) return;
        got += static_cast<size_t>(n);
      }
      up_ok = got;
    });
    for (size_t sent = 0; sent < kDown;) {
      const size_t n = std::min<size_t>(1 << 18, kDown - sent);
      if (!send_all(fd, pattern(sent, n, 3))) break;
      sent += n;
    }
    reader.join();
  });
  PROXY_LAB_START(lab, rules(srv.port()), names());
  ScopedFd c = lab.client();
  send_all(c.get(), "CONNECT 127.0.0.2:" + std::to_string(srv.port()) + " HTTP/1.1\r\n\r\n");
  ASSERT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  send_all(c.get(), "GO");
  std::thread uploader([&] {
    for (size_t sent = 0; sent < kUp;) {
      const size_t n = std::min<size_t>(100000, kUp - sent);
      if (!send_all(c.get(), pattern(sent, n, 7))) break;
      sent += n;
    }
  });
  std::mt19937 rng(42);
  std::vector<char> buf(1 << 18);
  size_t got = 0, bad_at = SIZE_MAX;
  while (got < kDown && bad_at == SIZE_MAX) {
    // Mostly small bites (1 byte .. 4 KiB), sometimes a big one, sometimes a pause.
    const unsigned r = rng() % 100;
    const size_t want = r < 70 ? 1 + rng() % 4096 : r < 95 ? 1 + rng() % buf.size() : 1;
    if (r == 99) usleep(2000);
    ssize_t n = recv(c.get(), buf.data(), want, 0);
    if (n <= 0) break;
    for (ssize_t k = 0; k < n && bad_at == SIZE_MAX; ++k)
      if (buf[k] != byte_at(got + k, 3)) bad_at = got + k;
    got += static_cast<size_t>(n);
  }
  uploader.join();
  EXPECT_EQ(bad_at, SIZE_MAX) << "first wrong byte at " << bad_at;
  EXPECT_EQ(got, kDown);
  c.reset();
  for (int i = 0; i < 500 && up_ok.load() < kUp; ++i) usleep(10000);
  EXPECT_EQ(up_ok.load(), kUp) << "the upload was cut or corrupted";
}

TEST(ProxyRobustness, PhaseTimeouts) {
  Lab lab;
  PROXY_LAB_START(lab, rules(443), names(), [](Proxy::Options& o) {
    o.timeouts.head = std::chrono::milliseconds(200);
    o.timeouts.deferred = std::chrono::milliseconds(200);
    o.timeouts.linger = std::chrono::milliseconds(200);
  });
  // Silent client: closed without an answer.
  ScopedFd c = lab.client();
  EXPECT_EQ(recv_all(c.get()), "");
  // Slowloris: half a head, then nothing — 408.
  c = lab.client();
  send_all(c.get(), "GET http://allowed.test/ HTTP/1.1\r\nX-Slow: ");
  std::string resp = recv_all(c.get());
  EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 408") << resp;
  // Transparent to a bare, unnamed address that says nothing: refused after the wait.
  c = lab.client();
  uint8_t hdr[transparent_protocol::kHeaderSize];
  IpAddress a;
  IpAddress::parse("127.0.0.9", &a);
  transparent_protocol::encode(a, 443, 1, "", hdr);
  send_all(c.get(), std::string_view(reinterpret_cast<char*>(hdr), sizeof(hdr)));
  EXPECT_EQ(recv_all(c.get()), std::string(1, '\0'));  // "connected" (deferred), then closed
  EXPECT_TRUE(lab.audit.wait_for([](const AuditEvent& e) {
    return e.target == "127.0.0.9:443" && e.effective == "deny" &&
           e.message.find("no TLS server name or HTTP Host arrived") != std::string::npos;
  }));
}

TEST(ProxyRobustness, StopClosesLiveConnections) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer srv("127.0.0.2");
  PROXY_LAB_START(lab, rules(srv.port()), names());
  std::vector<ScopedFd> conns;
  for (int i = 0; i < 20; ++i) {
    ScopedFd c = lab.client();
    send_all(c.get(), "CONNECT 127.0.0.2:" + std::to_string(srv.port()) + " HTTP/1.1\r\n\r\n");
    recv_until(c.get(), "\r\n\r\n");
    conns.push_back(std::move(c));
  }
  conns.push_back(lab.client());  // and one that said nothing yet
  lab.proxy->stop();
  for (auto& c : conns) {
    char b;
    errno = 0;
    ssize_t n = recv(c.get(), &b, 1, 0);
    EXPECT_TRUE(n == 0 || (n < 0 && errno == ECONNRESET)) << "n=" << n << " errno=" << errno;
  }
  lab.proxy.reset();  // destructor after stop: no double free
}

TEST(ProxyRobustness, ConnectRedirectFallsBackToTheOriginalWhenAsked) {
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  RecordingServer original("127.0.0.2", "", "original");
  PROXY_LAB_START(lab, rules(original.port()), names(), [&](Proxy::Options& o) {
    // The mirror (127.0.0.2:1) is down.
    o.connect_redirects.push_back(td::connect_redirect("mirror", "^allowed\\.test$", "127.0.0.2:1",
                                                       "", "", "retry_original"));
  });
  ScopedFd c = lab.client();
  send_all(c.get(),
           "CONNECT allowed.test:" + std::to_string(original.port()) + " HTTP/1.1\r\n\r\n");
  ASSERT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  send_all(c.get(), "hi");
  EXPECT_EQ(recv_all(c.get(), 8), "original");
  EXPECT_TRUE(lab.audit.wait_for([](const AuditEvent& e) {
    return e.message.find("failed; retrying the original target") != std::string::npos;
  }));
}

}  // namespace
}  // namespace agentsh::proxy::testing
