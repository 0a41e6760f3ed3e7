// The hook's start-up: the policy snapshot handed over as an inherited descriptor
// (AGENTSH_SNAPSHOT_FD, agentsh/snapshot_handoff.h) — used when it is the real thing,
// ignored when closed or forged, kept across `env -i`, unchangeable by the agent — and
// the lazily mapped syscall gate under threads, vfork and fork.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/exec_support.h"
#include "tests/integration/hook_harness.h"

namespace agentsh::hook_test {
namespace {

using policy::Decision;
using policy::FileOp;

constexpr uint64_t kGate = 0x7e5b00000000ull;
constexpr const char* kGateHex = "7e5b00000000";
constexpr const char* kFd = "137";  // the hand-off number used here

class HookStartupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = world_.dir() / "w";
    fs::create_directories(w_);
    write_file(w_ + "/ok", "ok-content");
    write_file(w_ + "/secret", "top-secret");
    auto& b = world_.builder();
    b.add_file_rule("deny-secret", "", "", policy::kAllOps, Decision::kDeny, {w_ + "/secret"});
    b.add_file_rule("allow-all", "", "", policy::kAllOps, Decision::kAllow, {"/**", "/"});
  }

  // The hooked environment without LD_PRELOAD for hook_startup_fd itself (it passes
  // $HOOK_PRELOAD on to the program it execs), AGENTSH_SNAPSHOT = `snap`.
  std::vector<std::string> helper_env(const std::string& snap) {
    std::vector<std::string> env;
    for (const auto& e : world_.env()) {
      if (e.rfind("LD_PRELOAD=", 0) == 0 || e.rfind("AGENTSH_SNAPSHOT=", 0) == 0) continue;
      env.push_back(e);
    }
    env.push_back("HOOK_PRELOAD=" + hook_lib());
    env.push_back("AGENTSH_SNAPSHOT=" + snap);
    return env;
  }
  RunResult via_helper(const std::vector<std::string>& setup, const std::string& snap,
                       const std::vector<std::string>& prog) {
    std::vector<std::string> argv{case_bin("hook_startup_fd")};
    argv.insert(argv.end(), setup.begin(), setup.end());
    argv.push_back("--");
    argv.insert(argv.end(), prog.begin(), prog.end());
    RunResult r = run(argv, helper_env(snap));
    world_.broker().drain();
    return r;
  }
  std::vector<std::string> read_both() {
    return {case_bin("hook_fileops"), "read", w_ + "/ok", "read", w_ + "/secret"};
  }

  HookWorld world_;
  std::string w_;
};

const std::vector<std::string> kDecided = {"read OK ok-content", "read ERR EACCES"};

// The path names nothing: only the descriptor can have given the hook its policy.
TEST_F(HookStartupTest, HandedDescriptorIsUsedWithoutThePath) {
  world_.write_snapshot();
  std::string real = world_.snapshot_path();
  std::string moved = world_.dir() / "moved.snap";
  fs::rename(real, moved);
  RunResult r = via_helper({"memfd", kFd, moved}, real, read_both());
  EXPECT_EQ(r.lines(), kDecided) << r.err;
  EXPECT_EQ(r.err, "");  // no fail-closed warning
}

// The program closed the number: the hook falls back to the path.
TEST_F(HookStartupTest, ClosedDescriptorFallsBackToThePath) {
  world_.write_snapshot();
  RunResult r =
      via_helper({"closed", kFd, world_.snapshot_path()}, world_.snapshot_path(), read_both());
  EXPECT_EQ(r.lines(), kDecided) << r.err;
  EXPECT_EQ(r.err, "");
}

// Another file at that number — here a snapshot that allows everything — is not trusted:
// its dev/ino are not the ones the variable names. The path's policy decides.
TEST_F(HookStartupTest, ForgedDescriptorIsNotTrusted) {
  world_.write_snapshot();
  HookWorld lax;
  lax.builder().add_file_rule("all", "", "", policy::kAllOps, Decision::kAllow, {"/**", "/"});
  lax.write_snapshot();
  RunResult r = via_helper({"forge", kFd, world_.snapshot_path(), lax.snapshot_path()},
                           world_.snapshot_path(), read_both());
  EXPECT_EQ(r.lines(), kDecided) << r.err;
  // Control: the lax snapshot by path does allow the secret, so the check above is real.
  std::vector<std::string> env = lax.env();
  RunResult c = run(read_both(), env);
  EXPECT_EQ(c.lines(), (std::vector<std::string>{"read OK ok-content", "read OK top-secret"}))
      << c.err;
}

// A forged descriptor with no usable path either: fail closed, never the forged policy.
TEST_F(HookStartupTest, ForgedDescriptorAndMissingPathFailClosed) {
  world_.write_snapshot();
  HookWorld lax;
  lax.builder().add_file_rule("all", "", "", policy::kAllOps, Decision::kAllow, {"/**", "/"});
  lax.write_snapshot();
  std::string real = world_.snapshot_path();
  std::string moved = world_.dir() / "moved.snap";
  fs::rename(real, moved);
  RunResult r = via_helper({"forge", kFd, moved, lax.snapshot_path()}, real, read_both());
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"read ERR EACCES", "read ERR EACCES"}));
  EXPECT_NE(r.err.find("the snapshot file does not exist"), std::string::npos) << r.err;
}

