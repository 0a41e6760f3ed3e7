// libagentsh_hook.so, network: connect/sendto on loopback addresses only (127.0.0.1 is
// allowed, 127.0.0.2 denied by CIDR; the name "localhost" denied on one port by domain,
// learnt from getaddrinfo). Listeners on both addresses make "not denied" observable.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>

#include "tests/integration/hook_harness.h"

namespace agentsh::hook_test {
namespace {

using policy::Decision;

// A TCP listener on a loopback address; port 0 = pick one.
class Listener {
 public:
  Listener(const char* ip, uint16_t port) {
    fd_ = ScopedFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, ip, &sa.sin_addr);
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(fd_.get(), 16) != 0) {
      throw std::runtime_error(std::string("cannot listen on ") + ip);
    }
    socklen_t len = sizeof sa;
    ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &len);
    port_ = ntohs(sa.sin_port);
  }
  uint16_t port() const { return port_; }

 private:
  ScopedFd fd_;
  uint16_t port_ = 0;
};

class HookNetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& b = world_.builder();
    b.add_file_rule("allow-all", "", "", policy::kAllOps, Decision::kAllow, {"/", "/**"});
    b.add_net_rule("deny-localhost-name", "no localhost by name", Decision::kDeny, {"localhost"},
                   {}, {{by_name_.port(), by_name_.port()}});
    b.add_net_rule("deny-127-2", "", Decision::kDeny, {}, {cidr_of("127.0.0.2/32")}, {});
    b.add_net_rule("allow-loopback", "", Decision::kAllow, {}, {cidr_of("127.0.0.1/32")}, {});
    world_.write_snapshot();
  }
  RunResult net(const std::string& op, const std::string& host, uint16_t port) {
    return world_.hooked({case_bin("hook_net"), op, host, std::to_string(port)});
  }

  Listener one_{"127.0.0.1", 0};
  Listener two_{"127.0.0.2", one_.port()};
  Listener by_name_{"127.0.0.1", 0};
  HookWorld world_;
};

TEST_F(HookNetTest, ConnectToDeniedCidrFailsWithEacces) {
  EXPECT_EQ(net("connect", "127.0.0.1", one_.port()).out, "connect OK\n");
  EXPECT_EQ(net("connect", "127.0.0.2", two_.port()).out, "connect ERR EACCES\n");
  std::string target = "127.0.0.2:" + std::to_string(two_.port());
  ASSERT_TRUE(world_.broker().wait_audit([&](const AuditRecord& a) { return a.target == target; }));
  auto audits = world_.broker().audits();
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].op, "connect");
  EXPECT_EQ(audits[0].rule, "deny-127-2");
  EXPECT_EQ(audits[0].decision, "deny");
  EXPECT_EQ(audits[0].err, EACCES);
}

TEST_F(HookNetTest, DatagramsToDeniedAddressesAreRefused) {
  EXPECT_EQ(net("udp", "127.0.0.2", 9).out, "sendto ERR EACCES\n");
  EXPECT_EQ(net("udp", "127.0.0.1", 9).out, "sendto OK\n");
}

TEST_F(HookNetTest, ConnectByIpIsDecidedByTheResolvedName) {
  // By name: the IP answer is remembered as "localhost", whose rule denies this port.
  EXPECT_EQ(net("resolve", "localhost", by_name_.port()).out, "connect ERR EACCES\n");
  // The same IP and port without the name: only the CIDR rules apply.
  EXPECT_EQ(net("connect", "127.0.0.1", by_name_.port()).out, "connect OK\n");
  ASSERT_TRUE(world_.broker().wait_audit(
      [&](const AuditRecord& a) { return a.rule == "deny-localhost-name"; }));
  auto audits = world_.broker().audits();
  EXPECT_EQ(audits[0].target, "localhost:" + std::to_string(by_name_.port()) + " (127.0.0.1)");
  EXPECT_EQ(audits[0].message, "no localhost by name");
}

TEST_F(HookNetTest, PythonSocketsAreGoverned) {
  RunResult r = world_.hooked({"/usr/bin/python3", "-c",
                               "import socket\nfor ip in ('127.0.0.1', '127.0.0.2'):\n"
                               "  s = socket.socket()\n  try:\n    s.connect((ip, " +
                                   std::to_string(one_.port()) +
                                   "))\n"
                                   "    print(ip, 'connected')\n  except PermissionError as e:\n   "
                                   " print(ip, 'denied', e.errno)\n"});
  EXPECT_EQ(r.out, "127.0.0.1 connected\n127.0.0.2 denied 13\n") << r.err;
}

}  // namespace
}  // namespace agentsh::hook_test
