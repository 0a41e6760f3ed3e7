// The broker's one-thread epoll loop (agentsh/broker.h), driven over its real unix socket
// with hand-made protocol messages: exec checks and audit records are answered inline,
// requests that may block go to threads of their own and do not hold up the others, a
// client that sends its request in pieces is served, one that stalls or talks garbage
// is dropped without stalling anyone.
#include "agentsh/broker.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace agentsh {
namespace {

class BrokerLoop : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-broker-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
    path_ = dir_ + "/b.sock";
  }
  void TearDown() override {
    broker_.stop();
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }

  void start(Broker::Handlers h) {
    std::string err;
    ASSERT_TRUE(broker_.start(path_, std::move(h), &err)) << err;
  }

  int dial() {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << strerror(errno);
    return fd;
  }

  static std::string request(broker::MsgType type, const std::vector<std::string>& parts,
                             uint32_t flags = 0) {
    std::string payload;
    for (const auto& p : parts) {
      payload += p;
      payload.push_back('\0');
    }
    broker::RequestHeader h{};
    h.magic = broker::kMagic;
    h.type = type;
    h.pid = 4242;
    h.flags = flags;
    h.payload_len = static_cast<uint32_t>(payload.size());
    h.argc = type == broker::MsgType::kExecCheck ? uint32_t(parts.size() - 2) : 0;
    return std::string(reinterpret_cast<const char*>(&h), sizeof h) + payload;
  }

  // Reads one Reply; false on EOF/timeout.
  static bool reply(int fd, broker::Reply* r, int timeout_ms = 5000) {
    char* p = reinterpret_cast<char*>(r);
    size_t got = 0;
    while (got < sizeof *r) {
      struct pollfd pfd = {fd, POLLIN, 0};
      if (poll(&pfd, 1, timeout_ms) <= 0) return false;
      ssize_t n = read(fd, p + got, sizeof *r - got);
      if (n <= 0) return false;
      got += size_t(n);
    }
    return r->magic == broker::kMagic;
  }

  static bool send_all(int fd, const std::string& s) {
    return write(fd, s.data(), s.size()) == ssize_t(s.size());
  }

  // A handler set: exec checks allow everything except argv[0] == "sudo"; "ask" needs the
  // blocking path.
  Broker::Handlers handlers() {
    Broker::Handlers h;
    h.exec_check_nonblocking = [this](const ExecCheckRequest& r) -> std::optional<broker::Reply> {
      ++fast_calls_;
      if (!r.argv.empty() && r.argv[0] == "ask") return std::nullopt;
      std::lock_guard<std::mutex> lk(mu_);
      seen_.push_back(r.resolved + "|" + r.cwd + "|" + (r.argv.empty() ? "" : r.argv.back()));
      if (!r.argv.empty() && r.argv[0] == "sudo") return Broker::deny(EACCES, "no-sudo", "nope");
      return Broker::allow();
    };
    h.exec_check = [this](const ExecCheckRequest& r) {
      ++slow_calls_;
      gate_.get_future().wait();  // a person takes their time
      return r.argv[0] == "ask" ? Broker::allow() : Broker::deny(EACCES, "x", "y");
    };
    h.audit = [this](const BrokerAudit& a) {
      std::lock_guard<std::mutex> lk(mu_);
      audits_.push_back(a.operation + "|" + a.target + "|" + std::to_string(a.err));
    };
    return h;
  }

  std::string dir_, path_;
  Broker broker_;
  std::mutex mu_;
  std::vector<std::string> seen_, audits_;
  std::atomic<int> fast_calls_{0}, slow_calls_{0};
  std::promise<void> gate_;
};

TEST_F(BrokerLoop, ExecChecksAreAnsweredInline) {
  start(handlers());
  for (int i = 0; i < 50; ++i) {
    int fd = dial();
    ASSERT_TRUE(send_all(fd, request(broker::MsgType::kExecCheck,
                                     {"/usr/bin/true", "/w", "true", std::to_string(i)})));
    broker::Reply r;
    ASSERT_TRUE(reply(fd, &r));
    EXPECT_EQ(r.decision, broker::ReplyDecision::kAllow);
    close(fd);
  }
  int fd = dial();
  ASSERT_TRUE(send_all(fd, request(broker::MsgType::kExecCheck, {"/usr/bin/sudo", "/", "sudo"})));
  broker::Reply r;
  ASSERT_TRUE(reply(fd, &r));
  EXPECT_EQ(r.decision, broker::ReplyDecision::kDeny);
  EXPECT_EQ(r.err, EACCES);
  EXPECT_STREQ(r.rule, "no-sudo");
  close(fd);
  EXPECT_EQ(fast_calls_.load(), 51);
  EXPECT_EQ(slow_calls_.load(), 0);
  std::lock_guard<std::mutex> lk(mu_);
  ASSERT_EQ(seen_.size(), 51u);
  EXPECT_EQ(seen_[7], "/usr/bin/true|/w|7");
}

