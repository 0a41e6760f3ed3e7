// The exec fast table (snapshot ExecFast, View::exec_fast_allow): the hook allows an exec
// in-process only when the broker's engine — Engine::check_command(argv, resolved,
// nested=true) — would answer a plain allow for every argv. Checked against the engine
// for the reference policies, the shipped default and a policy built to hit every
// matching rule (suffixes, globs, path names, contexts, args rules), over every command
// they name, wrappers, unnamed commands, several argv[0]/resolved spellings and argvs
// that trip the args_patterns.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "policy/command_unwrap.h"
#include "policy/engine.h"
#include "policy/loader.h"
#include "policy/snapshot_builder.h"

namespace agentsh::policy {
namespace {

namespace fs = std::filesystem;
using Argv = std::vector<std::string>;

std::string repo_file(const std::string& rel) {
  std::string here = __FILE__;  // tests/unit/snapshot_exec_fast_test.cc
  return here.substr(0, here.rfind('/') + 1) + "../../" + rel;
}

const Variables kVars = {{"HOME", "/home/agent"},
                         {"PROJECT_ROOT", "/home/agent/proj"},
                         {"WORKSPACE", "/home/agent/proj"},
                         {"GIT_ROOT", "/home/agent/proj"},
                         {"TMPDIR", "/tmp"}};

std::unique_ptr<Engine> compile(const Policy& p, ApprovalMode mode, bool enforce) {
  EngineOptions opt;
  opt.approval_mode = mode;
  opt.enforce = enforce;
  std::string err;
  auto e = Engine::compile(p, kVars, opt, &err);
  EXPECT_NE(e, nullptr) << err;
  return e;
}

// Argument lists that trip the args_patterns of the policies under test.
const std::vector<Argv> kTails = {
    {},
    {"--version"},
    {"install", "left-pad"},
    {"i", "x"},
    {"add", "dep"},
    {"-rf", "/"},
    {"-r", "build"},
    {"--recursive", "x"},
    {"--no-preserve-root", "/"},
    {"push", "--force", "origin"},
    {"push", "+main"},
    {"-m", "pip", "install", "x"},
    {"checkpoint", "create"},
    {"-S", "pkg"},
    {"addr", "add", "10.0.0.1/24", "dev", "eth0"},
    {"-c", "sudo whoami"},
    {"-exec", "sudo", "id", ";"},
    {"sudo", "whoami"},
    {"status"},
};

// Names to try: every command the policy names (globs turned into names they match),
// every wrapper, and commands nobody names, in several spellings.
std::vector<std::string> candidate_names(const Policy& p) {
  std::set<std::string> names = {"true",     "false",      "ls",        "frobnicate", "bash.real",
                                 "sh.real",  "python3.11", "sudo.real", "git.exe",    "node",
                                 "cc1",      "collect2",   "[",         "x.y.z",      ".hidden",
                                 "env.real", "mkfs.ext4",  "tool-x",    "foo.bin",    "rm"};
  for (const std::string& w : command_unwrap::wrapper_names()) names.insert(w);
  for (const CommandRule& r : p.command_rules) {
    for (std::string c : r.commands) {
      names.insert(c);
      std::string sub = c;
      std::replace(sub.begin(), sub.end(), '*', 'x');
      std::replace(sub.begin(), sub.end(), '?', 'q');
      names.insert(sub);
      names.insert(c + ".real");
      names.insert(c + ".1");
    }
  }
  return {names.begin(), names.end()};
}

struct Tally {
  size_t fast = 0, asked = 0;
};

// For every spelling: if the table says "allow in-process", the engine must say plain
// allow for every argv.
void compare(const Engine& e, const Policy& p, const std::string& what, Tally* t) {
  const snapshot::View& view = e.view();
  for (const std::string& name : candidate_names(p)) {
    std::string base = name.substr(name.rfind('/') == std::string::npos ? 0 : name.rfind('/') + 1);
    std::vector<std::string> argv0s = {name, "/usr/bin/" + base, "./" + base, "/bin/" + base};
    std::vector<std::string> resolveds = {"",
                                          name,
                                          "/usr/bin/" + base,
                                          "/usr/local/bin/" + base,
                                          "/opt/bad/" + base,
                                          "/usr/bin/true",
                                          "/usr/bin/sudo",
                                          "/usr/bin/env",
                                          "/usr/bin/bash"};
    for (const std::string& a0 : argv0s) {
      for (const std::string& res : resolveds) {
        bool fast = view.exec_fast_allow(a0.c_str(), res.empty() ? nullptr : res.c_str());
        ++(fast ? t->fast : t->asked);
        if (!fast) continue;
        for (const Argv& tail : kTails) {
          Argv argv = {a0};
          argv.insert(argv.end(), tail.begin(), tail.end());
          Verdict v = e.check_command(argv, res, /*nested=*/true);
          std::string line;
          for (const auto& a : argv) line += a + " ";
          EXPECT_TRUE(v.decision == Decision::kAllow && v.effect == Effect::kAllow)
              << what << ": fast table allows [" << line << "] resolved=" << res
              << " but the engine says " << decision_name(v.decision) << " rule=" << v.rule;
        }
      }
    }
  }
}

void compare_all_modes(const Policy& p, const std::string& what, Tally* t) {
  for (ApprovalMode mode : {ApprovalMode::kNone, ApprovalMode::kShadow, ApprovalMode::kApi}) {
    for (bool enforce : {true, false}) {
      auto e = compile(p, mode, enforce);
      ASSERT_NE(e, nullptr) << what;
      compare(*e, p, what, t);
    }
  }
}

Policy load(const std::string& path) {
  LoadResult r = load_policy_file(path);
  for (const auto& d : r.errors) ADD_FAILURE() << path << ": " << d.format();
  return r.policy;
}

TEST(SnapshotExecFast, NeverAllowsWhatTheEngineWouldNotReferencePolicies) {
  size_t policies = 0;
  for (const auto& ent : fs::directory_iterator(repo_file("tests/unit/testdata/reference"))) {
    // server-config.yaml is agentsh configuration, not a policy.
    if (ent.path().extension() != ".yaml" || ent.path().filename() == "server-config.yaml")
      continue;
    Policy p = load(ent.path().string());
    Tally t;
    compare_all_modes(p, ent.path().filename().string(), &t);
    ++policies;
  }
  EXPECT_GE(policies, 10u);
}

TEST(SnapshotExecFast, NeverAllowsWhatTheEngineWouldNotShippedDefault) {
  Policy p = load(repo_file("conf/policies/default.yaml"));
  Tally t;
  compare_all_modes(p, "conf/policies/default.yaml", &t);
  EXPECT_GT(t.fast, 0u);
  EXPECT_GT(t.asked, 0u);
}

// What the fast table settles, and what it leaves to the broker, for the two default
// policies.
TEST(SnapshotExecFast, DefaultPoliciesAnswers) {
  for (const char* path :
       {"conf/policies/default.yaml", "tests/unit/testdata/reference/default-policy.yaml"}) {
    SCOPED_TRACE(path);
    auto e = compile(load(repo_file(path)), ApprovalMode::kNone, true);
    ASSERT_NE(e, nullptr);
    const snapshot::View& v = e->view();
    // Named by nothing but the catch-all allow, or by a plain allow rule.
    EXPECT_TRUE(v.exec_fast_allow("/bin/true", "/usr/bin/true"));
    EXPECT_TRUE(v.exec_fast_allow("true", "/usr/bin/true"));
    EXPECT_TRUE(v.exec_fast_allow("cat", "/usr/bin/cat"));
    EXPECT_TRUE(v.exec_fast_allow("node", "/usr/bin/node"));
    // Denied, or named by a rule with args_patterns (npm install, rm -rf), or a wrapper.
    EXPECT_FALSE(v.exec_fast_allow("sudo", "/usr/bin/sudo"));
    EXPECT_FALSE(v.exec_fast_allow("ls", "/usr/bin/sudo"));  // the resolved path counts
    EXPECT_FALSE(v.exec_fast_allow("sudo.real", "/usr/bin/x"));
    EXPECT_FALSE(v.exec_fast_allow("npm", "/usr/bin/npm"));
    EXPECT_FALSE(v.exec_fast_allow("rm", "/usr/bin/rm"));
    EXPECT_FALSE(v.exec_fast_allow("env", "/usr/bin/env"));
    EXPECT_FALSE(v.exec_fast_allow("/bin/sh", "/usr/bin/dash"));
    EXPECT_FALSE(v.exec_fast_allow("bash.real", "/usr/bin/bash.real"));
    EXPECT_FALSE(v.exec_fast_allow("xargs", "/usr/bin/xargs"));
    EXPECT_FALSE(v.exec_fast_allow("find", "/usr/bin/find"));
    EXPECT_FALSE(v.exec_fast_allow("", "/usr/bin/true"));
    EXPECT_FALSE(v.exec_fast_allow(nullptr, "/usr/bin/true"));
  }
}

constexpr const char* kTricky = R"(version: 1
name: tricky
command_rules:
  - name: deny-foo
    commands: [foo]
    decision: deny
  - name: deny-tool-glob
    commands: ["tool-*"]
    decision: deny
  - name: deny-opt-bad
    commands: ["/opt/bad/*"]
    decision: deny
  - name: deny-opt-evil
    commands: ["/opt/evil"]
    decision: deny
  - name: deny-direct-only
    commands: [dironly]
    decision: deny
    context: [direct]
  - name: deny-nested-only
    commands: [nestonly]
    decision: deny
    context: [nested]
  - name: allow-with-message
    commands: [chatty]
    decision: allow
    message: "running {{.Command}} {{.Args}}"
  - name: allow-args
    commands: [argsy]
    args_patterns: ["^x"]
    decision: allow
  - name: audit-me
    commands: [auditme]
    decision: audit
  - name: bracket
    commands: ["["]
    decision: allow
  - name: approve-it
    commands: [askme]
    decision: approve
  - name: redirect-it
    commands: [oldtool]
    decision: redirect
    redirect_to:
      command: echo
      args: ["use newtool"]
  - name: deny-py-glob
    commands: ["py*.?"]
    decision: deny
  - name: allow-listed-later
    commands: [foo, tool-x, dironly, nestonly]
    decision: allow
)";

TEST(SnapshotExecFast, EveryWayARuleCanMatchIsSeen) {
  LoadResult r = load_policy_text(kTricky, "tricky.yaml");
  for (const auto& d : r.errors) ADD_FAILURE() << d.format();
  Tally t;
  compare_all_modes(r.policy, "tricky", &t);
  auto e = compile(r.policy, ApprovalMode::kNone, true);
  ASSERT_NE(e, nullptr);
  const snapshot::View& v = e->view();
  EXPECT_FALSE(v.exec_fast_allow("foo", "/usr/bin/foo"));
  EXPECT_FALSE(v.exec_fast_allow("foo.bin", "/usr/bin/x"));  // literal + ".suffix"
  EXPECT_FALSE(v.exec_fast_allow("x", "/usr/bin/foo.sh"));   // via the resolved path
  EXPECT_FALSE(v.exec_fast_allow("tool-x", "/usr/bin/tool-x"));
  EXPECT_FALSE(v.exec_fast_allow("x", "/opt/bad/x"));
  EXPECT_FALSE(v.exec_fast_allow("/opt/evil.sh", "/opt/evil.sh"));
  EXPECT_FALSE(v.exec_fast_allow("nestonly", "/usr/bin/nestonly"));
  EXPECT_FALSE(v.exec_fast_allow("argsy", "/usr/bin/argsy"));
  EXPECT_FALSE(v.exec_fast_allow("auditme", "/usr/bin/auditme"));
  EXPECT_FALSE(v.exec_fast_allow("askme", "/usr/bin/askme"));
  EXPECT_FALSE(v.exec_fast_allow("oldtool", "/usr/bin/oldtool"));
  EXPECT_FALSE(v.exec_fast_allow("python3.1", "/usr/bin/python3.1"));
  // Allowed in-process: a direct-only denial does not apply to nested execs, allow rules
  // with messages (the broker writes the audit row), literal "[", unnamed commands.
  EXPECT_TRUE(v.exec_fast_allow("dironly", "/usr/bin/dironly"));
  EXPECT_TRUE(v.exec_fast_allow("chatty", "/usr/bin/chatty"));
  EXPECT_TRUE(v.exec_fast_allow("[", "/usr/bin/["));
  EXPECT_TRUE(v.exec_fast_allow("true", "/usr/bin/true"));
  EXPECT_TRUE(v.exec_fast_allow("/opt/evil2", "/opt/evil2"));
  EXPECT_TRUE(v.exec_fast_allow("python3", "/usr/bin/python3"));  // "py*.?" needs a dot
  EXPECT_GT(t.fast, 0u);
}

TEST(SnapshotExecFast, CatchAllDenyLeavesUnnamedCommandsToTheBroker) {
  LoadResult r = load_policy_text(R"(version: 1
name: strict
command_rules:
  - name: allow-ls
    commands: [ls]
    decision: allow
  - name: deny-rest
    commands: ["*"]
    decision: deny
)",
                                  "strict.yaml");
  auto e = compile(r.policy, ApprovalMode::kNone, true);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->view().exec_fast_allow("ls", "/usr/bin/ls"));
  EXPECT_FALSE(e->view().exec_fast_allow("ls", "/usr/bin/ls-evil"));
  EXPECT_FALSE(e->view().exec_fast_allow("true", "/usr/bin/true"));
  Tally t;
  compare_all_modes(r.policy, "strict", &t);
}

