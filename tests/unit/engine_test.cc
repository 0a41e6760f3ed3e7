// The compiled engine: variables and braces, file/network decisions through the
// snapshot, effects per approval mode, command matching and precedence, unwrapping,
// message templates, redirects — and the reference default policy's decisions as the
// acceptance suite (/work/shared/acceptance/inner.sh) expects them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "policy/engine.h"
#include "policy/loader.h"
#include "policy/snapshot_format.h"

namespace agentsh::policy {
namespace {

using Argv = std::vector<std::string>;

std::string testdata(const std::string& rel) {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/') + 1) + "testdata/" + rel;
}

Policy must_load_text(const std::string& yaml) {
  LoadResult r = load_policy_text(yaml, "test.yaml");
  for (const auto& d : r.errors) ADD_FAILURE() << d.format();
  return r.policy;
}

Policy must_load_file(const std::string& path) {
  LoadResult r = load_policy_file(path);
  for (const auto& d : r.errors) ADD_FAILURE() << d.format();
  EXPECT_TRUE(r.ok) << path;
  return r.policy;
}

std::unique_ptr<Engine> must_compile(const Policy& p, const Variables& vars = {},
                                     EngineOptions opt = {}) {
  std::string err;
  auto e = Engine::compile(p, vars, opt, &err);
  EXPECT_NE(e, nullptr) << err;
  return e;
}

// The reference default policy as the acceptance suite runs it.
std::unique_ptr<Engine> reference_default(ApprovalMode mode = ApprovalMode::kNone) {
  EngineOptions opt;
  opt.approval_mode = mode;
  return must_compile(must_load_file(testdata("reference/default-policy.yaml")),
                      {{"PROJECT_ROOT", "/tmp"}, {"HOME", "/root"}}, opt);
}

const char* effect_name(Effect e) {
  switch (e) {
    case Effect::kAllow:
      return "allow";
    case Effect::kDeny:
      return "deny";
    case Effect::kAsk:
      return "ask";
  }
  return "?";
}

// ---- expansion ---------------------------------------------------------------------------

TEST(ExpandVars, MapThenEnvironmentThenDefault) {
  setenv("AGENTSH_ENGINE_TEST_FROM_ENV", "/from/env", 1);
  unsetenv("AGENTSH_ENGINE_TEST_UNSET");
  Variables v = {{"PROJECT_ROOT", "/w"}, {"AGENTSH_ENGINE_TEST_FROM_ENV", "/from/map"}};
  std::string out, err;
  ASSERT_TRUE(expand_vars("${PROJECT_ROOT}/src", v, &out, &err));
  EXPECT_EQ(out, "/w/src");
  ASSERT_TRUE(expand_vars("${AGENTSH_ENGINE_TEST_FROM_ENV}", v, &out, &err));
  EXPECT_EQ(out, "/from/map");  // the session's variables win over the process env
  ASSERT_TRUE(expand_vars("${AGENTSH_ENGINE_TEST_FROM_ENV}", {}, &out, &err));
  EXPECT_EQ(out, "/from/env");
  ASSERT_TRUE(expand_vars("${AGENTSH_ENGINE_TEST_UNSET:-/dflt}/x", v, &out, &err));
  EXPECT_EQ(out, "/dflt/x");
  ASSERT_TRUE(expand_vars("${PROJECT_ROOT:-/dflt}", v, &out, &err));
  EXPECT_EQ(out, "/w");
  ASSERT_TRUE(expand_vars("no vars, $HOME stays", v, &out, &err));
  EXPECT_EQ(out, "no vars, $HOME stays");
  unsetenv("AGENTSH_ENGINE_TEST_FROM_ENV");
}

TEST(ExpandVars, NestedDefaultsAndDefaultsAreWrittenText) {
  unsetenv("AGENTSH_ENGINE_TEST_XDG");
  Variables v = {{"HOME", "/h*"}};
  std::string out, err;
  ASSERT_TRUE(expand_vars("${AGENTSH_ENGINE_TEST_XDG:-${HOME}/.cache}/x", v, &out, &err)) << err;
  EXPECT_EQ(out, "/h*/.cache/x");
  // In globs, values are data (escaped); a default is policy text (kept as written).
  ASSERT_TRUE(expand_vars_glob("${AGENTSH_ENGINE_TEST_XDG:-${HOME}/**}", v, &out, &err)) << err;
  EXPECT_EQ(out, "/h\\*/**");
  ASSERT_TRUE(expand_vars("${AGENTSH_ENGINE_TEST_XDG:-}/x", v, &out, &err));
  EXPECT_EQ(out, "/x");  // an explicit empty default is the author's choice
  EXPECT_FALSE(expand_vars("${AGENTSH_ENGINE_TEST_XDG:-${NOPE_NOT_SET_ANYWHERE}}", {}, &out, &err));
  EXPECT_NE(err.find("NOPE_NOT_SET_ANYWHERE"), std::string::npos);
  ASSERT_TRUE(check_vars("a${B:-${C}}d${E}", "x", &out, &err));
  EXPECT_EQ(out, "axdx");
  EXPECT_FALSE(check_vars("${B:-${C}", "x", &out, &err));
}

TEST(ExpandVars, MissingOrEmptyVariableFails) {
  unsetenv("AGENTSH_ENGINE_TEST_UNSET");
  std::string out, err;
  EXPECT_FALSE(expand_vars("${AGENTSH_ENGINE_TEST_UNSET}/x", {}, &out, &err));
  EXPECT_NE(err.find("AGENTSH_ENGINE_TEST_UNSET"), std::string::npos) << err;
  // Empty is unset: "${GIT_ROOT}/**" must never become "/**".
  EXPECT_FALSE(expand_vars("${GIT_ROOT_EMPTY}/**", {{"GIT_ROOT_EMPTY", ""}}, &out, &err));
  EXPECT_FALSE(expand_vars("${UNTERMINATED", {}, &out, &err));
  EXPECT_FALSE(expand_vars("${1BAD}", {}, &out, &err));
}

TEST(ExpandVars, GlobFlavourEscapesMetacharactersInValues) {
  std::string out, err;
  ASSERT_TRUE(expand_vars_glob("${H}/**", {{"H", "/home/a[1]*{x,y}"}}, &out, &err));
  EXPECT_EQ(out, "/home/a\\[1\\]\\*\\{x\\,y\\}/**");
}

TEST(ExpandBraces, AlternativesNestedAndLiteral) {
  EXPECT_EQ(expand_braces("/a/{b,c}/x"), (Argv{"/a/b/x", "/a/c/x"}));
  EXPECT_EQ(expand_braces("{x,{y,z}}1"), (Argv{"x1", "y1", "z1"}));
  EXPECT_EQ(expand_braces("{a,b}{1,2}"), (Argv{"a1", "a2", "b1", "b2"}));
  EXPECT_EQ(expand_braces("/plain"), (Argv{"/plain"}));
  EXPECT_EQ(expand_braces("/{one}/x"), (Argv{"/{one}/x"}));
  EXPECT_EQ(expand_braces("/\\{a,b\\}"), (Argv{"/\\{a,b\\}"}));
  EXPECT_EQ(expand_braces("/{a,}x"), (Argv{"/ax", "/x"}));
}

TEST(EngineCompile, MissingVariableNamesVariableAndRule) {
  unsetenv("AGENTSH_ENGINE_TEST_NOPE");
  Policy p = must_load_text(R"yaml(version: 1
name: t
file_rules:
  - name: uses-missing
    paths: ["${AGENTSH_ENGINE_TEST_NOPE}/**"]
    operations: [read]
    decision: allow
)yaml");
  std::string err;
  EXPECT_EQ(Engine::compile(p, {}, {}, &err), nullptr);
  EXPECT_NE(err.find("AGENTSH_ENGINE_TEST_NOPE"), std::string::npos) << err;
  EXPECT_NE(err.find("uses-missing"), std::string::npos) << err;
  EXPECT_NE(err.find("test.yaml:4:5"), std::string::npos) << err;
}

TEST(EngineCompile, VariablesDefaultsAndBracesInFileRules) {
  Policy p = must_load_text(R"yaml(version: 1
name: t
file_rules:
  - name: ws
    paths: ["${PROJECT_ROOT}/{src,include}/**"]
    operations: [read]
    decision: allow
  - name: cache
    paths: ["${AGENTSH_ENGINE_TEST_CACHE:-/var/cache/x}/**"]
    operations: [read]
    decision: audit
  - name: odd-home
    paths: ["${HOME}/*.txt"]
    operations: [read]
    decision: approve
)yaml");
  unsetenv("AGENTSH_ENGINE_TEST_CACHE");
  auto e = must_compile(p, {{"PROJECT_ROOT", "/w"}, {"HOME", "/h[1]"}});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->check_file("/w/src/a.c", FileOp::kRead).rule, "ws");
  EXPECT_EQ(e->check_file("/w/include/a.h", FileOp::kRead).rule, "ws");
  EXPECT_EQ(e->check_file("/w/docs/a.md", FileOp::kRead).rule, "default-deny-files");
  EXPECT_EQ(e->check_file("/var/cache/x/k", FileOp::kRead).rule, "cache");
  // "[1]" in HOME is literal text, not a character class.
  EXPECT_EQ(e->check_file("/h[1]/a.txt", FileOp::kRead).rule, "odd-home");
  EXPECT_EQ(e->check_file("/h1/a.txt", FileOp::kRead).rule, "default-deny-files");
}

// ---- file decisions and effects ------------------------------------------------------------

TEST(EngineFile, FirstMatchingRuleWinsAndOpsSelect) {
  auto e = must_compile(must_load_text(R"yaml(version: 1
name: t
file_rules:
  - name: deny-secret
    paths: ["/data/secret/**"]
    operations: ["*"]
    decision: deny
  - name: read-data
    paths: ["/data/**"]
    operations: [read, stat]
    decision: allow
  - name: write-data
    paths: ["/data/**"]
    operations: [write]
    decision: audit
)yaml"));
  EXPECT_EQ(e->check_file("/data/secret/k", FileOp::kRead).rule, "deny-secret");
  EXPECT_EQ(e->check_file("/data/x", FileOp::kRead).rule, "read-data");
  EXPECT_EQ(e->check_file("/data/x", FileOp::kWrite).rule, "write-data");
  EXPECT_EQ(e->check_file("/data/x", FileOp::kDelete).rule, "default-deny-files");
  // Paths are normalised before the question is asked.
  EXPECT_EQ(e->check_file("/data/pub/../secret/k", FileOp::kRead).rule, "deny-secret");
  EXPECT_EQ(e->check_file("//data///x", FileOp::kRead).rule, "read-data");
  Verdict rel = e->check_file("data/x", FileOp::kRead);
  EXPECT_EQ(rel.effect, Effect::kDeny);
  EXPECT_NE(rel.reason.find("absolute"), std::string::npos);
}

struct EffectCase {
  const char* decision;
  ApprovalMode mode;
  Effect want;
};

class EffectTable : public ::testing::TestWithParam<EffectCase> {};

TEST_P(EffectTable, DecisionBecomesEffect) {
  const EffectCase& c = GetParam();
  std::string yaml = std::string(R"yaml(version: 1
name: t
file_rules:
  - name: r
    paths: ["/x/**"]
    operations: ["*"]
    redirect_to: /tmp/redirected
    decision: )yaml") +
                     c.decision + "\n";
  LoadResult lr = load_policy_text(yaml, "t.yaml");
  ASSERT_TRUE(lr.ok) << (lr.errors.empty() ? "" : lr.errors[0].format());
  EngineOptions opt;
  opt.approval_mode = c.mode;
  auto e = must_compile(lr.policy, {}, opt);
  Verdict v = e->check_file("/x/f", FileOp::kWrite);
  EXPECT_EQ(decision_name(v.decision), c.decision);
  EXPECT_EQ(effect_name(v.effect), std::string(effect_name(c.want)));
  EXPECT_EQ(v.rule, "r");
  if (std::string(c.decision) == "approve" && c.mode == ApprovalMode::kNone) {
    EXPECT_EQ(v.reason, "approval required (no approver: approvals are disabled)");
  }
  if (std::string(c.decision) == "redirect") {
    EXPECT_EQ(v.redirect_to, "/tmp/redirected");
  }
  // Observe mode never denies, and keeps what the policy said.
  opt.enforce = false;
  auto o = must_compile(lr.policy, {}, opt);
  Verdict ov = o->check_file("/x/f", FileOp::kWrite);
  EXPECT_EQ(ov.effect, Effect::kAllow);
  EXPECT_EQ(ov.decision, v.decision);
  EXPECT_EQ(o->view().header().flags & snapshot::kFlagEnforce, 0u);
  EXPECT_NE(e->view().header().flags & snapshot::kFlagEnforce, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    AllDecisionsAllModes, EffectTable,
    ::testing::Values(EffectCase{"allow", ApprovalMode::kNone, Effect::kAllow},
                      EffectCase{"audit", ApprovalMode::kNone, Effect::kAllow},
                      EffectCase{"redirect", ApprovalMode::kNone, Effect::kAllow},
                      EffectCase{"soft_delete", ApprovalMode::kNone, Effect::kAllow},
                      EffectCase{"deny", ApprovalMode::kNone, Effect::kDeny},
                      EffectCase{"deny", ApprovalMode::kShadow, Effect::kDeny},
                      EffectCase{"deny", ApprovalMode::kApi, Effect::kDeny},
                      EffectCase{"approve", ApprovalMode::kNone, Effect::kDeny},
                      EffectCase{"approve", ApprovalMode::kShadow, Effect::kAllow},
                      EffectCase{"approve", ApprovalMode::kApi, Effect::kAsk},
                      EffectCase{"approve", ApprovalMode::kTty, Effect::kAsk},
                      EffectCase{"allow", ApprovalMode::kApi, Effect::kAllow}));

TEST(EngineFile, MessageTemplateAndProtectedPaths) {
  EngineOptions opt;
  opt.protect_readonly = {"/opt/agentsh"};
  opt.protect_hidden = {"/var/lib/agentsh/events.db"};
  opt.session_id = "sess-1";
  opt.proxy_port = 18081;
  opt.trash_dir = "/tmp/trash";
  auto e = must_compile(must_load_text(R"yaml(version: 1
name: named-policy
file_rules:
  - name: everything
    paths: ["/**"]
    operations: ["*"]
    decision: soft_delete
    message: "quarantined {{.Path}} ({{ .Operation }}) {{.Unknown}}"
)yaml"),
                        {}, opt);
  Verdict v = e->check_file("/w/a.txt", FileOp::kDelete);
  EXPECT_EQ(v.decision, Decision::kSoftDelete);
  EXPECT_EQ(v.message, "quarantined /w/a.txt (delete) {{.Unknown}}");
  // agentsh's own files: readable, never writable; hidden ones not even readable.
  EXPECT_EQ(e->check_file("/opt/agentsh/lib.so", FileOp::kRead).effect, Effect::kAllow);
  Verdict w = e->check_file("/opt/agentsh/lib.so", FileOp::kWrite);
  EXPECT_EQ(w.effect, Effect::kDeny);
  EXPECT_EQ(w.rule, "agentsh-protected");
  EXPECT_EQ(e->check_file("/var/lib/agentsh/events.db", FileOp::kRead).effect, Effect::kDeny);
  // Session plumbing reaches the snapshot header.
  const snapshot::Header& h = e->view().header();
  EXPECT_STREQ(e->view().str(h.policy_name), "named-policy");
  EXPECT_STREQ(e->view().str(h.session_id), "sess-1");
  EXPECT_STREQ(e->view().str(h.trash_dir), "/tmp/trash");
  EXPECT_EQ(h.proxy_port, 18081);
  EXPECT_EQ(e->snapshot_bytes().size(), h.total_size);
}

// ---- network ----------------------------------------------------------------------------

TEST(EngineNetwork, DomainsCidrsPortsAndMessages) {
  auto e = must_compile(must_load_text(R"yaml(version: 1
name: t
network_rules:
  - name: local
    cidrs: ["127.0.0.0/8"]
    decision: allow
  - name: range
    domains: ["*.example.com"]
    ports: ["8000-8100", 443]
    decision: audit
  - name: evil
    domains: ["evil.com"]
    decision: deny
    message: "no {{.RemoteAddr}}:{{.RemotePort}} ({{.Domain}})"
)yaml"));
  EXPECT_EQ(e->check_network("", "127.0.0.1", 80).rule, "local");
  EXPECT_EQ(e->check_network("127.0.0.1", "", 80).rule, "local");  // an IP literal as host
  EXPECT_EQ(e->check_network("API.Example.com.", "", 8050).rule, "range");
  EXPECT_EQ(e->check_network("api.example.com", "", 443).rule, "range");
  EXPECT_EQ(e->check_network("api.example.com", "", 8101).rule, "default-deny-network");
  Verdict v = e->check_network("evil.com", "", 443);
  EXPECT_EQ(v.effect, Effect::kDeny);
  EXPECT_EQ(v.message, "no evil.com:443 (evil.com)");
  EXPECT_EQ(v.subject, "evil.com:443");
}

TEST(EngineNetwork, DnsAndConnectRedirects) {
  auto e = must_compile(must_load_text(R"yaml(version: 1
name: t
dns_redirects:
  - name: to-vertex
    match: ".*\\.anthropic\\.com"
    resolve_to: 10.0.0.50
connect_redirects:
  - name: api
    match: "api\\.anthropic\\.com:443"
    redirect_to: vertex-proxy.internal:443
    tls: {mode: rewrite_sni, sni: vertex.internal}
  - name: any-port
    match: "mirror\\.example"
    redirect_to: 127.0.0.1:8080
)yaml"));
  const DnsRedirect* d = e->dns_redirect_for("API.anthropic.com.");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->resolve_to, "10.0.0.50");
  // Full-string match: a suffix does not sneak through.
  EXPECT_EQ(e->dns_redirect_for("api.anthropic.com.evil.org"), nullptr);
  const ConnectRedirect* c = e->connect_redirect_for("api.anthropic.com", 443);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->name, "api");
  EXPECT_EQ(c->sni, "vertex.internal");
  EXPECT_EQ(e->connect_redirect_for("api.anthropic.com", 80), nullptr);
  ASSERT_NE(e->connect_redirect_for("mirror.example", 1234), nullptr);
  EXPECT_EQ(e->connect_redirect_for("mirror.example", 1234)->name, "any-port");
}

// ---- commands -----------------------------------------------------------------------------

std::unique_ptr<Engine> command_engine(const std::string& rules,
                                       ApprovalMode mode = ApprovalMode::kNone) {
  EngineOptions opt;
  opt.approval_mode = mode;
  return must_compile(must_load_text("version: 1\nname: t\ncommand_rules:\n" + rules), {}, opt);
}

TEST(EngineCommand, NameMatching) {
  auto e = command_engine(R"yaml(
  - name: by-path
    commands: [/opt/tool/bin/run]
    decision: audit
  - name: by-glob
    commands: ["py*", "/usr/local/bin/x-*"]
    decision: approve
  - name: by-name
    commands: [bash, sudo, "["]
    decision: deny
)yaml");
  EXPECT_EQ(e->check_command({"/opt/tool/bin/run"}).rule, "by-path");
  EXPECT_EQ(e->check_command({"run"}).rule, "");  // path rules need the path
  EXPECT_EQ(e->check_command({"run"}, "/opt/tool/bin/run").rule, "by-path");
  EXPECT_EQ(e->check_command({"python3", "-V"}).rule, "by-glob");
  EXPECT_EQ(e->check_command({"/usr/bin/pypy"}).rule, "by-glob");
  EXPECT_EQ(e->check_command({"/usr/local/bin/x-tool"}).rule, "by-glob");
  EXPECT_EQ(e->check_command({"/usr/bin/x-tool"}).rule, "");
  EXPECT_EQ(e->check_command({"/usr/bin/sudo", "ls"}).rule, "by-name");
  EXPECT_EQ(e->check_command({"./sudo"}).rule, "by-name");
  EXPECT_EQ(e->check_command({"/bin/bash.real", "x.sh"}).rule, "by-name");  // bash → bash.real
  EXPECT_EQ(e->check_command({"bashful"}).rule, "");
  EXPECT_EQ(e->check_command({"SUDO"}).rule, "");      // case-sensitive
  EXPECT_EQ(e->check_command({"["}).rule, "by-name");  // not a glob: a literal name
  // argv[0] cannot launder the binary that really runs: both names are judged.
  Verdict v = e->check_command({"ls"}, "/usr/bin/sudo");
  EXPECT_EQ(v.rule, "by-name");
  EXPECT_EQ(v.effect, Effect::kDeny);
}

TEST(EngineCommand, StarMatchesEverythingAndNoRuleMeansAllow) {
  auto e = command_engine(R"yaml(
  - name: all
    commands: ["*"]
    decision: audit
)yaml");
  EXPECT_EQ(e->check_command({"/anything/at/all", "x"}).rule, "all");
  auto none = command_engine(R"yaml(
  - name: only-git
    commands: [git]
    decision: deny
)yaml");
  Verdict v = none->check_command({"ls"});
  EXPECT_EQ(v.rule, "");
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_EQ(v.effect, Effect::kAllow);
}

TEST(EngineCommand, ArgsPatternsAreUnanchoredOverJoinedArgs) {
  auto e = command_engine(R"yaml(
  - name: push-force
    commands: [git]
    args_patterns: ["push.*--force"]
    decision: deny
  - name: anchored
    commands: [npm]
    args_patterns: ["^install"]
    decision: deny
)yaml");
  EXPECT_EQ(e->check_command({"git", "push", "origin", "--force"}).rule, "push-force");
  EXPECT_EQ(e->check_command({"git", "-C", "x", "push", "--force-with-lease"}).rule, "push-force");
  EXPECT_EQ(e->check_command({"git", "push"}).rule, "");
  EXPECT_EQ(e->check_command({"git"}).rule, "");  // no arguments: an args rule never matches
  EXPECT_EQ(e->check_command({"npm", "install", "x"}).rule, "anchored");
  EXPECT_EQ(e->check_command({"npm", "ci", "install"}).rule, "");
}

TEST(EngineCommand, FirstMatchWithinATier) {
  auto e = command_engine(R"yaml(
  - name: first
    commands: [tool]
    decision: audit
  - name: second
    commands: [tool]
    decision: deny
)yaml");
  EXPECT_EQ(e->check_command({"tool"}).rule, "first");
}

TEST(EngineCommand, StricterOfTheTwoTiersWins) {
  auto e = command_engine(R"yaml(
  - name: allow-npm
    commands: [npm]
    decision: allow
  - name: approve-install
    commands: [npm]
    args_patterns: ["^install"]
    decision: approve
  - name: audit-run
    commands: [npm]
    args_patterns: ["^run"]
    decision: audit
  - name: deny-tool
    commands: [tool]
    decision: deny
  - name: allow-tool-version
    commands: [tool]
    args_patterns: ["--version"]
    decision: allow
)yaml");
  EXPECT_EQ(e->check_command({"npm", "install", "x"}).rule, "approve-install");
  EXPECT_EQ(e->check_command({"npm", "run", "build"}).rule, "audit-run");
  EXPECT_EQ(e->check_command({"npm", "--version"}).rule, "allow-npm");
  // A specific allow cannot weaken a broad deny.
  EXPECT_EQ(e->check_command({"tool", "--version"}).rule, "deny-tool");
}

TEST(EngineCommand, ContextSelectsDirectOrNested) {
  auto e = command_engine(R"yaml(
  - name: direct-only
    commands: [curl]
    context: [direct]
    decision: audit
  - name: nested-curl
    commands: [curl]
    context: [nested]
    decision: deny
)yaml");
  EXPECT_EQ(e->check_command({"curl", "x"}).rule, "direct-only");
  Verdict v = e->check_command({"bash", "-c", "curl x"});
  EXPECT_EQ(v.rule, "nested-curl");
  EXPECT_EQ(v.subject, "curl");
  // An exec the caller saw started by another governed process is nested as a whole.
  EXPECT_EQ(e->check_command({"curl", "x"}, {}, true).rule, "nested-curl");
}

TEST(EngineCommand, RedirectCarriesTheReplacementAndMessage) {
  auto e = command_engine(R"yaml(
  - name: fetch
    commands: [curl]
    decision: redirect
    message: "{{.Command}} {{.Args}} goes through agentsh-fetch"
    redirect_to:
      command: agentsh-fetch
      args: ["--source", "curl"]
)yaml");
  Verdict v = e->check_command({"curl", "-s", "https://x"});
  EXPECT_EQ(v.decision, Decision::kRedirect);
  EXPECT_EQ(v.effect, Effect::kAllow);
  ASSERT_TRUE(v.command_redirect.has_value());
  EXPECT_EQ(v.command_redirect->command, "agentsh-fetch");
  EXPECT_EQ(v.command_redirect->args, (Argv{"--source", "curl"}));
  EXPECT_EQ(v.message, "curl -s https://x goes through agentsh-fetch");
}

TEST(EngineCommand, DeepNestingFailsClosed) {
  auto e = command_engine(R"yaml(
  - name: all
    commands: ["*"]
    decision: allow
)yaml");
  Argv argv;
  for (int i = 0; i < 12; ++i) argv.push_back("nice");
  argv.push_back("true");
  Verdict v = e->check_command(argv);
  EXPECT_EQ(v.effect, Effect::kDeny);
  EXPECT_EQ(v.rule, "unwrap-depth-limit");
  EXPECT_EQ(e->check_command({}).effect, Effect::kDeny);
}

// ---- the reference default policy ---------------------------------------------------------

TEST(ReferenceDefault, PackageInstallNeedsApprovalEvenAfterABroadAllow) {
  auto e = reference_default();
  Verdict install = e->check_command({"npm", "install", "express"});
  EXPECT_EQ(install.decision, Decision::kApprove);
  EXPECT_EQ(install.effect, Effect::kDeny);
  EXPECT_EQ(install.rule, "approve-package-install");
  EXPECT_EQ(install.message, "Agent wants to install packages: install express");
  Verdict version = e->check_command({"npm", "--version"});
  EXPECT_EQ(version.effect, Effect::kAllow);
  EXPECT_EQ(version.rule, "allow-dev-tools");
  EXPECT_EQ(e->check_command({"pip3", "install", "requests"}).effect, Effect::kDeny);
  EXPECT_EQ(reference_default(ApprovalMode::kApi)->check_command({"npm", "install"}).effect,
            Effect::kAsk);
  EXPECT_EQ(reference_default(ApprovalMode::kShadow)->check_command({"npm", "install"}).effect,
            Effect::kAllow);
}

struct CommandCase {
  Argv argv;
  const char* want;     // "allowed" or "denied" (the acceptance suite's words)
  const char* subject;  // the command that decided ("" = don't care)
};

class ReferenceDefaultCommands : public ::testing::TestWithParam<CommandCase> {};

TEST_P(ReferenceDefaultCommands, MatchAcceptance) {
  static auto e = reference_default();
  const CommandCase& c = GetParam();
  Verdict v = e->check_command(c.argv);
  std::string got = v.effect == Effect::kAllow ? "allowed" : "denied";
  std::string line;
  for (const auto& a : c.argv) line += a + " ";
  EXPECT_EQ(got, c.want) << line << "→ rule=" << v.rule << " reason=" << v.reason;
  if (*c.subject) {
    EXPECT_EQ(v.subject, c.subject) << line;
  }
}

INSTANTIATE_TEST_SUITE_P(
    InnerSh, ReferenceDefaultCommands,
    ::testing::Values(
        // safe commands
        CommandCase{{"/bin/ls", "/"}, "allowed", ""},
        CommandCase{{"/bin/echo", "hello"}, "allowed", ""},
        CommandCase{{"/bin/pwd"}, "allowed", ""}, CommandCase{{"/bin/date"}, "allowed", ""},
        CommandCase{{"/bin/hostname"}, "allowed", ""},
        CommandCase{{"/bin/cat", "/etc/hosts"}, "allowed", ""},
        CommandCase{{"/usr/bin/touch", "/tmp/agentsh-test-file"}, "allowed", ""},
        CommandCase{{"rm", "-f", "/tmp/agentsh-test-file"}, "allowed", ""},
        CommandCase{{"python3", "-c", "print(1)"}, "allowed", ""},
        CommandCase{{"curl", "-s", "https://registry.npm.example/"}, "allowed", ""},
        // escalation, sprite CLI, network tools, system commands
        CommandCase{{"sudo", "ls"}, "denied", "sudo"}, CommandCase{{"su", "-"}, "denied", "su"},
        CommandCase{{"chroot", "/"}, "denied", ""},
        CommandCase{{"nsenter", "--help"}, "denied", ""},
        CommandCase{{"unshare", "--help"}, "denied", ""},
        CommandCase{{"sprite", "list"}, "denied", ""},
        CommandCase{{"sprite", "console"}, "denied", ""}, CommandCase{{"nc", "-h"}, "denied", ""},
        CommandCase{{"ssh", "localhost"}, "denied", ""},
        CommandCase{{"telnet", "localhost"}, "denied", ""},
        CommandCase{{"scp", "/dev/null", "localhost"}, "denied", ""},
        CommandCase{{"rsync", "--help"}, "denied", ""},
        CommandCase{{"systemctl", "status"}, "denied", ""},
        CommandCase{{"kill", "-0", "1"}, "denied", ""},
        CommandCase{{"killall", "-l"}, "denied", ""},
        CommandCase{{"pkill", "--help"}, "denied", ""},
        CommandCase{{"shutdown", "--help"}, "denied", ""},
        CommandCase{{"reboot", "--help"}, "denied", ""}, CommandCase{{"mount", "-l"}, "denied", ""},
        CommandCase{{"dd", "if=/dev/zero", "of=/dev/null", "count=0"}, "denied", ""},
        // recursive delete
        CommandCase{{"rm", "-rf", "/tmp/test-dir"}, "denied", ""},
        CommandCase{{"rm", "-r", "/tmp/test-dir"}, "denied", ""},
        CommandCase{{"rm", "--recursive", "/tmp/test-dir"}, "denied", ""},
        // package installs need an approval nobody gives
        CommandCase{{"npm", "install", "express"}, "denied", "npm"},
        CommandCase{{"pip3", "install", "requests"}, "denied", "pip3"},
        // blocked however they are started
        CommandCase{{"sudo", "whoami"}, "denied", "sudo"},
        CommandCase{{"env", "sudo", "whoami"}, "denied", "sudo"},
        CommandCase{{"nice", "-n", "5", "sudo", "ls"}, "denied", "sudo"},
        CommandCase{{"timeout", "5", "sudo", "ls"}, "denied", "sudo"},
        CommandCase{{"bash", "-c", "echo hi; sudo ls"}, "denied", "sudo"},
        CommandCase{{"sh", "-c", "ls | xargs sudo"}, "denied", "sudo"},
        CommandCase{{"env", "-i", "PATH=/bin", "sudo", "id"}, "denied", "sudo"},
        CommandCase{{"nohup", "env", "sudo", "id"}, "denied", "sudo"},
        CommandCase{{"/bin/bash.real", "-c", "echo whoami | xargs sudo"}, "denied", "sudo"},
        CommandCase{
            {"find", "/tmp", "-maxdepth", "0", "-exec", "sudo", "whoami", ";"}, "denied", "sudo"},
        CommandCase{{"bash", "-c", "npm install left-pad"}, "denied", "npm"},
        CommandCase{{"bash", "-c", "echo $(sudo id)"}, "denied", "sudo"},
        CommandCase{{"find", "/tmp", "-maxdepth", "0", "-exec", "echo", "hello-from-find", ";"},
                    "allowed",
                    ""},
        CommandCase{{"bash", "-c", "echo hi"}, "allowed", ""},
        CommandCase{{"env", "FOO=1", "ls"}, "allowed", ""},
        CommandCase{{"bash", "-c", "echo non-pty-bypass-ok"}, "allowed", ""}));

struct FileCase {
  const char* name;
  const char* op;
  const char* path;
  const char* want;  // the policy decision, as `debug policy-test` prints it
};

class ReferenceDefaultFiles : public ::testing::TestWithParam<FileCase> {};

TEST_P(ReferenceDefaultFiles, MatchAcceptancePolicyTest) {
  static auto e = reference_default();
  const FileCase& c = GetParam();
  OpMask mask = 0;
  ASSERT_TRUE(parse_file_op(c.op, &mask)) << c.op;
  FileOp op = FileOp::kRead;
  for (int i = 0; i < static_cast<int>(FileOp::kCount); ++i) {
    if (mask == op_bit(static_cast<FileOp>(i))) op = static_cast<FileOp>(i);
  }
  Verdict v = e->check_file(c.path, op);
  EXPECT_EQ(decision_name(v.decision), c.want)
      << c.name << ": " << c.op << " " << c.path << " → rule " << v.rule;
}

// Mirrors every `policy_test` line of inner.sh (PROJECT_ROOT=/tmp, HOME=/root).
INSTANTIATE_TEST_SUITE_P(
    InnerSh, ReferenceDefaultFiles,
    ::testing::Values(
        FileCase{"tmp write", "file_write", "/tmp/test", "allow"},
        FileCase{"var tmp write", "file_write", "/var/tmp/test", "allow"},
        FileCase{"system read", "file_read", "/usr/bin/node", "allow"},
        FileCase{"system write blocked", "file_write", "/usr/bin/test", "deny"},
        FileCase{"lib read allowed", "file_read", "/lib/x86_64-linux-gnu/libc.so.6", "allow"},
        FileCase{"lib write blocked", "file_write", "/lib/test", "deny"},
        FileCase{"bin read allowed", "file_read", "/bin/ls", "allow"},
        FileCase{"sbin write blocked", "file_write", "/sbin/test", "deny"},
        FileCase{"etc hosts readable", "file_read", "/etc/hosts", "allow"},
        FileCase{"etc resolv readable", "file_read", "/etc/resolv.conf", "allow"},
        FileCase{"etc ssl certs readable", "file_read", "/etc/ssl/certs/ca-certificates.crt",
                 "allow"},
        FileCase{"etc shadow blocked", "file_read", "/etc/shadow", "deny"},
        FileCase{"etc passwd readable", "file_read", "/etc/passwd", "allow"},
        FileCase{"etc write blocked", "file_write", "/etc/test", "deny"},
        FileCase{"sprite folder read", "file_read", "/.sprite/bin/test", "allow"},
        FileCase{"sprite folder write blocked", "file_write", "/.sprite/test", "deny"},
        FileCase{"proc blocked", "file_read", "/proc/1/cmdline", "deny"},
        FileCase{"proc environ blocked", "file_read", "/proc/1/environ", "deny"},
        FileCase{"sys blocked", "file_read", "/sys/kernel/version", "deny"},
        FileCase{"ssh keys protected", "file_read", "/root/.ssh/id_rsa", "approve"},
        FileCase{"aws creds protected", "file_read", "/root/.aws/credentials", "approve"},
        FileCase{"env file protected", "file_read", "/home/sprite/.env", "approve"},
        FileCase{"npm cache readable", "file_read", "/root/.npm/test", "allow"},
        FileCase{"cargo cache readable", "file_read", "/root/.cargo/test", "allow"},
        FileCase{"cache dir readable", "file_read", "/root/.cache/test", "allow"},
        FileCase{"sudo binary blocked", "file_read", "/usr/bin/sudo", "deny"},
        FileCase{"su binary blocked", "file_read", "/usr/bin/su", "deny"},
        FileCase{"pkexec binary blocked", "file_read", "/usr/bin/pkexec", "deny"},
        FileCase{"nsenter binary blocked", "file_read", "/usr/bin/nsenter", "deny"},
        FileCase{"var write blocked", "file_write", "/var/test", "deny"},
        FileCase{"root home blocked", "file_read", "/root/test", "deny"},
        // beyond inner.sh: the workspace soft-deletes, /dev nodes, the root listing
        FileCase{"workspace delete soft", "file_delete", "/tmp/x", "soft_delete"},
        FileCase{"dev null write", "file_write", "/dev/null", "allow"},
        FileCase{"root list", "file_list", "/", "allow"},
        FileCase{"etc list blocked", "file_list", "/etc", "deny"}),
    [](const ::testing::TestParamInfo<FileCase>& i) {
      std::string n = i.param.name;
      for (char& ch : n) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

TEST(ReferenceDefault, NetworkMatchesAcceptance) {
  auto e = reference_default();
  EXPECT_EQ(e->check_network("", "127.0.0.1", 18080).effect, Effect::kAllow);
  EXPECT_EQ(e->check_network("", "169.254.169.254", 80).effect, Effect::kDeny);
  EXPECT_EQ(e->check_network("", "100.100.100.200", 80).effect, Effect::kDeny);
  EXPECT_EQ(e->check_network("", "10.0.0.1", 80).effect, Effect::kDeny);
  EXPECT_EQ(e->check_network("", "192.168.1.1", 80).effect, Effect::kDeny);
  EXPECT_EQ(e->check_network("registry.npm.example", "198.18.0.10", 443).rule, "allow-npm");
  EXPECT_EQ(e->check_network("pypi.example", "198.18.0.11", 443).rule, "allow-pypi");
  EXPECT_EQ(e->check_network("evil.com", "", 443).rule, "block-evil-domains");
  Verdict unknown = e->check_network("example.org", "93.184.215.14", 443);
  EXPECT_EQ(unknown.decision, Decision::kApprove);
  EXPECT_EQ(unknown.effect, Effect::kDeny);
  EXPECT_EQ(unknown.message, "Agent wants to connect to: example.org");
  EXPECT_EQ(e->check_network("example.org", "", 25).rule, "default-deny-network");
}

TEST(ReferenceDefault, SoftDeleteMessageNamesThePath) {
  Verdict v = reference_default()->check_file("/tmp/a/b.txt", FileOp::kDelete);
  EXPECT_EQ(v.rule, "soft-delete-workspace");
  EXPECT_EQ(v.message, "File quarantined (recoverable): /tmp/a/b.txt");
}

TEST(ReferencePolicies, EveryOneCompiles) {
  for (const char* f :
       {"agent-default.yaml", "agent-observe.yaml", "agent-sandbox.yaml", "agent-strict.yaml",
        "bench-realistic.yaml", "ci-strict.yaml", "default.yaml", "dev-safe.yaml",
        "signal-strict.yaml", "system-readonly.yaml", "default-policy.yaml"}) {
    SCOPED_TRACE(f);
    must_compile(must_load_file(testdata(std::string("reference/") + f)),
                 {{"PROJECT_ROOT", "/w"}, {"HOME", "/h"}, {"GIT_ROOT", "/w"}});
  }
}

TEST(ReferencePolicies, AgentDefaultRedirectsForcePush) {
  auto e = must_compile(must_load_file(testdata("reference/agent-default.yaml")),
                        {{"PROJECT_ROOT", "/w"}, {"HOME", "/h"}, {"GIT_ROOT", "/w"}});
  Verdict v = e->check_command({"git", "push", "--force", "origin", "feature"});
  EXPECT_EQ(v.rule, "redirect-git-force-push");
  ASSERT_TRUE(v.command_redirect.has_value());
  EXPECT_EQ(v.command_redirect->command, "echo");
  EXPECT_EQ(e->check_command({"git", "status"}).rule, "allow-dev-tools");
  EXPECT_EQ(e->check_command({"env", "git", "reset", "--hard"}).rule, "redirect-git-hard-reset");
  EXPECT_EQ(e->check_command({"apt-get", "install", "x"}).effect, Effect::kDeny);
}

}  // namespace
}  // namespace agentsh::policy