TEST_F(BrokerLoop, RequestSentInPiecesIsServed) {
  start(handlers());
  int fd = dial();
  std::string req = request(broker::MsgType::kExecCheck, {"/bin/ls", "/tmp", "ls", "-l"});
  for (size_t i = 0; i < req.size(); i += 5) {
    ASSERT_TRUE(send_all(fd, req.substr(i, 5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  broker::Reply r;
  ASSERT_TRUE(reply(fd, &r));
  EXPECT_EQ(r.decision, broker::ReplyDecision::kAllow);
  close(fd);
  std::lock_guard<std::mutex> lk(mu_);
  ASSERT_EQ(seen_.size(), 1u);
  EXPECT_EQ(seen_[0], "/bin/ls|/tmp|-l");
}

TEST_F(BrokerLoop, AStalledClientDoesNotHoldUpOthers) {
  start(handlers());
  int stalled = dial();
  std::string req = request(broker::MsgType::kExecCheck, {"/bin/x", "/", "x"});
  ASSERT_TRUE(send_all(stalled, req.substr(0, 10)));  // half a header, then nothing
  int fd = dial();
  ASSERT_TRUE(send_all(fd, request(broker::MsgType::kExecCheck, {"/bin/y", "/", "y"})));
  broker::Reply r;
  EXPECT_TRUE(reply(fd, &r, 2000));
  close(fd);
  close(stalled);
}

TEST_F(BrokerLoop, BlockingChecksRunAsideAndTheLoopGoesOn) {
  start(handlers());
  int asking = dial();
  ASSERT_TRUE(send_all(asking, request(broker::MsgType::kExecCheck, {"/bin/ask", "/", "ask"})));
  // While a person is "thinking", other execs are still answered.
  for (int i = 0; i < 5; ++i) {
    int fd = dial();
    ASSERT_TRUE(send_all(fd, request(broker::MsgType::kExecCheck, {"/bin/true", "/", "true"})));
    broker::Reply r;
    ASSERT_TRUE(reply(fd, &r, 2000));
    close(fd);
  }
  gate_.set_value();
  broker::Reply r;
  ASSERT_TRUE(reply(asking, &r));
  EXPECT_EQ(r.decision, broker::ReplyDecision::kAllow);
  close(asking);
  EXPECT_EQ(slow_calls_.load(), 1);
  // The non-blocking handler declined it without recording anything.
  std::lock_guard<std::mutex> lk(mu_);
  EXPECT_EQ(seen_.size(), 5u);
}

TEST_F(BrokerLoop, AuditRecordsAndGarbage) {
  start(handlers());
  int fd = dial();
  ASSERT_TRUE(send_all(fd, request(broker::MsgType::kAudit,
                                   {"open", "/etc/shadow", "deny-etc", "deny", "m"}, EACCES)));
  close(fd);
  // Wrong magic: dropped without a reply.
  int bad = dial();
  std::string junk(sizeof(broker::RequestHeader), 'z');
  ASSERT_TRUE(send_all(bad, junk));
  broker::Reply r;
  EXPECT_FALSE(reply(bad, &r, 2000));
  close(bad);
  // Then the broker still answers.
  int ok = dial();
  ASSERT_TRUE(send_all(ok, request(broker::MsgType::kExecCheck, {"/bin/true", "/", "true"})));
  EXPECT_TRUE(reply(ok, &r));
  close(ok);
  std::lock_guard<std::mutex> lk(mu_);
  ASSERT_EQ(audits_.size(), 1u);
  EXPECT_EQ(audits_[0], "open|/etc/shadow|" + std::to_string(EACCES));
}

}  // namespace
}  // namespace agentsh
