// Pure parts of the tracer: #! parsing as binfmt_script does it, the argv the kernel
// builds for a script, gate address choice and overlap, the process table's
// bookkeeping, and the Engine adapter's mapping of effects.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "policy/engine.h"
#include "policy/loader.h"
#include "tracer/engine_decider.h"
#include "tracer/exec_checker.h"
#include "tracer/gate.h"
#include "tracer/net_emulator.h"
#include "tracer/process_table.h"
#include "tracer/static_decider.h"

namespace agentsh::tracer {
namespace {

using Argv = std::vector<std::string>;

TEST(Shebang, ParsesLikeTheKernel) {
  std::string i, a;
  EXPECT_TRUE(ExecChecker::parse_shebang("#!/bin/sh\necho", &i, &a));
  EXPECT_EQ(i, "/bin/sh");
  EXPECT_EQ(a, "");
  EXPECT_TRUE(ExecChecker::parse_shebang("#! \t/usr/bin/env  python3 -u  \n", &i, &a));
  EXPECT_EQ(i, "/usr/bin/env");
  EXPECT_EQ(a, "python3 -u");  // one argument: the rest of the line, trimmed
  EXPECT_TRUE(ExecChecker::parse_shebang("#!/bin/bash", &i, &a));  // no newline
  EXPECT_EQ(i, "/bin/bash");
  EXPECT_TRUE(ExecChecker::parse_shebang("#!\n", &i, &a));
  EXPECT_EQ(i, "");  // the caller turns this into ENOEXEC
  EXPECT_FALSE(
      ExecChecker::parse_shebang("\x7f"
                                 "ELF",
                                 &i, &a));
  EXPECT_FALSE(ExecChecker::parse_shebang("#", &i, &a));
  EXPECT_FALSE(ExecChecker::parse_shebang("", &i, &a));
}

TEST(Shebang, ScriptArgvIsWhatTheInterpreterSees) {
  EXPECT_EQ(ExecChecker::script_argv({"./s.sh", "x", "y"}, "/bin/sh", "", "./s.sh"),
            (Argv{"/bin/sh", "./s.sh", "x", "y"}));
  EXPECT_EQ(ExecChecker::script_argv({"whatever", "x"}, "/usr/bin/env", "python3 -u", "/dev/fd/3"),
            (Argv{"/usr/bin/env", "python3 -u", "/dev/fd/3", "x"}));
  EXPECT_EQ(ExecChecker::script_argv({""}, "/bin/sh", "", "s"), (Argv{"/bin/sh", "s"}));
}

TEST(Gate, AddressesAreRandomPageAlignedAndInRange) {
  std::set<uint64_t> seen;
  for (int i = 0; i < 200; ++i) {
    uint64_t g = gate::choose_address();
    EXPECT_TRUE(gate::valid_address(g)) << std::hex << g;
    EXPECT_EQ(g % 4096, 0u);
    EXPECT_GE(g >> 32, gate::kSliceFirst);
    EXPECT_LT(g >> 32, gate::kSliceEnd);
    seen.insert(g);
  }
  EXPECT_GT(seen.size(), 190u);
  EXPECT_FALSE(gate::valid_address(0));
  EXPECT_FALSE(gate::valid_address(0x7fff'0000'0000ull));
}

TEST(Gate, OverlapIsPageExact) {
  const uint64_t g = 0x2000'0000'1000ull;
  EXPECT_TRUE(gate::overlaps(g, g, 1));
  EXPECT_TRUE(gate::overlaps(g, g + 4095, 1));
  EXPECT_TRUE(gate::overlaps(g, g - 4096, 4097));  // rounds up into the gate
  EXPECT_FALSE(gate::overlaps(g, g - 4096, 4096));
  EXPECT_FALSE(gate::overlaps(g, g + 4096, 4096));
  EXPECT_FALSE(gate::overlaps(g, g, 0));
  EXPECT_TRUE(gate::overlaps(g, 0, ~0ull));  // wraps: covers everything
  EXPECT_TRUE(gate::overlaps(g, 4096, g));   // ends exactly inside
}

TEST(ProcessTableTest, FollowsForksThreadsExecAndExit) {
  ProcessTable t;
  ProcState root;
  root.initial = true;
  root.umask = 077;
  t.add_root(100, root);
  EXPECT_TRUE(t.contains_tid(100));
  EXPECT_TRUE(t.state(100)->initial);
  // A thread shares the group; a child process copies the state (but is not "initial").
  t.add_child(100, 101, /*thread=*/true, false);
  t.add_child(100, 200, /*thread=*/false, false);
  EXPECT_EQ(t.tgid_of(101), 100);
  EXPECT_EQ(t.tgid_of(200), 200);
  EXPECT_EQ(t.thread_count(100), 2u);
  EXPECT_EQ(t.state(200)->umask, 077u);
  EXPECT_FALSE(t.state(200)->initial);
  t.update(200, [](ProcState& s) { s.foreign_creds = true; });
  t.add_child(200, 300, false, /*shares_files=*/true);
  EXPECT_TRUE(t.state(300)->foreign_creds);  // inherited
  EXPECT_TRUE(t.state(300)->shared_files);
  EXPECT_TRUE(t.state(200)->shared_files);  // both sides of a shared table
  // Thread 101 execs: it becomes 100, the approval recorded for 101 is returned.
  ExecApproval a;
  a.argv = {"x"};
  t.set_approval(101, a);
  auto got = t.on_exec(100, 101);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->argv, Argv{"x"});
  EXPECT_FALSE(t.contains_tid(101));
  EXPECT_EQ(t.thread_count(100), 1u);
  EXPECT_FALSE(t.state(100)->initial);
  EXPECT_FALSE(t.on_exec(100, 100).has_value());  // no approval: the caller kills
  // Exit of the last thread removes the group.
  EXPECT_TRUE(t.remove(300));
  EXPECT_FALSE(t.contains_tid(300));
  EXPECT_FALSE(t.remove(300));
  EXPECT_EQ(t.tgids().size(), 2u);
}

TEST(NetDescribe, ShowsV4MappedAsV4) {
  sockaddr_storage ss{};
  auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
  a6->sin6_family = AF_INET6;
  a6->sin6_port = htons(443);
  a6->sin6_addr.s6_addr[10] = 0xff;
  a6->sin6_addr.s6_addr[11] = 0xff;
  a6->sin6_addr.s6_addr[12] = 127;
  a6->sin6_addr.s6_addr[15] = 2;
  std::string ip;
  uint16_t port = 0;
  ASSERT_TRUE(NetEmulator::describe(ss, &ip, &port));
  EXPECT_EQ(ip, "127.0.0.2");
  EXPECT_EQ(port, 443);
  a6->sin6_addr = in6addr_loopback;
  ASSERT_TRUE(NetEmulator::describe(ss, &ip, &port));
  EXPECT_EQ(ip, "::1");
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(NetEmulator::describe(ss, &ip, &port));
}

TEST(StaticDeciderTest, DeniesByNamePathAndAddress) {
  StaticDecider d;
  d.deny_command("no-sudo", "sudo")
      .deny_path("no-etc-write", "/etc", policy::op_bit(policy::FileOp::kWrite))
      .deny_net("no-meta", "169.254.169.254", 80);
  EXPECT_FALSE(d.exec({"sudo", "id"}, "/usr/bin/sudo", true).allow);
  EXPECT_FALSE(d.exec({"x"}, "/usr/bin/sudo", true).allow);  // by resolved path too
  EXPECT_EQ(d.exec({"sudo"}, "/usr/bin/sudo", false).subject, "sudo");
  EXPECT_TRUE(d.exec({"ls"}, "/usr/bin/ls", false).allow);
  EXPECT_EQ(d.direct_exec_calls(), 2u);
  EXPECT_FALSE(d.file("/etc/passwd", policy::FileOp::kWrite).allow);
  EXPECT_TRUE(d.file("/etc/passwd", policy::FileOp::kRead).allow);
  EXPECT_TRUE(d.file("/etcetera", policy::FileOp::kWrite).allow);
  EXPECT_FALSE(d.net("169.254.169.254", 80).allow);
  EXPECT_TRUE(d.net("169.254.169.254", 443).allow);
}

std::unique_ptr<policy::Engine> compile(const std::string& yaml, policy::EngineOptions opt = {}) {
  policy::LoadResult r = policy::load_policy_text(yaml, "t.yaml");
  for (const auto& e : r.errors) ADD_FAILURE() << e.format();
  std::string err;
  auto e = policy::Engine::compile(r.policy, {{"PROJECT_ROOT", "/work"}}, opt, &err);
  EXPECT_NE(e, nullptr) << err;
  return e;
}

constexpr const char* kPolicy = R"(
version: 1
name: t
file_rules:
  - name: secrets
    paths: ["/work/secret/**"]
    operations: ["*"]
    decision: deny
  - name: audited
    paths: ["/work/logs/**"]
    operations: ["*"]
    decision: audit
  - name: ask-me
    paths: ["/work/ask/**"]
    operations: ["*"]
    decision: approve
  - name: soft
    paths: ["/work/keep/**"]
    operations: ["delete", "rmdir"]
    decision: soft_delete
  - name: rest
    paths: ["/**"]
    operations: ["*"]
    decision: allow
network_rules:
  - name: loopback
    cidrs: ["127.0.0.1/32"]
    decision: allow
command_rules:
  - name: no-sudo
    commands: ["sudo"]
    decision: deny
  - name: everything
    commands: ["*"]
    decision: allow
)";

