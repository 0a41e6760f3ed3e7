// Every outbound connection of the agent tree goes through the session's proxy, and DNS
// queries to any resolver reach agentsh's: `agentsh exec` in its three shapes (hook +
// tracer, hook only, tracer only) running tests/cases/net_probe (dynamic and static) and
// curl. Everything happens in a network namespace the test creates (servers on
// 127.0.0.0/8 and ::1; the "resolver" 10.9.9.9 does not even have a route), and names
// come from an /etc/hosts bind-mounted in a private mount namespace of the agentsh run.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/scoped_fd.h"
#include "tests/integration/exec_support.h"
#include "tests/integration/layer_shapes.h"
#include "tests/integration/proxy_support.h"

namespace agentsh {
namespace {

using testing_support::agentsh_bin;
using testing_support::base_env;
using testing_support::kDynamicShapes;
using testing_support::kGovernedShapes;
using testing_support::repo_root;
using testing_support::run;
using testing_support::RunResult;
using testing_support::Shape;
using testing_support::shape_name;
using testing_support::TempDir;
using testing_support::with_private_etc;
using testing_support::write_test_config;

constexpr uint16_t kPort = 8080;  // the probe servers
constexpr uint16_t kHttp = 80;    // curl's server

// A listener (TCP or UDP) on one address that counts what reaches it. TCP: writes
// `greeting` to each client (or, with `http`, answers one HTTP request). Stops and joins
// in the destructor.
class CountingServer {
 public:
  CountingServer(const std::string& ip, uint16_t port, int type, bool http = false) : http_(http) {
    const bool v6 = ip.find(':') != std::string::npos;
    fd_.reset(::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0));
    int one = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6) ::setsockopt(fd_.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    sockaddr_storage ss{};
    socklen_t len;
    if (v6) {
      auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
      a->sin6_family = AF_INET6;
      a->sin6_port = htons(port);
      ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
      len = sizeof *a;
    } else {
      auto* a = reinterpret_cast<sockaddr_in*>(&ss);
      a->sin_family = AF_INET;
      a->sin_port = htons(port);
      ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
      len = sizeof *a;
    }
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        (type == SOCK_STREAM && ::listen(fd_.get(), 64) != 0)) {
      error_ = "cannot bind " + ip + ":" + std::to_string(port) + ": " + std::strerror(errno);
      return;
    }
    greeting_ = "HELLO " + ip + ":" + std::to_string(port) + "\n";
    thread_ = std::thread([this, type] { loop(type); });
  }
  ~CountingServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::string& error() const { return error_; }
  int count() const { return count_.load(); }

 private:
  void loop(int type) {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      if (type == SOCK_DGRAM) {
        char buf[2048];
        if (::recv(fd_.get(), buf, sizeof buf, MSG_DONTWAIT) >= 0) ++count_;
        continue;
      }
      ScopedFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) continue;
      ++count_;
      timeval tv{5, 0};
      ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      std::string out = greeting_;
      if (http_) {
        std::string head;
        char ch;
        while (head.find("\r\n\r\n") == std::string::npos && ::recv(c.get(), &ch, 1, 0) == 1)
          head += ch;
        out = "HTTP/1.0 200 OK\r\nContent-Length: " + std::to_string(greeting_.size()) +
              "\r\nConnection: close\r\n\r\n" + greeting_;
      }
      (void)!::send(c.get(), out.data(), out.size(), MSG_NOSIGNAL);
    }
  }

  ScopedFd fd_;
  bool http_;
  std::string greeting_, error_;
  std::atomic<int> count_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

const char* kPolicy = R"(version: 1
name: default
file_rules:
  - name: allow-all-files
    paths: ["/**"]
    operations: ["*"]
    decision: allow
network_rules:
  - name: allow-lo-8080
    cidrs: ["127.0.0.1/32", "::1/128"]
    ports: [8080]
    decision: allow
  - name: deny-127-2
    cidrs: ["127.0.0.2/32"]
    decision: deny
  - name: allow-named
    domains: ["named.test"]
    ports: [8080]
    decision: allow
  - name: allow-allowed-http
    domains: ["allowed.test"]
    ports: [80]
    decision: allow
  - name: deny-denied-name
    domains: ["denied.test"]
    decision: deny
