// libagentsh_hook.so, exec: every way a program starts another one is put to the broker
// when the snapshot says so (kFlagHookExecViaBroker), a denial prints exactly one line and
// the denied program never runs; the hook keeps itself in every child's environment.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/hook_harness.h"

namespace agentsh::hook_test {
namespace {

using policy::Decision;

constexpr char kSudoLine[] = "agentsh: blocked by policy: rule=block-sudo command=sudo\n";

class HookExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = world_.dir() / "w";
    bin_ = w_ + "/bin";
    marker_ = w_ + "/sudo-ran";
    fs::create_directories(bin_);
    write_file(w_ + "/secret", "top-secret");
    // A fake sudo that leaves a mark: the proof that a denied program never ran.
    script(bin_ + "/sudo", "#!/bin/sh\necho ran >> " + marker_ + "\necho SUDO-RAN\n");
    script(bin_ + "/git", "#!/bin/sh\necho ran >> " + w_ + "/git-ran\n");
    script(w_ + "/escalate.sh", "#!/bin/sh\nsudo whoami\n");
    world_.broker().answer(
        "sudo", {false, "block-sudo", "blocked by policy: rule=block-sudo command=sudo", 0, {}});
    auto& b = world_.builder();
    b.add_file_rule("deny-secret", "", "", policy::kAllOps, Decision::kDeny, {w_ + "/secret"});
    b.add_file_rule("allow-all", "", "", policy::kAllOps, Decision::kAllow, {"/", "/**"});
  }

  static void script(const std::string& path, const std::string& body) {
    write_file(path, body);
    fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read |
                              fs::perms::group_exec | fs::perms::others_exec);
  }

  RunResult hooked(const std::vector<std::string>& argv) { return world_.hooked(argv, w_, bin_); }
  bool sudo_ran() const { return fs::exists(marker_); }
  size_t count(const std::string& hay, const std::string& needle) const {
    size_t n = 0;
    for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
    return n;
  }

  HookWorld world_;
  std::string w_, bin_, marker_;
};

TEST_F(HookExecTest, DeniedExecvpPrintsTheLineAndFailsWithEacces) {
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult r = hooked({case_bin("hook_exec"), "execvp", "sudo", "whoami"});
  EXPECT_EQ(r.out, "exec-errno=EACCES\n");
  EXPECT_EQ(r.err, kSudoLine);
  EXPECT_FALSE(sudo_ran());
  auto execs = world_.broker().execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].resolved, bin_ + "/sudo");
  EXPECT_EQ(execs[0].cwd, w_);
  EXPECT_EQ(execs[0].argv, (std::vector<std::string>{"sudo", "whoami"}));
}

TEST_F(HookExecTest, HookFormatsTheLineWhenTheBrokerGivesNoMessage) {
  world_.broker().answer("sudo", {false, "no-escalation", "", 0, {}});
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult r = hooked({case_bin("hook_exec"), "execvp", "sudo"});
  EXPECT_EQ(r.err, "agentsh: blocked by policy: rule=no-escalation command=sudo\n");
  EXPECT_EQ(r.out, "exec-errno=EACCES\n");
  EXPECT_FALSE(sudo_ran());
}

TEST_F(HookExecTest, EveryWayToStartSudoIsBlocked) {
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  struct Case {
    std::vector<std::string> argv;
    std::string out;
  } cases[] = {
      {{case_bin("hook_exec"), "vfork", "sudo", "whoami"}, "exec-errno=EACCES\n"},
      {{case_bin("hook_exec"), "spawnp", "sudo", "whoami"}, "spawn=EACCES\n"},
      {{case_bin("hook_exec"), "system", "sudo whoami"}, "system=32256\n"},
      {{case_bin("hook_exec"), "popen", "sudo whoami"}, "popen=EACCES\n"},
      {{"/usr/bin/env", "sudo", "whoami"}, ""},
      {{"/bin/sh", "-c", "echo whoami | xargs sudo"}, ""},
      {{"/usr/bin/find", w_, "-maxdepth", "0", "-exec", "sudo", "whoami", ";"}, ""},
      {{w_ + "/escalate.sh"}, ""},
      {{"/usr/bin/python3", "-c",
        "import subprocess, sys\n"
        "try:\n  subprocess.run(['sudo', 'whoami'])\nexcept PermissionError as e:\n"
        "  print('PermissionError', e.errno)\n"},
       "PermissionError 13\n"},
  };
  for (const auto& c : cases) {
    RunResult r = hooked(c.argv);
    SCOPED_TRACE(c.argv[0] + (c.argv.size() > 1 ? " " + c.argv[1] : ""));
    EXPECT_FALSE(sudo_ran());
    EXPECT_EQ(count(r.err, kSudoLine), 1u) << r.err;
    EXPECT_EQ(r.out.find("SUDO-RAN"), std::string::npos);
    if (!c.out.empty()) {
      EXPECT_EQ(r.out, c.out);
    }
  }
}