TEST(EngineDeciderTest, MapsEffectsAndUnwraps) {
  auto engine = compile(kPolicy);
  ASSERT_NE(engine, nullptr);
  EngineDecider d(*engine);
  Verdict v = d.exec({"env", "sudo", "whoami"}, "/usr/bin/env", true);
  EXPECT_FALSE(v.allow);
  EXPECT_EQ(v.rule, "no-sudo");
  EXPECT_EQ(v.subject, "sudo");
  EXPECT_TRUE(d.exec({"ls", "-l"}, "/usr/bin/ls", false).allow);
  EXPECT_FALSE(d.file("/work/secret/key", policy::FileOp::kRead).allow);
  Verdict a = d.file("/work/logs/x", policy::FileOp::kWrite);
  EXPECT_TRUE(a.allow);
  EXPECT_TRUE(a.audit);
  EXPECT_EQ(a.decision, "audit");
  // approve with approvals off: fails closed.
  Verdict ask = d.file("/work/ask/x", policy::FileOp::kRead);
  EXPECT_FALSE(ask.allow);
  EXPECT_TRUE(d.net("127.0.0.1", 80).allow);
  EXPECT_FALSE(d.net("127.0.0.2", 80).allow);
}

TEST(EngineDeciderTest, SoftDeleteNamesTheTrash) {
  auto engine = compile(kPolicy);
  ASSERT_NE(engine, nullptr);
  EngineDecider d(*engine, nullptr, "/run/agentsh/trash");
  Verdict v = d.file("/work/keep/x", policy::FileOp::kDelete);
  EXPECT_TRUE(v.allow);
  EXPECT_EQ(v.decision, "soft_delete");
  EXPECT_EQ(v.soft_delete_dir, "/run/agentsh/trash");
  EXPECT_TRUE(d.file("/work/keep/x", policy::FileOp::kWrite).soft_delete_dir.empty());
  EngineDecider no_trash(*engine);  // no trash configured: a real delete, audited
  EXPECT_TRUE(no_trash.file("/work/keep/x", policy::FileOp::kDelete).soft_delete_dir.empty());
}

TEST(EngineDeciderTest, AskCallbackDecidesApprovals) {
  policy::EngineOptions opt;
  opt.approval_mode = policy::ApprovalMode::kApi;
  auto engine = compile(kPolicy, opt);
  ASSERT_NE(engine, nullptr);
  int asked = 0;
  EngineDecider yes(*engine,
                    [&](std::string_view kind, std::string_view target, const policy::Verdict&) {
                      ++asked;
                      EXPECT_EQ(kind, "file");
                      EXPECT_EQ(target, "/work/ask/x");
                      return true;
                    });
  Verdict v = yes.file("/work/ask/x", policy::FileOp::kRead);
  EXPECT_TRUE(v.allow);
  EXPECT_TRUE(v.audit);
  EXPECT_EQ(asked, 1);
  EngineDecider none(*engine);  // nobody to ask: denied
  EXPECT_FALSE(none.file("/work/ask/x", policy::FileOp::kRead).allow);
}

}  // namespace
}  // namespace agentsh::tracer