command_rules:
  - name: all
    commands: ["*"]
    decision: allow
dns_redirects:
  - name: named-to-3
    match: "^named\\.test$"
    resolve_to: "127.0.0.3"
)";

class NetRedirect : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    if (!netns_.ok()) GTEST_SKIP() << netns_.error();
    dir_.write("policies/default.yaml", kPolicy);
    dir_.write("hosts", "127.0.0.1 localhost\n127.0.0.3 allowed.test\n127.0.0.4 denied.test\n");
    dir_.write("resolv.conf", "nameserver 10.9.9.9\noptions timeout:1 attempts:1\n");
    config_ = write_test_config(dir_);
    for (auto* s :
         {&allowed_, &denied_, &named_, &v6_, &http_allowed_, &http_denied_, &ssh_, &udp_denied_})
      ASSERT_EQ((*s)->error(), "");
  }
  bool hook_governs() const {
    return std::string(GetParam().mode) != "--no-hook" && std::string(GetParam().suffix).empty();
  }
  // agentsh exec MODE -- CMD… in a private mount namespace with our /etc/hosts and an
  // /etc/resolv.conf naming the unreachable resolver 10.9.9.9.
  RunResult exec(const std::vector<std::string>& cmd) {
    std::vector<std::string> argv = with_private_etc(dir_.file("hosts"), dir_.file("resolv.conf"));
    argv.insert(argv.end(), {agentsh_bin(), "exec", "--config", config_});
    if (*GetParam().mode) argv.push_back(GetParam().mode);
    argv.push_back("--");
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv, base_env(dir_), "", 60);
  }
  RunResult probe(const std::vector<std::string>& args) {
    std::vector<std::string> cmd = {repo_root() + "/build/tests/cases/net_probe" +
                                    GetParam().suffix};
    cmd.insert(cmd.end(), args.begin(), args.end());
    return exec(cmd);
  }
  std::string events() {
    return run({agentsh_bin(), "events", "query", "--config", config_, "--type", "network"},
               base_env(dir_))
        .out;
  }

  proxy::testing::ScopedNetns netns_;
  TempDir dir_;
  std::string config_;
  std::unique_ptr<CountingServer> allowed_ =
      std::make_unique<CountingServer>("127.0.0.1", kPort, SOCK_STREAM);
  std::unique_ptr<CountingServer> denied_ =
      std::make_unique<CountingServer>("127.0.0.2", kPort, SOCK_STREAM);
  std::unique_ptr<CountingServer> named_ =
      std::make_unique<CountingServer>("127.0.0.3", kPort, SOCK_STREAM);
  std::unique_ptr<CountingServer> v6_ = std::make_unique<CountingServer>("::1", kPort, SOCK_STREAM);
  std::unique_ptr<CountingServer> http_allowed_ =
      std::make_unique<CountingServer>("127.0.0.3", kHttp, SOCK_STREAM, true);
  std::unique_ptr<CountingServer> http_denied_ =
      std::make_unique<CountingServer>("127.0.0.4", kHttp, SOCK_STREAM, true);
  // Speaks first, like an SSH server.
  std::unique_ptr<CountingServer> ssh_ =
      std::make_unique<CountingServer>("127.0.0.6", 22, SOCK_STREAM);
  std::unique_ptr<CountingServer> udp_denied_ =
      std::make_unique<CountingServer>("127.0.0.2", 9, SOCK_DGRAM);
};

TEST_P(NetRedirect, ConnectByIpIsDecidedByTheProxyAndLooksDirect) {
  RunResult ok = probe({"connect", "127.0.0.1", "8080"});
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  // getpeername shows the original peer, not the proxy (the hook or the tracer answer it).
  EXPECT_EQ(ok.out, "connect OK peer=127.0.0.1:8080 read=HELLO 127.0.0.1:8080\n");
  EXPECT_EQ(allowed_->count(), 1);

  RunResult no = probe({"connect", "127.0.0.2", "8080"});
  EXPECT_EQ(no.out, "connect ERR EACCES\n") << no.err;
  EXPECT_EQ(no.status, 1);
  EXPECT_EQ(denied_->count(), 0);  // the proxy never connected
  // One record, from the proxy, naming rule, address and port (no second one from the
  // hook or the tracer: they decided nothing themselves).
  std::string ev = events();
  size_t at = ev.find("127.0.0.2:8080");
  ASSERT_NE(at, std::string::npos) << ev;
  EXPECT_EQ(ev.find("127.0.0.2:8080", at + 1), std::string::npos) << ev;
  size_t bol = ev.rfind('\n', at);
  std::string line = ev.substr(bol == std::string::npos ? 0 : bol + 1);
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find(" connect "), std::string::npos) << line;
  EXPECT_NE(line.find(" deny "), std::string::npos) << line;
  EXPECT_NE(line.find("deny-127-2"), std::string::npos) << line;
  EXPECT_NE(line.find("via=transparent"), std::string::npos) << line;
}

