// tty approvals against a real pseudo-terminal: the person types y, n, nothing, and
// typed-ahead input must not count as an answer.
#include "agentsh/approval_tty.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>

#include <future>

#include "common/scoped_fd.h"

namespace agentsh {
namespace {

class ApprovalTtyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int m = -1, s = -1;
    char name[256];
    ASSERT_EQ(openpty(&m, &s, name, nullptr, nullptr), 0);
    master_.reset(m);
    slave_.reset(s);  // kept open so the pty does not hang up between opens
    slave_name_ = name;
    req_.kind = "file";
    req_.operation = "read";
    req_.target = "/root/.ssh/id_rsa";
    req_.rule = "protect-ssh-keys";
    req_.message = "SSH keys need approval";
  }
  // Reads the terminal output until `needle` shows up (bounded); returns all of it.
  std::string read_until(const std::string& needle) {
    std::string got;
    for (int i = 0; i < 200 && got.find(needle) == std::string::npos; ++i) {
      struct pollfd p = {master_.get(), POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char buf[1024];
      ssize_t n = read(master_.get(), buf, sizeof buf);
      if (n > 0) got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }
  void type(const std::string& s) {
    ASSERT_EQ(write(master_.get(), s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }

  ScopedFd master_, slave_;
  std::string slave_name_;
  ApprovalRequest req_;
};

TEST_F(ApprovalTtyTest, YesApproves) {
  auto fut =
      std::async(std::launch::async, [&] { return approval_tty::ask(req_, 30000, slave_name_); });
  std::string prompt = read_until("Allow? [y/N]");
  EXPECT_NE(prompt.find("file read /root/.ssh/id_rsa"), std::string::npos) << prompt;
  EXPECT_NE(prompt.find("protect-ssh-keys (SSH keys need approval)"), std::string::npos) << prompt;
  type("yes\n");
  ApprovalOutcome out = fut.get();
  EXPECT_TRUE(out.approved);
  EXPECT_EQ(out.who.rfind("tty:", 0), 0u) << out.who;
}

TEST_F(ApprovalTtyTest, AnythingElseDenies) {
  auto fut =
      std::async(std::launch::async, [&] { return approval_tty::ask(req_, 30000, slave_name_); });
  read_until("Allow?");
  type("sure\n");
  ApprovalOutcome out = fut.get();
  EXPECT_FALSE(out.approved);
  EXPECT_EQ(out.reason, "denied at the terminal");
}

TEST_F(ApprovalTtyTest, SilenceTimesOut) {
  ApprovalOutcome out = approval_tty::ask(req_, 200, slave_name_);
  EXPECT_FALSE(out.approved);
  EXPECT_EQ(out.who, "timeout");
  EXPECT_NE(out.reason.find("no answer within"), std::string::npos) << out.reason;
  EXPECT_NE(read_until("denied)").find("no answer in"), std::string::npos);
}

TEST_F(ApprovalTtyTest, TypedAheadInputIsNotAnAnswer) {
  type("y\n");  // before the question is asked
  usleep(20000);
  auto fut =
      std::async(std::launch::async, [&] { return approval_tty::ask(req_, 30000, slave_name_); });
  read_until("Allow?");
  type("n\n");
  EXPECT_FALSE(fut.get().approved);
}

TEST_F(ApprovalTtyTest, NoTerminalDenies) {
  ApprovalOutcome out = approval_tty::ask(req_, 1000, "/nonexistent/tty");
  EXPECT_FALSE(out.approved);
  EXPECT_NE(out.reason.find("no terminal to ask on (/nonexistent/tty"), std::string::npos)
      << out.reason;
}

}  // namespace
}  // namespace agentsh