// `env -i` drops everything; the hook puts LD_PRELOAD, AGENTSH_SNAPSHOT and
// AGENTSH_SNAPSHOT_FD back, and the child — whose path names nothing — decides from the
// inherited descriptor.
TEST_F(HookStartupTest, ChildAfterEnvDashIStillGetsTheSnapshot) {
  world_.write_snapshot();
  std::string real = world_.snapshot_path();
  std::string moved = world_.dir() / "moved.snap";
  fs::rename(real, moved);
  RunResult r = via_helper(
      {"memfd", kFd, moved}, real,
      {"/usr/bin/env", "-i", case_bin("hook_fileops"), "read", w_ + "/ok", "read", w_ + "/secret"});
  EXPECT_EQ(r.lines(), kDecided) << r.err;
  RunResult e = via_helper({"memfd", kFd, moved}, real, {"/usr/bin/env", "-i", "/usr/bin/env"});
  std::string fd_line;
  for (const auto& l : e.lines())
    if (l.rfind("AGENTSH_SNAPSHOT_FD=", 0) == 0) fd_line = l;
  EXPECT_EQ(fd_line.rfind(std::string("AGENTSH_SNAPSHOT_FD=") + kFd + ":", 0), 0u) << e.out;
  EXPECT_NE(e.out.find("AGENTSH_SNAPSHOT=" + real + "\n"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find("LD_PRELOAD=" + hook_lib()), std::string::npos) << e.out;
}

// Through agentsh exec (hook-only and hook+tracer): the command gets the descriptor and
// cannot change it — the memfd is sealed against writes, growth and shrinking.
TEST_F(HookStartupTest, AgentshExecHandsASealedDescriptor) {
  testing_support::TempDir d;
  d.write("policies/default.yaml", R"(version: 1
name: t
file_rules:
  - name: all
    paths: ["/**"]
    operations: ["*"]
    decision: allow
command_rules:
  - name: rest
    commands: ["*"]
    decision: allow
)");
  std::string config = testing_support::write_test_config(d);
  for (const char* layer : {"--no-tracer", ""}) {
    std::vector<std::string> argv = {testing_support::agentsh_bin(), "exec", "--config", config};
    if (*layer != '\0') argv.push_back(layer);
    argv.insert(argv.end(), {"--", case_bin("hook_startup_fd"), "seals"});
    auto r = testing_support::run(argv, testing_support::base_env(d));
    EXPECT_EQ(r.status, 0) << layer << r.err;
    EXPECT_EQ(r.out,
              "write EPERM\ntruncate EPERM\ngrow EPERM\nmmap-shared-write EPERM\n"
              "seals write,grow,shrink,seal\n")
        << layer << r.err;
  }
}

// The gate is mapped by the first governed call. The filter in hook_startup_threads
// refuses openat/openat2 from anywhere but the gate, so every line below proves the call
// ran from the page — including the threads that lost the race to map it.
TEST_F(HookStartupTest, LazyGateWithManyThreadsAtOnce) {
  world_.write_snapshot(snapshot::kFlagEnforce, policy::ApprovalMode::kNone, kGate);
  for (int round = 0; round < 5; ++round) {
    RunResult r =
        world_.hooked({case_bin("hook_startup_threads"), "threads", kGateHex, w_ + "/ok", "16"});
    EXPECT_EQ(r.lines(), (std::vector<std::string>{"before=no", "opened 16/16", "mapped=yes"}))
        << r.err;
  }
}

TEST_F(HookStartupTest, LazyGateMappedByAVforkChildServesTheParent) {
  world_.write_snapshot(snapshot::kFlagEnforce, policy::ApprovalMode::kNone, kGate);
  RunResult r = world_.hooked({case_bin("hook_startup_threads"), "vfork", kGateHex, w_ + "/ok"});
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"before=no", "child OK", "parent OK", "mapped=yes"}))
      << r.err;
}

TEST_F(HookStartupTest, LazyGateInheritedByAForkChild) {
  world_.write_snapshot(snapshot::kFlagEnforce, policy::ApprovalMode::kNone, kGate);
  RunResult r = world_.hooked({case_bin("hook_startup_threads"), "fork", kGateHex, w_ + "/ok"});
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"before=no", "parent OK", "child OK", "mapped=yes"}))
      << r.err;
}

// A signal handler that runs while its own thread is mapping the gate (the filter traps
// exactly the hook's mmap) and opens a file: it does not wait for itself — that one call
// is a plain syscall — and the interrupted mapping then completes.
TEST_F(HookStartupTest, LazyGateSignalHandlerDuringTheMapping) {
  world_.write_snapshot(snapshot::kFlagEnforce, policy::ApprovalMode::kNone, kGate);
  RunResult r = world_.hooked({case_bin("hook_startup_threads"), "signal", kGateHex, w_ + "/ok"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"before=no", "handler OK", "main OK", "mapped=yes"}))
      << r.err;
}

// Without a gate in the snapshot nothing is mapped, and the filter refuses the hook's
// plain openat2 and its openat fallback: the checks above are real.
TEST_F(HookStartupTest, NoGateNamedNoGateMapped) {
  HookWorld plain;
  plain.builder().add_file_rule("all", "", "", policy::kAllOps, Decision::kAllow, {"/**", "/"});
  plain.write_snapshot();
  RunResult n =
      plain.hooked({case_bin("hook_startup_threads"), "threads", kGateHex, w_ + "/ok", "4"});
  EXPECT_EQ(n.lines(), (std::vector<std::string>{"before=no", "opened 0/4 EPERM", "mapped=no"}))
      << n.err;
}

}  // namespace
}  // namespace agentsh::hook_test