TEST_P(NetRedirect, PeerSurvivesDupAndFork) {
  RunResult r = probe({"dupfork", "::ffff:127.0.0.1", "8080"});
  EXPECT_EQ(r.out, "child peer=[::ffff:127.0.0.1]:8080\n") << r.err;
  EXPECT_EQ(r.status, 0);
}

// A short buffer gets what fits and the size the address needs, as from the kernel.
TEST_P(NetRedirect, PeerIntoAShortBufferIsTruncatedLikeTheKernelDoes) {
  RunResult r = probe({"peershort", "127.0.0.1", "8080"});
  EXPECT_EQ(r.out, "peershort len=16 family=2 port=8080 guard=intact\n") << r.err;
}

TEST_P(NetRedirect, NonBlockingConnectPollsWritableWithSoErrorZero) {
  RunResult ok = probe({"nbconnect", "127.0.0.1", "8080"});
  EXPECT_EQ(ok.status, 0) << ok.out << ok.err;
  EXPECT_EQ(ok.out,
            "nbconnect ret=EINPROGRESS nonblock=1 so_error=0 peer=127.0.0.1:8080 "
            "read=HELLO 127.0.0.1:8080\n");
  RunResult no = probe({"nbconnect", "127.0.0.2", "8080"});
  EXPECT_EQ(no.out, "nbconnect ERR EACCES\n") << no.err;
  EXPECT_EQ(denied_->count(), 0);
}

TEST_P(NetRedirect, TcpFastOpenGoesThroughTheProxyToo) {
  RunResult ok = probe({"tfo", "127.0.0.1", "8080"});
  EXPECT_EQ(ok.out, "tfo OK peer=127.0.0.1:8080 read=HELLO 127.0.0.1:8080\n") << ok.err;
  RunResult no = probe({"tfo", "127.0.0.2", "8080"});
  EXPECT_EQ(no.out, "tfo ERR EACCES\n") << no.err;
  EXPECT_EQ(denied_->count(), 0);
  EXPECT_EQ(allowed_->count(), 1);
  // The proxy made both decisions (an allow decided locally would leave no record).
  std::string ev = events();
  EXPECT_NE(ev.find("127.0.0.1:8080  # via=transparent"), std::string::npos) << ev;
  EXPECT_NE(ev.find("127.0.0.2:8080  # via=transparent"), std::string::npos) << ev;
}

TEST_P(NetRedirect, Ipv6AndV4MappedDestinations) {
  RunResult a = probe({"connect", "::1", "8080"});
  EXPECT_TRUE(a.out.starts_with("connect OK ")) << a.out << a.err;
  EXPECT_TRUE(a.out.ends_with(" read=HELLO ::1:8080\n")) << a.out;
  RunResult b = probe({"connect", "::ffff:127.0.0.1", "8080"});
  EXPECT_TRUE(b.out.ends_with(" read=HELLO 127.0.0.1:8080\n")) << b.out << b.err;
  RunResult c = probe({"connect6only", "::1", "8080"});
  EXPECT_TRUE(c.out.ends_with(" read=HELLO ::1:8080\n")) << c.out << c.err;
  RunResult d = probe({"connect", "::ffff:127.0.0.2", "8080"});
  EXPECT_EQ(d.out, "connect ERR EACCES\n") << d.err;
  EXPECT_EQ(a.out, "connect OK peer=[::1]:8080 read=HELLO ::1:8080\n");
  EXPECT_EQ(b.out, "connect OK peer=[::ffff:127.0.0.1]:8080 read=HELLO 127.0.0.1:8080\n");
  EXPECT_EQ(c.out, "connect OK peer=[::1]:8080 read=HELLO ::1:8080\n");
  EXPECT_EQ(v6_->count(), 2);
  EXPECT_EQ(denied_->count(), 0);
}