TEST_F(HookExecTest, FexecveIsCheckedByTheFilesPath) {
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult r = hooked({case_bin("hook_exec"), "fexecve", bin_ + "/sudo", "sudo"});
  EXPECT_EQ(r.out, "exec-errno=EACCES\n");
  EXPECT_EQ(r.err, kSudoLine);
  EXPECT_FALSE(sudo_ran());
  auto execs = world_.broker().execs();
  ASSERT_EQ(execs.size(), 1u);
  EXPECT_EQ(execs[0].resolved, bin_ + "/sudo");
}

TEST_F(HookExecTest, WrappersExitWithTheirCannotExecuteStatus) {
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult env = hooked({"/usr/bin/env", "sudo", "whoami"});
  EXPECT_EQ(env.status, 126);
  RunResult sh = hooked({"/bin/sh", "-c", "sudo whoami"});
  EXPECT_EQ(sh.status, 126);
  EXPECT_FALSE(sudo_ran());
}

TEST_F(HookExecTest, OneLineEvenWhenTheShellTriesEveryPathEntry) {
  // dash keeps searching PATH after EACCES; two copies of the command (like /bin/sudo and
  // /usr/bin/sudo on merged-/usr systems) must still print the line once.
  fs::create_directories(w_ + "/bin2");
  fs::create_symlink(bin_ + "/sudo", w_ + "/bin2/sudo");
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult r = world_.hooked({"/bin/sh", "-c", "sudo whoami"}, w_, bin_ + ":" + w_ + "/bin2");
  EXPECT_EQ(count(r.err, kSudoLine), 1u) << r.err;
  EXPECT_EQ(r.status, 126);
  EXPECT_FALSE(sudo_ran());
}

TEST_F(HookExecTest, AllowedCommandsRun) {
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult v = hooked({case_bin("hook_exec"), "vfork", "/bin/true"});
  EXPECT_EQ(v.out, "exit=0\n");
  RunResult s = hooked({case_bin("hook_exec"), "spawnp", "echo", "spawned"});
  EXPECT_EQ(s.out, "spawned\nspawn=0 exit=0\n");
  RunResult e = hooked({"/usr/bin/env", "echo", "via-env"});
  EXPECT_EQ(e.out, "via-env\n");
  EXPECT_EQ(e.status, 0);
  RunResult sys = hooked({case_bin("hook_exec"), "system", "echo from-system"});
  EXPECT_EQ(sys.out, "from-system\nsystem=0\n");
  EXPECT_EQ(v.err + s.err + e.err + sys.err, "");
  // Every one of those execs was asked about (vfork child, spawn, env's exec of echo…).
  bool saw_env_echo = false;
  for (const auto& x : world_.broker().execs()) {
    if (x.argv == std::vector<std::string>{"echo", "via-env"}) saw_env_echo = true;
  }
  EXPECT_TRUE(saw_env_echo);
}

