// A program that asks the DNS through glibc's res_* API directly (res_query, res_search,
// res_querydomain, res_send of its own packet, res_nquery/res_nsearch/res_nquerydomain/
// res_nsend on its own state after res_ninit, servers set by hand after res_init), or a
// reverse lookup (getnameinfo, gethostbyaddr), never calling getaddrinfo, each in a fresh
// thread: under `agentsh exec` its queries reach agentsh's DNS proxy, never the name
// server /etc/resolv.conf names. In hook-only mode only the hook can do that (glibc's
// resolver sends with internal socket calls the hook cannot interpose; issue #5); the
// shapes with the tracer are asserted too (hook + tracer, tracer only, and the static
// build under the tracer).
//
// Everything happens in a network namespace the test creates. /etc/resolv.conf (bind-
// mounted in a private mount namespace of the run) names a counting fake name server on
// [::1]:53 first (an IPv6 server: glibc keeps it in _u._ext) and 127.0.0.9:53 second; it
// never answers, and the test asserts it received nothing. Names: denied.test is denied
// (NXDOMAIN from agentsh), named.test is answered by agentsh itself (dns_redirects →
// 127.0.0.3), reverse names are denied — none needs an upstream.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
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
using testing_support::kGovernedShapes;
using testing_support::repo_root;
using testing_support::run;
using testing_support::RunResult;
using testing_support::Shape;
using testing_support::shape_name;
using testing_support::TempDir;
using testing_support::with_private_etc;
using testing_support::write_test_config;

// A name server that counts what reaches it (UDP datagrams and TCP connections on
// IP:53) and never answers. Stops and joins in the destructor.
class SilentNameServer {
 public:
  explicit SilentNameServer(const std::string& ip) {
    const bool v6 = ip.find(':') != std::string::npos;
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      ScopedFd fd(::socket(v6 ? AF_INET6 : AF_INET, type | SOCK_CLOEXEC, 0));
      int one = 1;
      ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      sockaddr_storage ss{};
      socklen_t len;
      if (v6) {
        ::setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(53);
        ::inet_pton(AF_INET6, ip.c_str(), &a->sin6_addr);
        len = sizeof *a;
      } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(53);
        ::inet_pton(AF_INET, ip.c_str(), &a->sin_addr);
        len = sizeof *a;
      }
      if (!fd || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
          (type == SOCK_STREAM && ::listen(fd.get(), 16) != 0)) {
        error_ = "cannot bind " + ip + ":53: " + std::strerror(errno);
        return;
      }
      (type == SOCK_DGRAM ? udp_ : tcp_) = std::move(fd);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~SilentNameServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const std::string& error() const { return error_; }
  int count() const { return count_.load(); }

 private:
  void loop() {
    while (!stop_) {
      pollfd p[2] = {{udp_.get(), POLLIN, 0}, {tcp_.get(), POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      if ((p[0].revents & POLLIN) != 0) {
        char buf[4096];
        if (::recv(udp_.get(), buf, sizeof buf, MSG_DONTWAIT) >= 0) ++count_;
      }
      if ((p[1].revents & POLLIN) != 0) {
        ScopedFd c(::accept4(tcp_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (c) ++count_;
      }
    }
  }

  ScopedFd udp_, tcp_;
  std::string error_;
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
  - name: allow-named
    domains: ["named.test"]
    decision: allow
  - name: deny-denied-name
    domains: ["denied.test"]
    decision: deny
  - name: deny-reverse
    domains: ["*.in-addr.arpa", "in-addr.arpa"]
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

class HookDnsResApi : public ::testing::TestWithParam<Shape> {
 protected:
  void SetUp() override {
    if (!netns_.ok()) GTEST_SKIP() << netns_.error();
    ASSERT_EQ(ns4_.error(), "");
    ASSERT_EQ(ns6_.error(), "");
    dir_.write("policies/default.yaml", kPolicy);
    dir_.write("hosts", "127.0.0.1 localhost\n");
    dir_.write("resolv.conf",
               "nameserver ::1\nnameserver 127.0.0.9\noptions timeout:1 attempts:1\n");
    config_ = write_test_config(dir_);
  }
  // CMD… in a private mount namespace with our /etc/hosts and /etc/resolv.conf, under
  // `agentsh exec MODE` unless `bare`.
  RunResult exec(const std::vector<std::string>& args, bool bare = false) {
    std::vector<std::string> argv = with_private_etc(dir_.file("hosts"), dir_.file("resolv.conf"));
    if (!bare) {
      argv.insert(argv.end(), {agentsh_bin(), "exec", "--config", config_});
      if (*GetParam().mode) argv.emplace_back(GetParam().mode);
      argv.emplace_back("--");
    }
    argv.push_back(repo_root() + "/build/tests/cases/hook_dns_resapi" + GetParam().suffix);
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, base_env(dir_), "", 60);
  }
  int leaked() const { return ns4_.count() + ns6_.count(); }

  proxy::testing::ScopedNetns netns_;
  TempDir dir_;
  std::string config_;
  SilentNameServer ns4_{"127.0.0.9"};
  SilentNameServer ns6_{"::1"};
};

// The control: without agentsh the program really asks resolv.conf's servers (so the
// counting servers and the program do what the other tests rely on).
TEST_P(HookDnsResApi, WithoutAgentshTheQueryReachesResolvConfServer) {
  RunResult r = exec({"query", "denied.test"}, /*bare=*/true);
  EXPECT_EQ(r.out, "query ERR h_errno=2\n") << r.err;  // TRY_AGAIN: nobody answered
  usleep(100 * 1000);
  EXPECT_GE(leaked(), 1);
}

TEST_P(HookDnsResApi, ThreadResolverCallsAskAgentsh) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"query", "denied.test"}, "query ERR h_errno=1\n"},  // NXDOMAIN
      {{"query", "named.test"}, "query rcode=0 answer=127.0.0.3\n"},
      {{"search", "denied.test"}, "search ERR h_errno=1\n"},
      {{"search", "named.test"}, "search rcode=0 answer=127.0.0.3\n"},
      {{"querydomain", "denied", "test"}, "querydomain ERR h_errno=1\n"},
      {{"querydomain", "named", "test"}, "querydomain rcode=0 answer=127.0.0.3\n"},
      // res_send returns the answer packet whatever its rcode.
      {{"send", "denied.test"}, "send rcode=3 answer=-\n"},
      {{"send", "named.test"}, "send rcode=0 answer=127.0.0.3\n"},
      // Servers set by hand in _res after res_init are replaced before the query.
      {{"initquery", "denied.test", "127.0.0.9"}, "initquery ERR h_errno=1\n"},
      {{"initquery", "named.test", "127.0.0.9"}, "initquery rcode=0 answer=127.0.0.3\n"},
      // DNS over TCP (RES_USEVC) reaches agentsh's DNS port too.
      {{"vcquery", "denied.test"}, "vcquery ERR h_errno=1\n"},
      {{"vcquery", "named.test"}, "vcquery rcode=0 answer=127.0.0.3\n"},
  };
  for (const Case& c : cases) {
    RunResult r = exec(c.args);
    EXPECT_EQ(r.out, c.want) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_EQ(r.status, 0) << r.err;
  }
  usleep(100 * 1000);  // let a stray query arrive, if one was sent (there must be none)
  EXPECT_EQ(leaked(), 0);
}

