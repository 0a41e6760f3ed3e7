// The broker side of in-process exec decisions (common/broker_protocol.h kExecAudit):
// an audit datagram comes with no reply channel and reaches Handlers::exec_audit with
// the request as the hook sent it; one with a channel attached, or an exec check without
// one, is dropped; datagrams still queued when the broker stops are served, not lost;
// Broker::stats counts what was served.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "agentsh/broker.h"
#include "common/scoped_fd.h"
#include "tests/unit/broker_door_client.h"

namespace agentsh {
namespace {

class HookExecBrokerAudit : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-baudit-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
    path_ = dir_ + "/b.sock";
    Broker::Handlers h;
    h.exec_audit = [this](const ExecCheckRequest& r) {
      std::lock_guard<std::mutex> lk(mu_);
      std::string s = std::to_string(r.pid) + "|" + r.resolved + "|" + r.cwd;
      for (const auto& a : r.argv) s += "|" + a;
      audits_.push_back(s);
    };
    h.exec_check_nonblocking = [this](const ExecCheckRequest&) -> std::optional<broker::Reply> {
      std::lock_guard<std::mutex> lk(mu_);
      ++checks_;
      return Broker::allow();
    };
    std::string err;
    ASSERT_TRUE(broker_.start(path_, std::move(h), &err)) << err;
  }
  void TearDown() override {
    broker_.stop();
    rmdir(dir_.c_str());
  }

  static std::string request(broker::MsgType type, const std::vector<std::string>& parts) {
    return broker_door_client::request(type, 777, parts);
  }

  // Sends `msg` to the door with `fd` attached (-1: none). Returns 0 or sendmsg's errno.
  int send_door(const std::string& msg, int fd) { return broker_door_client::send(path_, msg, fd); }

  std::vector<std::string> audits() {
    std::lock_guard<std::mutex> lk(mu_);
    return audits_;
  }

  std::string dir_, path_;
  Broker broker_;
  std::mutex mu_;
  std::vector<std::string> audits_;
  int checks_ = 0;
};

TEST_F(HookExecBrokerAudit, AuditDatagramsWithoutAChannelAreRecorded) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  ScopedFd mine(sv[0]), theirs(sv[1]);
  // With a channel attached: not how the hook sends it; dropped.
  ASSERT_EQ(send_door(request(broker::MsgType::kExecAudit, {"/bin/x", "/w", "x"}), theirs.get()),
            0);
  // An exec check without a channel: nobody to answer; dropped.
  ASSERT_EQ(send_door(request(broker::MsgType::kExecCheck, {"/bin/y", "/w", "y"}), -1), 0);
  ASSERT_EQ(
      send_door(request(broker::MsgType::kExecAudit, {"/usr/bin/true", "/w", "/bin/true", "a b"}),
                -1),
      0);
  // stop() serves what is still queued before it returns.
  broker_.stop();
  EXPECT_EQ(audits(), std::vector<std::string>{"777|/usr/bin/true|/w|/bin/true|a b"});
  Broker::Stats st = broker_.stats();
  EXPECT_EQ(st.exec_audits, 1u);
  EXPECT_EQ(st.exec_checks, 0u);
  EXPECT_EQ(checks_, 0);
}

TEST_F(HookExecBrokerAudit, NothingQueuedIsLostWhenTheBrokerStops) {
  // The door's queue is short (net.unix.max_dgram_qlen); send what it takes without
  // waiting, then stop at once: every datagram that was queued is recorded.
  int sent = 0;
  for (int i = 0; i < 200; ++i) {
    ScopedFd d(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::string dp = path_ + broker::kDgramSuffix;
    strncpy(a.sun_path, dp.c_str(), sizeof a.sun_path - 1);
    std::string msg =
        request(broker::MsgType::kExecAudit, {"/usr/bin/true", "/w", "true", std::to_string(i)});
    if (sendto(d.get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL,
               reinterpret_cast<sockaddr*>(&a), sizeof a) == ssize_t(msg.size()))
      ++sent;
  }
  broker_.stop();
  EXPECT_GT(sent, 0);
  EXPECT_EQ(audits().size(), size_t(sent));
  EXPECT_EQ(broker_.stats().exec_audits, uint64_t(sent));
}

}  // namespace
}  // namespace agentsh
