// Hook-only mode (`agentsh exec --no-tracer`), the exec fast table: an exec the policy
// allows plainly whatever its arguments is decided inside the process — no broker round
// trip (AGENTSH_BROKER_STATS=1 counts what the broker served) — and still leaves its
// audit row; wrappers, args_patterns, approvals and denials still go to the broker and
// are decided exactly as before, with the broker's message.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/exec_support.h"

namespace agentsh {
namespace {

namespace fs = std::filesystem;
using testing_support::agentsh_bin;
using testing_support::base_env;
using testing_support::make_fake_tool;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;
using testing_support::write_test_config;

// The reference default policy's command rules (tests/unit/testdata/reference/
// default-policy.yaml), one allow rule with a message template, and open files.
constexpr const char* kPolicy = R"(version: 1
name: default
file_rules:
  - name: all
    paths: ["/**"]
    operations: ["*"]
    decision: allow
command_rules:
  - name: allow-echo-noted
    commands: [echo]
    decision: allow
    message: "echo says {{.Args}}"
  - name: allow-safe-commands
    commands: [bash, sh, /bin/bash, /bin/sh, /usr/bin/bash, /usr/bin/sh, ls, cat, head, tail,
               grep, find, wc, sort, uniq, diff, pwd, date, hostname, which]
    decision: allow
  - name: allow-dev-tools
    commands: [git, node, npm, python, python3, pip, pip3, cargo, go, make]
    decision: allow
  - name: approve-package-install
    commands: [npm, pip, pip3, cargo]
    args_patterns: ["^install", "^add"]
    decision: approve
    message: "Agent wants to install packages: {{.Args}}"
  - name: block-rm-recursive
    commands: [rm]
    args_patterns: ["-[^-]*r", "--recursive"]
    decision: deny
    message: "Recursive delete blocked. Files can be removed individually."
  - name: block-shell-escape
    commands: [sudo, su, chroot, nsenter, unshare]
    decision: deny
  - name: allow-other-commands
    commands: ["*"]
    decision: allow
)";

struct Stats {
  long checks = -1, audits = -1;
};

class HookExecFast : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("policies/default.yaml", kPolicy);
    config_ = write_test_config(dir_);
    for (const char* t : {"sudo", "npm", "rm"}) make_fake_tool(dir_, t);
    fs::create_directories(dir_.file("victim/sub"));
    dir_.write("victim/sub/f", "keep\n");
  }

  // Runs `script` with /bin/sh under agentsh --no-tracer; the top-level command
  // (`/bin/sh FILE`) is checked by agentsh itself, everything the script starts by the
  // hook.
  RunResult script(const std::string& body, Stats* st) {
    dir_.write("script.sh", body);
    std::vector<std::string> env = base_env(dir_);
    env.push_back("AGENTSH_BROKER_STATS=1");
    RunResult r = run({agentsh_bin(), "exec", "--config", config_, "--workspace", dir_.path(),
                       "--no-tracer", "--", "/bin/sh", dir_.file("script.sh")},
                      env, "", 60, dir_.path());
    std::smatch m;
    static const std::regex kLine(
        R"(agentsh: broker: exec checks (\d+), in-process exec audits (\d+),.*\n)");
    if (std::regex_search(r.err, m, kLine)) {
      st->checks = std::stol(m[1]);
      st->audits = std::stol(m[2]);
      r.err = m.prefix().str() + m.suffix().str();  // the rest is what the program printed
    }
    return r;
  }

  std::string events() {
    RunResult q =
        run({agentsh_bin(), "events", "query", "--config", config_, "--json"}, base_env(dir_));
    EXPECT_EQ(q.status, 0) << q.err;
    return q.out;
  }

  // JSON rows (one per line) whose target starts with `target`.
  std::vector<std::string> rows_for(const std::string& target) {
    std::vector<std::string> out;
    std::string all = events();
    size_t start = 0;
    while (start < all.size()) {
      size_t end = all.find('\n', start);
      if (end == std::string::npos) end = all.size();
      std::string line = all.substr(start, end - start);
      if (line.find("\"target\":\"" + target) != std::string::npos) out.push_back(line);
      start = end + 1;
    }
    return out;
  }

  static std::string field(const std::string& row, const std::string& name) {
    std::smatch m;
    std::regex re("\"" + name + "\":(\"[^\"]*\"|[0-9]+)");
    return std::regex_search(row, m, re) ? m[1].str() : "<missing>";
  }

  TempDir dir_;
  std::string config_;
};

TEST_F(HookExecFast, PlainAllowedExecsNeverReachTheBroker) {
  Stats st;
  std::string many = "/bin/true";  // 200 arguments: still one datagram
  for (int i = 0; i < 200; ++i) many += " a" + std::to_string(i);
  RunResult r = script(
      "i=0; while [ $i -lt 24 ]; do /bin/true; i=$((i+1)); done\n" + many +
          "\n"
          "/bin/echo done; ls -d / ; cat /dev/null; npm --version >/dev/null 2>&1; echo npm=$?\n",
      &st);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "done\n/\nnpm=0\n");
  EXPECT_EQ(r.err, "");
  // 25 × true, echo, ls, cat, and the fake npm's touch in-process; npm is named by a
  // rule with args_patterns: the broker decides it, whatever its arguments.
  EXPECT_EQ(st.audits, 29);
  EXPECT_EQ(st.checks, 1);
  EXPECT_TRUE(dir_.exists("ran-npm"));
}

