// The hook's exec check through the broker's datagram door (preload/broker_client.cc
// dgram_round_trip): an ordinary exec goes as one datagram and is decided as before (the
// denied one prints its line and never runs); one too large for a datagram still goes
// over the stream socket and is decided there.
#include <gtest/gtest.h>

#include "tests/integration/hook_harness.h"

namespace agentsh::hook_test {
namespace {

using policy::Decision;

class HookPerfBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = world_.dir() / "w";
    bin_ = w_ + "/bin";
    marker_ = w_ + "/sudo-ran";
    fs::create_directories(bin_);
    write_file(bin_ + "/sudo", "#!/bin/sh\necho ran >> " + marker_ + "\n");
    fs::permissions(bin_ + "/sudo", fs::perms::owner_all);
    world_.broker().answer(
        "sudo", {false, "block-sudo", "blocked by policy: rule=block-sudo command=sudo", 0, {}});
    world_.builder().add_file_rule("allow-all", "", "", policy::kAllOps, Decision::kAllow,
                                   {"/", "/**"});
    world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  }
  RunResult hooked(const std::vector<std::string>& argv) { return world_.hooked(argv, w_, bin_); }

  HookWorld world_;
  std::string w_, bin_, marker_;
};

TEST_F(HookPerfBrokerTest, OrdinaryExecsGoAsOneDatagram) {
  RunResult ok = hooked({case_bin("hook_exec"), "vfork", "/bin/echo", "hi"});
  EXPECT_EQ(ok.out, "hi\nexit=0\n");
  RunResult no = hooked({case_bin("hook_exec"), "execvp", "sudo", "whoami"});
  EXPECT_EQ(no.out, "exec-errno=EACCES\n");
  EXPECT_EQ(no.err, "agentsh: blocked by policy: rule=block-sudo command=sudo\n");
  EXPECT_FALSE(fs::exists(marker_));
  auto execs = world_.broker().execs();
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].argv, (std::vector<std::string>{"/bin/echo", "hi"}));
  EXPECT_EQ(execs[1].argv, (std::vector<std::string>{"sudo", "whoami"}));
  EXPECT_EQ(world_.broker().dgram_requests(), 2);
}

TEST_F(HookPerfBrokerTest, LargeRequestsStillGoOverTheStream) {
  std::string big(40000, 'x');  // header + payload > kMaxDgramRequest
  RunResult no = hooked({case_bin("hook_exec"), "execvp", "sudo", big});
  EXPECT_EQ(no.out, "exec-errno=EACCES\n");
  EXPECT_FALSE(fs::exists(marker_));
  // Many arguments: more iovecs than one datagram send takes.
  std::vector<std::string> many{case_bin("hook_exec"), "vfork", "/bin/true"};
  for (int i = 0; i < 100; ++i) many.push_back("a" + std::to_string(i));
  RunResult ok = hooked(many);
  EXPECT_EQ(ok.out, "exit=0\n");
  auto execs = world_.broker().execs();
  ASSERT_EQ(execs.size(), 2u);
  EXPECT_EQ(execs[0].argv, (std::vector<std::string>{"sudo", big}));
  EXPECT_EQ(execs[1].argv.size(), 101u);
  EXPECT_EQ(world_.broker().dgram_requests(), 0);
}

}  // namespace
}  // namespace agentsh::hook_test
