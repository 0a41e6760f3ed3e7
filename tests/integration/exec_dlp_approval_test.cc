// agentsh exec end to end: secret redaction of piped output and audit rows, binary
// output untouched, and approvals through a live server (api mode): approved, denied.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/exec_support.h"

namespace agentsh {
namespace {

using testing_support::agentsh_bin;
using testing_support::base_env;
using testing_support::make_fake_tool;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;
using testing_support::write_test_config;

constexpr const char* kPolicy = R"(version: 1
name: t
file_rules:
  - name: all
    paths: ["/**"]
    operations: ["*"]
    decision: allow
command_rules:
  - name: approve-install
    commands: [npm]
    args_patterns: ["^install"]
    decision: approve
    message: "wants to install {{.Args}}"
  - name: rest
    commands: ["*"]
    decision: allow
network_rules:
  - name: lo
    cidrs: ["127.0.0.0/8"]
    decision: allow
)";

class ExecDlpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("policies/default.yaml", kPolicy);
    config_ = write_test_config(dir_);
  }
  RunResult exec(const std::vector<std::string>& cmd) {
    std::vector<std::string> argv = {agentsh_bin(), "exec", "--config", config_, "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv, base_env(dir_));
  }
  TempDir dir_;
  std::string config_;
};

TEST_F(ExecDlpTest, PipedOutputIsRedacted) {
  RunResult r = exec({"/bin/sh", "-c",
                      "echo key=AKIAIOSFODNN7EXAMPLE; echo mail bob@example.com >&2; echo plain"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "key=[REDACTED:AWS_KEY]\nplain\n");
  EXPECT_EQ(r.err, "mail [REDACTED:EMAIL]\n");
}

TEST_F(ExecDlpTest, ASecretSplitAcrossWritesIsStillFound) {
  RunResult r = exec({"python3", "-c",
                      "import sys,time\n"
                      "sys.stdout.write('token ghp_'); sys.stdout.flush(); time.sleep(0.01)\n"
                      "sys.stdout.write('0123456789abcdefghijABCDEFGHIJ012345 end\\n')"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("ghp_0123"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[REDACTED:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" end\n"), std::string::npos) << r.out;
}

TEST_F(ExecDlpTest, BinaryOutputPassesByteForByte) {
  std::string data;
  for (int i = 0; i < 65536; ++i) data.push_back(static_cast<char>((i * 7919) & 0xff));
  // A secret inside binary data is left alone: editing would corrupt the stream.
  data += "AKIAIOSFODNN7EXAMPLE";
  dir_.write("blob.bin", data);
  RunResult r = exec({"/bin/cat", dir_.file("blob.bin")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data);
}

TEST_F(ExecDlpTest, AuditRowsAreRedacted) {
  exec({"/bin/echo", "AKIAIOSFODNN7EXAMPLE"});
  RunResult q =
      run({agentsh_bin(), "events", "query", "--config", config_, "--json"}, base_env(dir_));
  EXPECT_EQ(q.status, 0) << q.err;
  EXPECT_NE(q.out.find("/bin/echo [REDACTED:AWS_KEY]"), std::string::npos) << q.out;
  EXPECT_EQ(q.out.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << q.out;
}

// ---- approvals through a live server ------------------------------------------------

class ExecApprovalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = 20000 + (getpid() % 20000);
    dir_.write("policies/default.yaml", kPolicy);
    config_ =
        write_test_config(dir_, "server:\n  http:\n    addr: \"127.0.0.1:" + std::to_string(port_) +
                                    "\"\napprovals:\n  enabled: true\n  mode: api\n"
                                    "  timeout: \"20s\"\n");
    make_fake_tool(dir_, "npm");
    server_ = fork();
    ASSERT_GE(server_, 0);
    if (server_ == 0) {
      setpgid(0, 0);
      std::string bin = agentsh_bin();
      execl(bin.c_str(), bin.c_str(), "server", "--config", config_.c_str(), nullptr);
      _exit(127);
    }
    for (int i = 0; i < 100; ++i) {
      RunResult h = run({"/usr/bin/curl", "-s", "--max-time", "1", url("/health")}, {});
      if (h.out.find("ok") != std::string::npos) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    FAIL() << "server did not start";
  }
  void TearDown() override {
    if (server_ > 0) {
      kill(server_, SIGTERM);
      waitpid(server_, nullptr, 0);
    }
  }
  std::string url(const std::string& path) {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  std::vector<std::string> env() {
    auto e = base_env(dir_);
    e.push_back("AGENTSH_SERVER=" + url(""));
    return e;
  }
  // Starts `agentsh exec -- npm install left-pad` and answers its approval with `how`.
  RunResult install_answered(const std::string& how) {
    RunResult result;
    std::thread t([&] {
      result = run({agentsh_bin(), "exec", "--config", config_, "--", "npm", "install", "left-pad"},
                   env(), "", 60);
    });
    std::string id;
    for (int i = 0; i < 150 && id.empty(); ++i) {
      RunResult l = run({agentsh_bin(), "approve", "list", "--json", "--server", url("")}, env());
      auto j = nlohmann::json::parse(l.out, nullptr, false);
      if (j.is_array() && !j.empty())
        id = j[0].value("id", "");
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    EXPECT_FALSE(id.empty()) << "no pending approval appeared";
    if (!id.empty()) {
      RunResult a = run({agentsh_bin(), "approve", "resolve", id, how, "--server", url("")}, env());
      EXPECT_EQ(a.status, 0) << a.err;
    }
    t.join();
    return result;
  }
  TempDir dir_;
  std::string config_;
  int port_ = 0;
  pid_t server_ = -1;
};

TEST_F(ExecApprovalTest, ApprovedCommandRuns) {
  RunResult r = install_answered("--allow");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("EXECUTED-npm install left-pad"), std::string::npos) << r.out;
  EXPECT_TRUE(dir_.exists("ran-npm"));
}

TEST_F(ExecApprovalTest, DeniedCommandNeverRuns) {
  RunResult r = install_answered("--deny");
  EXPECT_EQ(r.status, 126) << r.err;
  EXPECT_NE(r.err.find("rule=approve-install"), std::string::npos) << r.err;
  EXPECT_FALSE(dir_.exists("ran-npm"));
}

}  // namespace
}  // namespace agentsh