TEST_P(HookDnsResApi, OwnStateAfterResNinitAsksAgentsh) {
  struct Case {
    std::vector<std::string> args;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"nquery", "denied.test"}, "nquery ERR h_errno=1\n"},
      {{"nquery", "named.test"}, "nquery rcode=0 answer=127.0.0.3\n"},
      {{"nsearch", "denied.test"}, "nsearch ERR h_errno=1\n"},
      {{"nsearch", "named.test"}, "nsearch rcode=0 answer=127.0.0.3\n"},
      {{"nquerydomain", "denied", "test"}, "nquerydomain ERR h_errno=1\n"},
      {{"nquerydomain", "named", "test"}, "nquerydomain rcode=0 answer=127.0.0.3\n"},
      // The state's servers set by hand (two of them) after res_ninit.
      {{"nsend", "denied.test", "127.0.0.9"}, "nsend rcode=3 answer=-\n"},
      {{"nsend", "named.test", "127.0.0.9"}, "nsend rcode=0 answer=127.0.0.3\n"},
  };
  for (const Case& c : cases) {
    RunResult r = exec(c.args);
    EXPECT_EQ(r.out, c.want) << c.args[0] << " " << c.args[1] << ": " << r.err;
    EXPECT_EQ(r.status, 0) << r.err;
  }
  usleep(100 * 1000);
  EXPECT_EQ(leaked(), 0);
}

// getaddrinfo_a runs getaddrinfo in a helper thread of glibc's (its own fresh _res).
TEST_P(HookDnsResApi, GetaddrinfoAAsksAgentsh) {
  RunResult a = exec({"gaia", "denied.test"});
  EXPECT_EQ(a.out, "gaia ERR " + std::to_string(EAI_NONAME) + "\n") << a.err;
  RunResult b = exec({"gaia", "named.test"});
  EXPECT_EQ(b.out, "gaia OK 127.0.0.3\n") << b.err;
  // GAI_NOWAIT with a SIGEV_THREAD notification: the callback runs, gai_error says done.
  RunResult c = exec({"gaianowait", "denied.test"});
  EXPECT_EQ(c.out, "gaianowait ERR " + std::to_string(EAI_NONAME) + "\n") << c.err;
  RunResult d = exec({"gaianowait", "named.test"});
  EXPECT_EQ(d.out, "gaianowait OK 127.0.0.3\n") << d.err;
  // GAI_NOWAIT with a SIGEV_SIGNAL notification: the queued signal glibc would send.
  RunResult e = exec({"gaisignal", "named.test"});
  EXPECT_EQ(e.out, "gaisignal OK 127.0.0.3 code=SI_ASYNCNL value=ok\n") << e.err;
  usleep(100 * 1000);
  EXPECT_EQ(leaked(), 0);
}

// Reverse lookups (NSS dns module, this thread's _res): the PTR name is denied by
// policy, so agentsh answers NXDOMAIN and nothing reaches resolv.conf's servers.
TEST_P(HookDnsResApi, ReverseLookupsAskAgentsh) {
  RunResult a = exec({"ptr", "10.1.2.3"});
  EXPECT_EQ(a.out, "ptr ERR " + std::to_string(EAI_NONAME) + "\n") << a.err;
  RunResult b = exec({"hostbyaddr", "10.1.2.3"});
  EXPECT_EQ(b.out, "hostbyaddr ERR h_errno=1\n") << b.err;
  usleep(100 * 1000);
  EXPECT_EQ(leaked(), 0);
}

INSTANTIATE_TEST_SUITE_P(Shapes, HookDnsResApi, ::testing::ValuesIn(kGovernedShapes),
                         [](const auto& i) { return shape_name(i.param); });

}  // namespace
}  // namespace agentsh