TEST_F(HookExecTest, UnreachableBrokerFailsClosed) {
  auto& b = world_.builder();
  b.set_session("sess", world_.dir() / "no-broker.sock", hook_lib(), world_.snapshot_path(), "p", 0,
                0);
  b.set_flags(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  b.set_trash_dir(world_.trash());
  write_file(world_.snapshot_path(), b.finish());
  RunResult r = run({case_bin("hook_exec"), "execvp", "sudo"},
                    {"LD_PRELOAD=" + hook_lib(), "AGENTSH_SNAPSHOT=" + world_.snapshot_path(),
                     "PATH=" + bin_ + ":/usr/bin:/bin"},
                    w_);
  EXPECT_EQ(r.out, "exec-errno=EACCES\n");
  EXPECT_EQ(r.err, "agentsh: exec denied (fail closed): cannot reach the agentsh broker at " +
                       (world_.dir() / "no-broker.sock") + " (errno 2) command=sudo\n");
  EXPECT_FALSE(sudo_ran());
}

TEST_F(HookExecTest, BrokerRedirectRunsTheReplacement) {
  world_.broker().answer("git", {true,
                                 "redirect-force-push",
                                 "",
                                 0,
                                 {"echo", "Force push blocked. Use --force-with-lease."}});
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult r = hooked({case_bin("hook_exec"), "execvp", "git", "push", "--force"});
  EXPECT_EQ(r.out, "Force push blocked. Use --force-with-lease.\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_FALSE(fs::exists(w_ + "/git-ran"));
  RunResult s = hooked({case_bin("hook_exec"), "spawnp", "git", "push", "--force"});
  EXPECT_EQ(s.out, "Force push blocked. Use --force-with-lease.\nspawn=0 exit=0\n");
  EXPECT_FALSE(fs::exists(w_ + "/git-ran"));
}

TEST_F(HookExecTest, ChildWithStrippedEnvironmentIsStillHooked) {
  world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  RunResult r =
      hooked({case_bin("hook_exec"), "stripenv", case_bin("hook_exec"), "env", w_ + "/secret"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{
                           "LD_PRELOAD=" + hook_lib(), "AGENTSH_SNAPSHOT=" + world_.snapshot_path(),
                           "AGENTSH_SESSION_ID=sess-hook-test", "open=EACCES"}))
      << r.err;
  // env -i and env -u drop the variables too; the grandchild is still governed.
  RunResult e = hooked({"/usr/bin/env", "-i", case_bin("hook_exec"), "env", w_ + "/secret"});
  EXPECT_EQ(e.lines().back(), "open=EACCES");
  RunResult u = hooked({"/usr/bin/env", "-u", "LD_PRELOAD", "-u", "AGENTSH_SNAPSHOT",
                        case_bin("hook_exec"), "env", w_ + "/secret"});
  EXPECT_EQ(u.lines().back(), "open=EACCES");
}

TEST_F(HookExecTest, ReplacedPreloadKeepsTheOtherLibraryAfterTheHook) {
  world_.write_snapshot(snapshot::kFlagEnforce);
  std::string libm = "/lib/x86_64-linux-gnu/libm.so.6";
  RunResult r =
      hooked({"/usr/bin/env", "LD_PRELOAD=" + libm, case_bin("hook_exec"), "env", w_ + "/secret"});
  ASSERT_GE(r.lines().size(), 4u) << r.err;
  EXPECT_EQ(r.lines()[0], "LD_PRELOAD=" + hook_lib() + ":" + libm);
  EXPECT_EQ(r.lines()[3], "open=EACCES");
}

TEST_F(HookExecTest, WithoutTheBrokerFlagTheTracerDecidesExec) {
  world_.write_snapshot(snapshot::kFlagEnforce);  // kFlagHookExecViaBroker clear
  RunResult r = hooked({case_bin("hook_exec"), "execvp", "sudo"});
  EXPECT_EQ(r.out, "SUDO-RAN\n");
  EXPECT_TRUE(sudo_ran());
  EXPECT_TRUE(world_.broker().execs().empty());
  RunResult s =
      hooked({case_bin("hook_exec"), "stripenv", case_bin("hook_exec"), "env", w_ + "/secret"});
  EXPECT_EQ(s.lines().back(), "open=EACCES");
}

TEST_F(HookExecTest, FailClosedDeniesExec) {
  world_.write_snapshot(snapshot::kFlagEnforce);
  RunResult r = run({case_bin("hook_exec"), "execvp", "/bin/true"},
                    {"LD_PRELOAD=" + hook_lib(), "AGENTSH_SNAPSHOT=" + (w_ + "/missing.snap"),
                     "PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.out, "exec-errno=EACCES\n");
  EXPECT_NE(r.err.find("fail closed"), std::string::npos);
}

}  // namespace
}  // namespace agentsh::hook_test