TEST_F(HookExecFast, SpawnAndVforkChildrenUseTheTableToo) {
  Stats st;
  std::string prog =
      (fs::path(agentsh_bin()).parent_path().parent_path() / "tests/cases/hook_exec").string();
  RunResult r = script(prog + " spawnp /bin/echo spawned\n" + prog + " vfork /bin/true\n", &st);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "spawned\nspawn=0 exit=0\nexit=0\n");
  EXPECT_EQ(st.checks, 0);
  EXPECT_EQ(st.audits, 4);  // the two hook_exec runs, echo, true
}

TEST_F(HookExecFast, WrappersArgsRulesApprovalsAndDenialsStillGoToTheBroker) {
  struct Case {
    std::string cmd, out, err;
    const char* ran;  // the fake tool that must not have run
  } cases[] = {
      {"env sudo whoami; echo st=$?", "st=126\n",
       "agentsh: blocked by policy: rule=block-shell-escape command=sudo\n", "ran-sudo"},
      {"sudo whoami; echo st=$?", "st=126\n",
       "agentsh: blocked by policy: rule=block-shell-escape command=sudo\n", "ran-sudo"},
      {"sh -c 'sudo id'; echo st=$?", "st=126\n",
       "agentsh: blocked by policy: rule=block-shell-escape command=sudo\n", "ran-sudo"},
      {"rm -rf victim; echo st=$?", "st=126\n",
       "agentsh: blocked by policy: rule=block-rm-recursive command=rm\n", "ran-rm"},
      {"npm install left-pad; echo st=$?", "st=126\n",
       "agentsh: blocked by policy: rule=approve-package-install command=npm (approval required "
       "(no approver: approvals are disabled))\n",
       "ran-npm"},
      {"echo x | xargs sudo; echo st=$?", "st=126\n",
       "agentsh: blocked by policy: rule=block-shell-escape command=sudo\n", "ran-sudo"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.cmd);
    Stats st;
    RunResult r = script(c.cmd + "\n", &st);
    EXPECT_EQ(r.out, c.out);
    // The broker's line (dash tries every PATH entry: a fake tool that shadows a real
    // one is denied once per copy), and no other line of ours.
    size_t ours = 0;
    for (size_t p = r.err.find("agentsh:"); p != std::string::npos;
         p = r.err.find("agentsh:", p + 1)) {
      EXPECT_EQ(r.err.compare(p, c.err.size(), c.err), 0) << r.err;
      ++ours;
    }
    EXPECT_GE(ours, 1u) << r.err;
    EXPECT_FALSE(dir_.exists(c.ran));
    EXPECT_GE(st.checks, 1);
    EXPECT_TRUE(dir_.exists("victim/sub/f"));
  }
}

TEST_F(HookExecFast, InProcessExecsAreAuditedLikeBrokerOnes) {
  // The same command decided in-process, then through the broker (an argument too big
  // for one datagram makes the hook ask, as it does when a record cannot be queued).
  std::string big(33000, 'b');
  Stats st;
  RunResult r = script("/bin/echo hello\n/bin/echo " + big + " >/dev/null\n", &st);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(st.audits, 1);
  EXPECT_EQ(st.checks, 1);
  std::vector<std::string> fast = rows_for("/bin/echo hello\"");
  std::vector<std::string> asked = rows_for("/bin/echo bbbbbbbbbbbbbbbb");
  ASSERT_EQ(fast.size(), 1u) << events();
  ASSERT_EQ(asked.size(), 1u);
  for (const char* f :
       {"type", "operation", "decision", "effective", "rule", "source", "session", "command_id"}) {
    EXPECT_EQ(field(fast[0], f), field(asked[0], f)) << f;
  }
  EXPECT_EQ(field(fast[0], "type"), "\"exec\"");
  EXPECT_EQ(field(fast[0], "rule"), "\"allow-echo-noted\"");
  EXPECT_EQ(field(fast[0], "source"), "\"hook\"");
  EXPECT_EQ(field(fast[0], "effective"), "\"allow\"");
  // The message template is expanded from this exec's arguments.
  EXPECT_EQ(field(fast[0], "message"), "\"echo says hello\"");
  EXPECT_NE(field(fast[0], "pid"), field(asked[0], "pid"));
}

TEST_F(HookExecFast, EveryInProcessExecLeavesExactlyOneRow) {
  Stats st;
  RunResult r = script("i=0; while [ $i -lt 40 ]; do /bin/true row $i; i=$((i+1)); done\n", &st);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(st.audits, 40);
  EXPECT_EQ(st.checks, 0);
  std::string all = events();
  size_t rows = 0;
  for (int i = 0; i < 40; ++i)
    rows += all.find("\"target\":\"/bin/true row " + std::to_string(i) + "\"") != std::string::npos;
  EXPECT_EQ(rows, 40u) << all.substr(0, 2000);
}

}  // namespace
}  // namespace agentsh