TEST_P(NetRedirect, DnsQueryToAnyResolverIsAnsweredByAgentsh) {
  // 10.9.9.9 is not reachable from this namespace: an answer can only come from agentsh.
  RunResult no = probe({"dns", "10.9.9.9", "denied.test"});
  RunResult ok = probe({"dnsconnect", "10.9.9.9", "named.test", "8080"});
  if (hook_governs()) {
    // The answer is shown as coming from the resolver the program asked.
    EXPECT_EQ(no.out, "dns rcode=3 from=10.9.9.9:53 answer=-\n") << no.err;
    EXPECT_EQ(ok.out,
              "dns rcode=0 from=10.9.9.9:53 answer=127.0.0.3\n"
              "connect OK peer=127.0.0.3:8080 read=HELLO 127.0.0.3:8080\n")
        << ok.err;
  } else {
    EXPECT_TRUE(no.out.starts_with("dns rcode=3 from=127.0.0.1:")) << no.out << no.err;
    EXPECT_TRUE(ok.out.starts_with("dns rcode=0 from=127.0.0.1:")) << ok.out << ok.err;
    EXPECT_NE(ok.out.find(" answer=127.0.0.3\nconnect OK "), std::string::npos) << ok.out;
    EXPECT_TRUE(ok.out.ends_with(" read=HELLO 127.0.0.3:8080\n")) << ok.out;
  }
  // sendmmsg/recvmmsg (several queries in one call) too.
  RunResult mm = probe({"dnsmmsg", "10.9.9.9", "denied.test"});
  if (hook_governs()) {
    EXPECT_EQ(mm.out, "dnsmmsg sent=2 got=2 rcode=3 from=10.9.9.9:53\n") << mm.err;
  } else {
    EXPECT_TRUE(mm.out.starts_with("dnsmmsg sent=2 got=2 rcode=3 from=127.0.0.1:"))
        << mm.out << mm.err;
  }
  // DNS over TCP to any resolver reaches agentsh's too.
  RunResult tcp = probe({"dnstcp", "10.9.9.9", "denied.test"});
  EXPECT_EQ(tcp.out, "dnstcp rcode=3\n") << tcp.err;
  // 127.0.0.3 has no rule of its own: only the name the DNS proxy handed out allows it.
  EXPECT_EQ(named_->count(), 1);
  std::string ev =
      run({agentsh_bin(), "events", "query", "--config", config_, "--type", "dns"}, base_env(dir_))
          .out;
  EXPECT_NE(ev.find("deny-denied-name"), std::string::npos) << ev;
  EXPECT_NE(ev.find("named-to-3"), std::string::npos) << ev;
}

// The libc resolver (getaddrinfo → glibc's own query sockets, out of the hook's reach)
// asks agentsh's DNS proxy in every shape: resolv.conf names 10.9.9.9, which has no
// route here, so only agentsh can answer (named.test → 127.0.0.3 by dns_redirects).
TEST_P(NetRedirect, LibcResolverAsksTheSessionDnsProxy) {
  RunResult r = probe({"resolve", "named.test", "8080"});
  EXPECT_EQ(r.out, "connect OK peer=127.0.0.3:8080 read=HELLO 127.0.0.3:8080\n") << r.err;
  EXPECT_EQ(named_->count(), 1);
  std::string ev =
      run({agentsh_bin(), "events", "query", "--config", config_, "--type", "dns"}, base_env(dir_))
          .out;
  EXPECT_NE(ev.find("named-to-3"), std::string::npos) << ev;
}

TEST_P(NetRedirect, DatagramToDeniedAddressIsRefusedAndNeverSent) {
  RunResult r = probe({"udp", "127.0.0.2", "9"});
  EXPECT_EQ(r.out, "sendto ERR EACCES\n") << r.err;
  RunResult ok = probe({"udp", "127.0.0.1", "8080"});
  EXPECT_EQ(ok.out, "sendto OK\n") << ok.err;
  usleep(200 * 1000);  // let a stray datagram arrive, if one was sent (there must be none)
  EXPECT_EQ(udp_denied_->count(), 0);
}

