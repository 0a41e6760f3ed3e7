// Drives build/bin/agentsh: `exec`, `debug policy-test`, `policy validate`, `events query`.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
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

std::string reference_policy() {
  std::ifstream in("../shared/reference/default-policy.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    policy_ = reference_policy();
    if (policy_.empty()) GTEST_SKIP() << "../shared/reference not present";
    dir_.write("policies/default.yaml", policy_);
    config_ = write_test_config(dir_);
    for (const char* t : {"sudo", "su", "npm", "pip3", "nc", "ssh"}) make_fake_tool(dir_, t);
  }
  RunResult exec(const std::vector<std::string>& cmd, std::vector<std::string> env = {},
                 const std::string& input = "", const std::string& cwd = "") {
    std::vector<std::string> argv = {agentsh_bin(), "exec", "--config", config_, "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    auto e = base_env(dir_);
    e.insert(e.end(), env.begin(), env.end());
    return run(argv, e, input, 60, cwd);
  }
  RunResult agentsh(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {agentsh_bin()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, base_env(dir_));
  }
  TempDir dir_;
  std::string config_, policy_;
};

TEST_F(ExecTest, AllowedCommandProducesItsOutput) {
  RunResult r = exec({"/bin/echo", "hello"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "hello\n");
}

TEST_F(ExecTest, BlockedCommandExits126NamesTheRuleAndNeverRuns) {
  RunResult r = exec({"sudo", "whoami"});
  EXPECT_EQ(r.status, 126);
  EXPECT_EQ(r.err, "agentsh: blocked by policy: rule=block-shell-escape command=sudo\n");
  EXPECT_EQ(r.out, "");
  EXPECT_FALSE(dir_.exists("ran-sudo"));
}

TEST_F(ExecTest, WrappersAreSeenThrough) {
  for (std::vector<std::string> cmd : {std::vector<std::string>{"env", "sudo", "whoami"},
                                       {"nice", "-n", "5", "sudo", "ls"},
                                       {"timeout", "5", "sudo", "ls"},
                                       {"/bin/sh", "-c", "echo hi; sudo ls"},
                                       {"env", "-i", "PATH=/bin", "sudo", "id"},
                                       {"nohup", "env", "sudo", "id"}}) {
    RunResult r = exec(cmd);
    EXPECT_EQ(r.status, 126) << cmd[0] << " " << cmd[1];
    EXPECT_NE(r.err.find("command=sudo"), std::string::npos) << r.err;
  }
  EXPECT_FALSE(dir_.exists("ran-sudo"));
}

TEST_F(ExecTest, ArgsPatternRulesOutrankPlainAllowRules) {
  // allow-dev-tools (npm) comes first in the reference policy, approve-package-install
  // (npm install) later: the specific rule wins, and approve fails closed.
  RunResult r = exec({"npm", "install", "express"});
  EXPECT_EQ(r.status, 126);
  EXPECT_NE(r.err.find("rule=approve-package-install"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("approval required"), std::string::npos) << r.err;
  EXPECT_FALSE(dir_.exists("ran-npm"));
  RunResult ok = exec({"npm", "--version"});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_TRUE(dir_.exists("ran-npm"));
}

TEST_F(ExecTest, RecursiveDeleteBlockedSingleDeleteAllowed) {
  dir_.write("victim/sub/f", "x");
  RunResult r = exec({"rm", "-rf", dir_.file("victim")});
  EXPECT_EQ(r.status, 126);
  EXPECT_TRUE(dir_.exists("victim/sub/f"));
  // Relative path: the reference pattern `-[^-]*r` runs over the joined arguments, so a
  // random temp-dir name containing an "r" would (rightly) look recursive.
  RunResult ok = exec({"rm", "-f", "victim/sub/f"}, {}, "", dir_.path());
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_FALSE(dir_.exists("victim/sub/f"));
}

TEST_F(ExecTest, ExitStatusAndSignalsPassThrough) {
  EXPECT_EQ(exec({"/bin/sh", "-c", "exit 7"}).status, 7);
  EXPECT_EQ(
      exec({"python3", "-c", "import os,signal; os.kill(os.getpid(), signal.SIGTERM)"}).status,
      128 + SIGTERM);
}

TEST_F(ExecTest, StdinReachesTheCommand) {
  RunResult r = exec({"/bin/cat"}, {}, "some input\n");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "some input\n");
}

TEST_F(ExecTest, CommandNotFoundIs127) {
  RunResult r = exec({"no-such-command-agentsh"});
  EXPECT_EQ(r.status, 127);
  EXPECT_NE(r.err.find("command not found"), std::string::npos) << r.err;
}

TEST_F(ExecTest, DeniedVariablesNeverReachTheCommand) {
  RunResult r = exec({"/usr/bin/env"},
                     {"AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI-FAKE", "OPENAI_API_KEY=sk-1",
                      "DATABASE_URL=postgres://x", "NODE_ENV=production", "RANDOM_UNLISTED=1"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("PATH="), std::string::npos);
  EXPECT_NE(r.out.find("NODE_ENV=production"), std::string::npos);  // NODE_* allowed
  EXPECT_EQ(r.out.find("wJalrXUtnFEMI"), std::string::npos);
  EXPECT_EQ(r.out.find("OPENAI_API_KEY"), std::string::npos);
  EXPECT_EQ(r.out.find("DATABASE_URL"), std::string::npos);
  EXPECT_EQ(r.out.find("RANDOM_UNLISTED"), std::string::npos);  // not in the allow list
}

TEST_F(ExecTest, ExplicitEnvPassesUnlessDenied) {
  std::vector<std::string> argv = {agentsh_bin(), "exec",
                                   "--config",    config_,
                                   "--env",       "GIT_AUTHOR_NAME=TestAgent",
                                   "--env",       "AWS_SECRET_ACCESS_KEY=nope",
                                   "--",          "/usr/bin/env"};
  RunResult r = run(argv, base_env(dir_));
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("GIT_AUTHOR_NAME=TestAgent"), std::string::npos);
  EXPECT_EQ(r.out.find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
  EXPECT_NE(r.err.find("AWS_SECRET_ACCESS_KEY withheld"), std::string::npos) << r.err;
}

TEST_F(ExecTest, BadUsageExits2) {
  EXPECT_EQ(agentsh({"exec"}).status, 2);
  EXPECT_EQ(agentsh({"exec", "--bogus", "--", "ls"}).status, 2);
  EXPECT_EQ(agentsh({"exec", "--env", "NOEQUALS", "--", "ls"}).status, 2);
  EXPECT_EQ(agentsh({"frobnicate"}).status, 2);
  RunResult v = agentsh({"--version"});
  EXPECT_EQ(v.status, 0);
  EXPECT_EQ(v.out.rfind("agentsh ", 0), 0u) << v.out;
}

TEST_F(ExecTest, BrokenPolicyRefusesToRun) {
  dir_.write("policies/broken.yaml", "version: 1\nname: broken\nfile_rulez: []\n");
  RunResult r = agentsh({"exec", "--config", config_, "--policy", "broken", "--", "/bin/true"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("broken.yaml:3:1"), std::string::npos) << r.err;
}

TEST_F(ExecTest, AuditRowsForDecisions) {
  exec({"sudo", "whoami"});
  exec({"/bin/echo", "x"});
  RunResult q = agentsh({"events", "query", "--config", config_, "--decision", "deny", "--json"});
  EXPECT_EQ(q.status, 0) << q.err;
  EXPECT_NE(q.out.find("\"rule\":\"block-shell-escape\""), std::string::npos) << q.out;
  EXPECT_NE(q.out.find("\"target\":\"sudo whoami\""), std::string::npos) << q.out;
  EXPECT_EQ(q.out.find("/bin/echo"), std::string::npos) << q.out;
  RunResult all = agentsh({"events", "query", "--config", config_, "--type", "exec"});
  EXPECT_NE(all.out.find("/bin/echo x"), std::string::npos) << all.out;
}

TEST_F(ExecTest, SigtermIsForwardedAndAuditIsFlushed) {
  std::vector<std::string> argv = {agentsh_bin(), "exec",       "--config", config_,
                                   "--",          "/bin/sleep", "30"};
  auto env = base_env(dir_);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::vector<char*> a, e;
    for (auto& s : argv) a.push_back(s.data());
    a.push_back(nullptr);
    for (auto& s : env) e.push_back(s.data());
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  // Wait until the exec row exists: the command has started.
  for (int i = 0; i < 100; ++i) {
    RunResult q = agentsh({"events", "query", "--config", config_, "--type", "exec"});
    if (q.out.find("/bin/sleep 30") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM);
}

TEST_F(ExecTest, PolicyTestPrintsDecisionEffectiveRuleReason) {
  RunResult r = agentsh({"debug", "policy-test", "--config", config_, "--workspace", "/tmp", "--op",
                         "file_read", "--path", "/etc/shadow"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("Decision:  DENY\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Effective: deny\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Rule:      default-deny-files\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Reason:"), std::string::npos) << r.out;

  RunResult a = agentsh({"debug", "policy-test", "--config", config_, "--workspace", "/tmp", "--op",
                         "file_read", "--path", "/root/.ssh/id_rsa"});
  EXPECT_NE(a.out.find("Decision:  APPROVE\n"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("Effective: deny\n"), std::string::npos) << a.out;  // fails closed

  RunResult n = agentsh({"debug", "policy-test", "--config", config_, "--op", "net_connect",
                         "--path", "169.254.169.254:80"});
  EXPECT_NE(n.out.find("Decision:  DENY"), std::string::npos) << n.out;
  EXPECT_NE(n.out.find("block-private-networks"), std::string::npos) << n.out;

  RunResult j = agentsh({"debug", "policy-test", "--config", config_, "--op", "exec", "--path",
                         "env sudo whoami", "--json"});
  EXPECT_NE(j.out.find("\"decision\": \"deny\""), std::string::npos) << j.out;
  EXPECT_NE(j.out.find("\"rule\": \"block-shell-escape\""), std::string::npos) << j.out;

  EXPECT_EQ(agentsh({"debug", "policy-test", "--op", "file_fly", "--path", "/x"}).status, 2);
  EXPECT_EQ(agentsh({"debug", "policy-test", "--op", "file_read"}).status, 2);
}

TEST_F(ExecTest, PolicyValidateAcceptsEveryReferencePolicy) {
  std::vector<std::string> args = {"policy", "validate", "--quiet",
                                   "../shared/reference/default-policy.yaml"};
  for (const char* p :
       {"agent-default", "agent-observe", "agent-sandbox", "agent-strict", "bench-realistic",
        "ci-strict", "default", "dev-safe", "server-config", "signal-strict", "system-readonly"})
    args.push_back(std::string("../shared/reference/policies/") + p + ".yaml");
  RunResult r = agentsh(args);
  EXPECT_EQ(r.status, 0) << r.out << r.err;
}

TEST_F(ExecTest, PolicyValidatePinpointsErrors) {
  struct {
    const char* yaml;
    const char* where;
    const char* what;
  } cases[] = {
      {"version: 1\nname: x\nfile_rules:\n  - name: r1\n    pathz: [\"/a\"]\n    decision: allow\n",
       ":5:5", "pathz"},
      {"version: 1\nname: x\nfile_rules:\n  - name: r2\n    paths: [\"/a\"]\n    operations: "
       "[read]\n"
       "    decision: maybe\n",
       ":7:", "maybe"},
      {"version: 1\nname: x\ncommand_rules:\n  - name: r3\n    commands: [ls]\n    args_patterns: "
       "[\"(unclosed\"]\n    decision: deny\n",
       ":6:", "r3"},
      {"version: 1\nname: x\nfile_rules:\n  - name: r4\n    paths: [\"/a[\"]\n    operations: "
       "[read]\n"
       "    decision: deny\n",
       ":5:", "r4"},
  };
  int i = 0;
  for (const auto& c : cases) {
    std::string name = "bad" + std::to_string(i++) + ".yaml";
    dir_.write(name, c.yaml);
    RunResult r = agentsh({"policy", "validate", dir_.file(name)});
    EXPECT_EQ(r.status, 1) << c.yaml;
    EXPECT_NE(r.err.find(name + c.where), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.what), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace agentsh