TEST(SnapshotExecFast, AnArgsRuleOnEveryCommandMeansNoFastPath) {
  LoadResult r = load_policy_text(R"(version: 1
name: args-everywhere
command_rules:
  - name: deny-dangerous-args
    commands: ["*"]
    args_patterns: ["--danger"]
    decision: deny
)",
                                  "a.yaml");
  auto e = compile(r.policy, ApprovalMode::kNone, true);
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->view().exec_fast_allow("true", "/usr/bin/true"));
}

TEST(SnapshotExecFast, NoCommandRulesAllowsEverythingButWrappers) {
  LoadResult r = load_policy_text("version: 1\nname: none\n", "n.yaml");
  auto e = compile(r.policy, ApprovalMode::kNone, true);
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->view().exec_fast_allow("true", "/usr/bin/true"));
  EXPECT_FALSE(e->view().exec_fast_allow("env", "/usr/bin/env"));
  Tally t;
  compare_all_modes(r.policy, "none", &t);
}

// A snapshot without the section (an older builder) has no fast path; a section whose
// keys are out of order (binary search would miss a deny) does not validate.
TEST(SnapshotExecFast, MissingOrCorruptTable) {
  snapshot::Builder plain;
  std::string blob = plain.finish();
  snapshot::View v;
  ASSERT_TRUE(v.attach(blob.data(), blob.size()));
  EXPECT_FALSE(v.exec_fast_allow("true", "/usr/bin/true"));

  snapshot::Builder b;
  b.enable_exec_fast();
  b.add_exec_rule(Decision::kDeny, false, {{"aaa", false, false}, {"zzz", false, false}});
  std::string good = b.finish();
  snapshot::View ok;
  ASSERT_TRUE(ok.attach(good.data(), good.size()));
  EXPECT_FALSE(ok.exec_fast_allow("zzz", "/usr/bin/zzz"));
  EXPECT_TRUE(ok.exec_fast_allow("mmm", "/usr/bin/mmm"));
  // Swap the two keys' texts: still in bounds, no longer sorted.
  snapshot::Header h;
  memcpy(&h, good.data(), sizeof h);
  snapshot::ExecFast ef;
  memcpy(&ef, good.data() + h.exec_fast.off, sizeof ef);
  ASSERT_EQ(ef.keys.count, 2u);
  snapshot::ExecKey k[2];
  memcpy(k, good.data() + ef.keys.off, sizeof k);
  std::swap(k[0].text, k[1].text);
  std::string bad = good;
  memcpy(bad.data() + ef.keys.off, k, sizeof k);
  snapshot::View corrupt;
  EXPECT_FALSE(corrupt.attach(bad.data(), bad.size()));
  // A rule index past the rules.
  memcpy(k, good.data() + ef.keys.off, sizeof k);
  k[0].plain = 7;
  bad = good;
  memcpy(bad.data() + ef.keys.off, k, sizeof k);
  EXPECT_FALSE(corrupt.attach(bad.data(), bad.size()));
}

// The wrapper list is unwrap()'s own gate: every listed name unwraps something, and a
// name that is not listed never does, whatever its arguments.
TEST(SnapshotExecFast, WrapperListIsUnwrapsGate) {
  for (const char* n : {"true", "ls", "sudo", "git", "python3", "frob", "envy", "shx"}) {
    for (const Argv& tail : kTails) {
      Argv argv = {n};
      argv.insert(argv.end(), tail.begin(), tail.end());
      EXPECT_EQ(command_unwrap::unwrap(argv).layers.size(), 1u) << n;
    }
  }
  EXPECT_EQ(command_unwrap::unwrap({"env", "sudo", "x"}).layers.size(), 2u);
  EXPECT_EQ(command_unwrap::unwrap({"/bin/sh.real", "-c", "sudo x"}).layers.size(), 2u);
  EXPECT_EQ(command_unwrap::unwrap({"busybox", "sudo"}).layers.size(), 2u);
  EXPECT_EQ(command_unwrap::unwrap({"timeout", "5", "sudo"}).layers.size(), 2u);
}

}  // namespace
}  // namespace agentsh::policy