// A connect by IP to an address no rule names, on a port no domain rule allows: no
// SNI/Host the client could send later would help, so the proxy refuses at connect —
// a server-speaks-first client (SSH) gets EACCES at once instead of a silent socket.
TEST_P(NetRedirect, BareAddressOnAPortNoNameCouldAllowIsRefusedAtConnect) {
  RunResult r = probe({"connect", "127.0.0.6", "22"});
  EXPECT_EQ(r.out, "connect ERR EACCES\n") << r.err;
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(ssh_->count(), 0);  // the proxy never connected
  std::string ev = events();
  size_t at = ev.find("127.0.0.6:22");
  ASSERT_NE(at, std::string::npos) << ev;
  EXPECT_EQ(ev.find("127.0.0.6:22", at + 1), std::string::npos) << ev;  // one record
  std::string line = ev.substr(ev.rfind('\n', at) + 1);
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find(" deny "), std::string::npos) << line;
  EXPECT_NE(line.find("via=transparent"), std::string::npos) << line;
}

// curl is dynamic: its shapes are the dynamic ones.
class NetRedirectCurl : public NetRedirect {};

TEST_P(NetRedirectCurl, CurlWithoutProxyReachesOnlyTheAllowedName) {
  RunResult ok =
      exec({"curl", "-sS", "--max-time", "20", "--noproxy", "*", "http://allowed.test/"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, "HELLO 127.0.0.3:80\n");
  EXPECT_EQ(http_allowed_->count(), 1);
  RunResult no = exec({"curl", "-sS", "--max-time", "20", "--noproxy", "*", "-o", "/dev/null", "-w",
                       "%{http_code}", "http://denied.test/"});
  if (std::string(GetParam().mode) != "--no-hook") {
    // The hook sent the name curl resolved as the header's hint: refused at connect.
    EXPECT_EQ(no.status, 7) << no.out << no.err;
  } else {
    // The tracer knows no names: the proxy learnt it from the Host header and said 403.
    EXPECT_EQ(no.out, "403") << no.status << no.err;
  }
  EXPECT_EQ(http_denied_->count(), 0);
  std::string ev = events();
  size_t at = ev.find("deny-denied-name");
  ASSERT_NE(at, std::string::npos) << ev;
  std::string line = ev.substr(ev.rfind('\n', at) + 1);
  line = line.substr(0, line.find('\n'));
  // Rule, name, port and the address it was resolved to, in one record.
  EXPECT_NE(line.find(" deny "), std::string::npos) << line;
  EXPECT_NE(line.find("denied.test:80"), std::string::npos) << line;
  EXPECT_NE(line.find("127.0.0.4"), std::string::npos) << ev;
}

// By IP to an address no rule names, on a port a domain rule allows: the proxy says
// "connected" and decides by the Host that follows (it must resolve to that address).
TEST_P(NetRedirectCurl, BareAddressIsDecidedByTheHostThatFollows) {
  RunResult ok = exec({"curl", "-sS", "--max-time", "20", "--noproxy", "*", "-H",
                       "Host: allowed.test", "http://127.0.0.3/"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, "HELLO 127.0.0.3:80\n");
  EXPECT_EQ(http_allowed_->count(), 1);
  // A Host that does not resolve to the address opens nothing.
  RunResult no =
      exec({"curl", "-sS", "--max-time", "20", "--noproxy", "*", "-H", "Host: allowed.test", "-o",
            "/dev/null", "-w", "%{http_code}", "http://127.0.0.4/"});
  EXPECT_EQ(no.out, "403") << no.status << no.err;
  EXPECT_EQ(http_denied_->count(), 0);
}

INSTANTIATE_TEST_SUITE_P(ShapesCurl, NetRedirectCurl, ::testing::ValuesIn(kDynamicShapes),
                         [](const auto& i) { return shape_name(i.param); });

INSTANTIATE_TEST_SUITE_P(Shapes, NetRedirect, ::testing::ValuesIn(kGovernedShapes),
                         [](const auto& i) { return shape_name(i.param); });

}  // namespace
}  // namespace agentsh
