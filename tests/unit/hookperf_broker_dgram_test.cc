// The broker's datagram door (common/broker_protocol.h kDgramSuffix, agentsh/broker.cc
// recv_dgram): one datagram carrying the request and a reply channel is answered on that
// channel; a datagram whose attached fd is not a seqpacket socket, or that carries no fd,
// or whose header does not match its length, is dropped (nothing written anywhere); the
// door's socket file goes away with the broker.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "agentsh/broker.h"
#include "common/scoped_fd.h"
#include "tests/unit/broker_door_client.h"

namespace agentsh {
namespace {

class HookPerfBrokerDgram : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-bdgram-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
    path_ = dir_ + "/b.sock";
    Broker::Handlers h;
    h.exec_check_nonblocking = [this](const ExecCheckRequest& r) -> std::optional<broker::Reply> {
      std::lock_guard<std::mutex> lk(mu_);
      std::string s = r.resolved + "|" + r.cwd;
      for (const auto& a : r.argv) s += "|" + a;
      seen_.push_back(s);
      if (!r.argv.empty() && r.argv[0] == "sudo") return Broker::deny(EACCES, "no-sudo", "nope");
      return Broker::allow();
    };
    std::string err;
    ASSERT_TRUE(broker_.start(path_, std::move(h), &err)) << err;
  }
  void TearDown() override {
    broker_.stop();
    unlink(path_.c_str());
    unlink((path_ + broker::kDgramSuffix).c_str());
    rmdir(dir_.c_str());
  }

  static std::string exec_request(const std::vector<std::string>& parts) {
    return broker_door_client::request(broker::MsgType::kExecCheck, 4242, parts);
  }

  // Sends `msg` to the door with `fd` attached (-1: none). Returns 0 or sendmsg's errno.
  int send_door(const std::string& msg, int fd) { return broker_door_client::send(path_, msg, fd); }

  // One good round trip through the door; returns the decision (or -1 on no reply).
  int round_trip(const std::vector<std::string>& parts) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    ScopedFd mine(sv[0]), theirs(sv[1]);
    if (send_door(exec_request(parts), theirs.get()) != 0) return -1;
    theirs.reset();
    broker::Reply r{};
    pollfd p{mine.get(), POLLIN, 0};
    if (poll(&p, 1, 10000) <= 0) return -1;
    if (read(mine.get(), &r, sizeof r) != ssize_t(sizeof r) || r.magic != broker::kMagic) return -1;
    return static_cast<int>(r.decision);
  }

  std::vector<std::string> seen() {
    std::lock_guard<std::mutex> lk(mu_);
    return seen_;
  }

  std::string dir_, path_;
  Broker broker_;
  std::mutex mu_;
  std::vector<std::string> seen_;
};

TEST_F(HookPerfBrokerDgram, OneDatagramIsAnsweredOnTheAttachedChannel) {
  struct stat st {};
  ASSERT_EQ(stat((path_ + broker::kDgramSuffix).c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(round_trip({"/usr/bin/true", "/w", "true", "x"}),
            static_cast<int>(broker::ReplyDecision::kAllow));
  EXPECT_EQ(round_trip({"/usr/bin/sudo", "/w", "sudo", "id"}),
            static_cast<int>(broker::ReplyDecision::kDeny));
  EXPECT_EQ(seen(),
            (std::vector<std::string>{"/usr/bin/true|/w|true|x", "/usr/bin/sudo|/w|sudo|id"}));
}

TEST_F(HookPerfBrokerDgram, MalformedDatagramsAreDroppedWithoutWritingAnywhere) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);
  ScopedFd pr(p[0]), pw(p[1]);
  // A pipe instead of the client's seqpacket end: the broker must not write a Reply into it.
  ASSERT_EQ(send_door(exec_request({"/bin/a", "/w", "a"}), pw.get()), 0);
  // No reply channel at all.
  ASSERT_EQ(send_door(exec_request({"/bin/b", "/w", "b"}), -1), 0);
  // A header announcing more payload than the datagram holds.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  ScopedFd mine(sv[0]), theirs(sv[1]);
  std::string cut = exec_request({"/bin/c", "/w", "c"});
  cut.resize(cut.size() - 2);
  ASSERT_EQ(send_door(cut, theirs.get()), 0);
  theirs.reset();
  // Datagrams are served in order: once this one is answered, the three above were seen.
  EXPECT_EQ(round_trip({"/bin/d", "/w", "d"}), static_cast<int>(broker::ReplyDecision::kAllow));
  EXPECT_EQ(seen(), std::vector<std::string>{"/bin/d|/w|d"});
  char c;
  EXPECT_EQ(read(pr.get(), &c, 1), -1);
  EXPECT_EQ(errno, EAGAIN);
  // The truncated request's channel was closed unanswered: EOF, no Reply.
  EXPECT_EQ(read(mine.get(), &c, 1), 0);
}

TEST_F(HookPerfBrokerDgram, TheDoorGoesAwayWithTheBroker) {
  broker_.stop();
  struct stat st {};
  EXPECT_EQ(stat((path_ + broker::kDgramSuffix).c_str(), &st), -1);
  EXPECT_EQ(errno, ENOENT);
}

}  // namespace
}  // namespace agentsh
