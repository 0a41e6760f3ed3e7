// The policy loader: every error path names file:line:col and the rule, unknown keys are
// errors at every level, unenforced reference sections warn once, and every reference
// policy loads cleanly.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/loader.h"

namespace agentsh::policy {
namespace {

std::string testdata(const std::string& rel) {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/') + 1) + "testdata/" + rel;
}

std::string repo_file(const std::string& rel) {
  std::string here = __FILE__;  // tests/unit/loader_test.cc
  return here.substr(0, here.rfind('/') + 1) + "../../" + rel;
}

std::string all(const std::vector<Diagnostic>& ds) {
  std::string out;
  for (const auto& d : ds) out += d.format() + "\n";
  return out;
}

struct ErrorCase {
  const char* name;
  const char* yaml;
  int line, column;
  const char* rule;     // "" = not inside a rule
  const char* message;  // substring of Diagnostic::message
};

class LoaderErrors : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(LoaderErrors, NamesFileLineColumnAndRule) {
  const ErrorCase& c = GetParam();
  LoadResult r = load_policy_text(c.yaml, "p.yaml");
  EXPECT_FALSE(r.ok);
  bool found = false;
  for (const Diagnostic& d : r.errors) {
    if (d.message.find(c.message) == std::string::npos) continue;
    found = true;
    EXPECT_EQ(d.file, "p.yaml");
    EXPECT_EQ(d.line, c.line) << d.format();
    EXPECT_EQ(d.column, c.column) << d.format();
    EXPECT_EQ(d.rule, c.rule) << d.format();
  }
  EXPECT_TRUE(found) << "no error containing \"" << c.message << "\" in:\n" << all(r.errors);
}

// Line numbers below count from the first line of each YAML text (1-based).
INSTANTIATE_TEST_SUITE_P(
    EveryPath, LoaderErrors,
    ::testing::Values(
        ErrorCase{"misspelt_top_level_key", "version: 1\nname: t\nfile_rule:\n  - name: a\n", 3, 1,
                  "", "unknown key 'file_rule' (did you mean 'file_rules'?)"},
        ErrorCase{"unknown_top_level_key_far_from_any", "version: 1\nname: t\nzzzzzzzzzz: 1\n", 3,
                  1, "", "unknown key 'zzzzzzzzzz'; valid keys:"},
        ErrorCase{"misspelt_key_in_rule",
                  "version: 1\nname: t\nfile_rules:\n  - name: r1\n    paths: [/a]\n"
                  "    operations: [read]\n    decison: allow\n",
                  7, 5, "r1", "unknown key 'decison' (did you mean 'decision'?)"},
        ErrorCase{"misspelt_key_in_env_policy",
                  "version: 1\nname: t\nenv_policy:\n  deny: [A]\n  alow: [B]\n", 5, 3, "",
                  "env_policy: unknown key 'alow' (did you mean 'allow'?)"},
        ErrorCase{"misspelt_key_in_redirect_to",
                  "version: 1\nname: t\ncommand_rules:\n  - name: c\n    commands: [curl]\n"
                  "    decision: redirect\n    redirect_to:\n      comand: x\n",
                  8, 7, "c", "unknown key 'comand' (did you mean 'command'?)"},
        ErrorCase{"misspelt_key_in_signal_target",
                  "version: 1\nname: t\nsignal_rules:\n  - name: s\n    signals: [SIGTERM]\n"
                  "    target: {typ: self}\n    decision: allow\n",
                  6, 14, "s", "unknown key 'typ' (did you mean 'type'?)"},
        ErrorCase{"unknown_decision",
                  "version: 1\nname: t\nnetwork_rules:\n  - name: n\n    domains: [x.com]\n"
                  "    decision: permit\n",
                  6, 15, "n", "unknown decision 'permit'"},
        ErrorCase{"unknown_operation",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [/a]\n"
                  "    operations: [read, exeute]\n    decision: allow\n",
                  6, 24, "f", "unknown operation 'exeute'"},
        ErrorCase{"bad_glob",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths:\n      - /ok\n"
                  "      - \"/a/[b\"\n    operations: [read]\n    decision: allow\n",
                  7, 9, "f", "bad glob '/a/[b': unterminated character class"},
        ErrorCase{"unbalanced_brace",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [\"/a/{b,c\"]\n"
                  "    operations: [read]\n    decision: allow\n",
                  5, 13, "f", "unbalanced '{'"},
        ErrorCase{"bad_variable",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [\"${HOME/x\"]\n"
                  "    operations: [read]\n    decision: allow\n",
                  5, 13, "f", "unterminated '${'"},
        ErrorCase{"bad_regex",
                  "version: 1\nname: t\ncommand_rules:\n  - name: c\n    commands: [rm]\n"
                  "    args_patterns:\n      - \"-r(f\"\n    decision: deny\n",
                  7, 9, "c",
                  "bad regex '-r(f' in args_patterns: missing closing parenthesis at offset 4"},
        ErrorCase{"bad_cidr",
                  "version: 1\nname: t\nnetwork_rules:\n  - name: n\n    cidrs: [10.0.0.0/8, "
                  "10.0.0.0/33]\n"
                  "    decision: deny\n",
                  5, 25, "n", "bad cidr '10.0.0.0/33'"},
        ErrorCase{"bad_port_number",
                  "version: 1\nname: t\nnetwork_rules:\n  - name: n\n    ports: [443, 70000]\n"
                  "    decision: deny\n",
                  5, 18, "n", "bad port '70000': ports are 1-65535"},
        ErrorCase{"bad_port_range",
                  "version: 1\nname: t\nnetwork_rules:\n  - name: n\n    ports: [\"9000-8000\"]\n"
                  "    decision: deny\n",
                  5, 13, "n", "bad port '9000-8000': range start is above its end"},
        ErrorCase{"bad_port_text",
                  "version: 1\nname: t\nnetwork_rules:\n  - name: n\n    ports: [https]\n"
                  "    decision: deny\n",
                  5, 13, "n", "bad port 'https'"},
        ErrorCase{"missing_name",
                  "version: 1\nname: t\nfile_rules:\n  - name: a\n    paths: [/a]\n"
                  "    operations: [read]\n    decision: allow\n  - paths: [/b]\n"
                  "    operations: [read]\n    decision: allow\n",
                  8, 5, "file_rules[1]", "missing required key 'name'"},
        ErrorCase{"duplicate_name",
                  "version: 1\nname: t\ncommand_rules:\n  - name: same\n    commands: [a]\n"
                  "    decision: deny\n  - name: same\n    commands: [b]\n    decision: allow\n",
                  7, 11, "same", "duplicate rule name 'same'"},
        ErrorCase{"duplicate_key",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [/a]\n"
                  "    operations: [read]\n    decision: allow\n    decision: deny\n",
                  8, 5, "f", "duplicate key 'decision'"},
        ErrorCase{"wrong_type_list_expected",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: /tmp\n"
                  "    operations: [read]\n    decision: allow\n",
                  5, 12, "f", "'paths' must be a list"},
        ErrorCase{"wrong_type_string_expected",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [/a]\n"
                  "    operations: [read]\n    decision: [allow]\n",
                  7, 15, "f", "'decision' must be a string, not a list"},
        ErrorCase{"wrong_type_number_expected",
                  "version: 1\nname: t\nenv_policy:\n  max_bytes: lots\n", 4, 14, "",
                  "'max_bytes' must be a whole number, not 'lots'"},
        ErrorCase{"wrong_type_bool_expected",
                  "version: 1\nname: t\naudit:\n  log_denied: sometimes\n", 4, 15, "",
                  "'log_denied' must be true or false"},
        ErrorCase{"wrong_type_rules_not_list", "version: 1\nname: t\nnetwork_rules:\n  name: n\n",
                  4, 3, "", "'network_rules' must be a list of rules"},
        ErrorCase{"bad_duration",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [/a]\n"
                  "    operations: [read]\n    decision: approve\n    timeout: 5\n",
                  8, 14, "f", "'timeout': duration '5' needs a unit"},
        ErrorCase{"file_redirect_without_target",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [/a]\n"
                  "    operations: [write]\n    decision: redirect\n",
                  4, 5, "f", "decision 'redirect' needs 'redirect_to'"},
        ErrorCase{"command_redirect_without_target",
                  "version: 1\nname: t\ncommand_rules:\n  - name: c\n    commands: [curl]\n"
                  "    decision: redirect\n",
                  4, 5, "c", "decision 'redirect' needs 'redirect_to: {command"},
        ErrorCase{"signal_redirect_without_target",
                  "version: 1\nname: t\nsignal_rules:\n  - name: s\n    signals: [SIGKILL]\n"
                  "    target: {type: children}\n    decision: redirect\n",
                  4, 5, "s", "decision 'redirect' needs 'redirect_to' (a signal"},
        ErrorCase{"network_redirect_impossible",
                  "version: 1\nname: t\nnetwork_rules:\n  - name: n\n    decision: redirect\n", 5,
                  15, "n", "network rules cannot redirect"},
        ErrorCase{"missing_decision",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [/a]\n"
                  "    operations: [read]\n",
                  4, 5, "f", "missing required key 'decision'"},
        ErrorCase{"missing_commands",
                  "version: 1\nname: t\ncommand_rules:\n  - name: c\n    decision: allow\n", 4, 5,
                  "c", "missing required key 'commands'"},
        ErrorCase{"empty_commands",
                  "version: 1\nname: t\ncommand_rules:\n  - name: c\n    commands: []\n"
                  "    decision: allow\n",
                  5, 15, "c", "'commands' is empty"},
        ErrorCase{"empty_operations",
                  "version: 1\nname: t\nfile_rules:\n  - name: f\n    paths: [/a]\n"
                  "    operations: []\n    decision: deny\n",
                  6, 17, "f", "'operations' is empty"},
        ErrorCase{"unknown_signal",
                  "version: 1\nname: t\nsignal_rules:\n  - name: s\n    signals: [SIGFOO]\n"
                  "    target: {type: self}\n    decision: allow\n",
                  5, 15, "s", "unknown signal 'SIGFOO'"},
        ErrorCase{"unknown_signal_target",
                  "version: 1\nname: t\nsignal_rules:\n  - name: s\n    signals: [\"@all\"]\n"
                  "    target: {type: everyone}\n    decision: allow\n",
                  6, 13, "s", "unknown signal target type 'everyone'"},
        ErrorCase{"dns_redirect_bad_ip",
                  "version: 1\nname: t\ndns_redirects:\n  - name: d\n    match: \".*\"\n"
                  "    resolve_to: not-an-ip\n",
                  6, 17, "d", "resolve_to 'not-an-ip' is not an IP address"},
        ErrorCase{"connect_redirect_bad_regex",
                  "version: 1\nname: t\nconnect_redirects:\n  - name: c\n    match: \"[x\"\n"
                  "    redirect_to: h:443\n",
                  5, 12, "c", "bad regex '[x' in match: missing terminating ] for character class"},
        ErrorCase{"connect_redirect_sni_missing",
                  "version: 1\nname: c\nconnect_redirects:\n  - name: c\n    match: x\n"
                  "    redirect_to: h:443\n    tls: {mode: rewrite_sni}\n",
                  7, 10, "c", "tls.mode rewrite_sni needs tls.sni"},
        ErrorCase{"per_command_env_refused",
                  "version: 1\nname: t\ncommand_rules:\n  - name: c\n    commands: [x]\n"
                  "    env_deny: [A]\n    decision: allow\n",
                  6, 5, "c", "per-command env policy) is not supported yet"},
        ErrorCase{"unsupported_version", "version: 2\nname: t\n", 1, 10, "",
                  "unsupported policy version '2'"},
        ErrorCase{"missing_version", "name: t\n", 1, 1, "", "missing required key 'version'"},
        ErrorCase{"yaml_syntax", "version: 1\nname: t\nfile_rules: [\n  {name: a\n", 5, 1, "",
                  "YAML syntax error"},
        ErrorCase{"not_a_mapping", "- a\n- b\n", 1, 1, "", "a policy must be a YAML mapping"},
        ErrorCase{"server_config", "server:\n  http:\n    addr: x\nsessions: {}\n", 1, 1, "",
                  "this looks like a server configuration"}),
    [](const ::testing::TestParamInfo<ErrorCase>& i) { return std::string(i.param.name); });

TEST(Loader, DiagnosticFormat) {
  Diagnostic d{"p.yaml", 7, 5, "r1", "unknown key 'decison'"};
  EXPECT_EQ(d.format(), "p.yaml:7:5: rule 'r1': unknown key 'decison'");
  Diagnostic top{"p.yaml", 3, 1, "", "bad"};
  EXPECT_EQ(top.format(), "p.yaml:3:1: bad");
  Diagnostic nopos{"p.yaml", 0, 0, "", "cannot read"};
  EXPECT_EQ(nopos.format(), "p.yaml: cannot read");
}

TEST(Loader, MissingFileIsAnError) {
  LoadResult r = load_policy_file("/nonexistent/agentsh/policy.yaml");
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("cannot read"), std::string::npos);
}

TEST(Loader, CollectsEveryErrorNotJustTheFirst) {
  LoadResult r = load_policy_text(
      "version: 1\nname: t\nfile_rules:\n  - name: a\n    paths: [/a]\n    operations: [bogus]\n"
      "    decision: maybe\n",
      "p.yaml");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.errors.size(), 2u) << all(r.errors);
}

TEST(Loader, ParsesTheWholeSchema) {
  LoadResult r = load_policy_text(R"yaml(version: 1
name: full
description: every section
env_policy:
  allow: ["PATH", "LC_*"]
  deny: ["*_TOKEN"]
  max_bytes: 4096
  max_keys: 10
  block_iteration: true
file_rules:
  - name: f
    description: d
    paths: ["${HOME}/{a,b}/**"]
    operations: [read, "WRITE", "*"]
    decision: Redirect
    redirect_to: /tmp/r
    preserve_tree: true
    message: "m {{.Path}}"
    timeout: 1h30m
network_rules:
  - name: n
    domains: ["*.example.com"]
    cidrs: ["10.0.0.0/8", "::1/128"]
    ports: [443, "8000-8100"]
    decision: approve
    timeout: 2m
command_rules:
  - name: c
    commands: [git, "/usr/bin/x", "py*"]
    args_patterns: ["^push"]
    decision: redirect
    context: [direct]
    redirect_to:
      command: echo
      args: ["no"]
      args_append: ["!"]
      environment: {A: "1"}
signal_rules:
  - name: s
    signals: ["SIGKILL", "9", "@fatal", "TERM", "SIGRTMIN+1"]
    target: {type: pid_range, min: 1, max: 100}
    decision: redirect
    redirect_to: SIGTERM
    fallback: audit
dns_redirects:
  - name: d
    match: ".*\\.anthropic\\.com"
    resolve_to: 10.0.0.50
    visibility: warn
    on_failure: fail_open
connect_redirects:
  - name: cr
    match: "api\\.x\\.com:443"
    redirect_to: proxy.internal:443
    tls: {mode: rewrite_sni, sni: proxy.internal}
    message: routed
resource_limits:
  max_memory_mb: 2048
  memory_swap_max_mb: 0
  cpu_quota_percent: 50
  pids_max: 100
  disk_read_bps_max: 52428800
  disk_write_bps_max: 26214400
  net_bandwidth_mbps: 10
  command_timeout: 5m
  session_timeout: 1h
  idle_timeout: 15m
audit:
  log_allowed: true
  log_denied: true
  log_approved: false
  include_stdout: true
  include_stderr: true
  include_file_content: false
  retention_days: 90
)yaml",
                                  "full.yaml");
  ASSERT_TRUE(r.ok) << all(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << all(r.warnings);
  const Policy& p = r.policy;
  EXPECT_EQ(p.name, "full");
  EXPECT_EQ(p.source, "full.yaml");
  EXPECT_EQ(p.env.allow.size(), 2u);
  EXPECT_EQ(p.env.max_bytes, 4096u);
  EXPECT_EQ(p.env.max_keys, 10u);
  EXPECT_TRUE(p.env.block_iteration);
  ASSERT_EQ(p.file_rules.size(), 1u);
  const FileRule& f = p.file_rules[0];
  EXPECT_EQ(f.ops, kAllOps);
  EXPECT_EQ(f.decision, Decision::kRedirect);
  EXPECT_EQ(f.redirect_to, "/tmp/r");
  EXPECT_TRUE(f.preserve_tree);
  EXPECT_EQ(f.timeout_ms, 5400000);
  EXPECT_EQ(f.pos.line, 11);
  EXPECT_EQ(f.pos.column, 5);
  ASSERT_EQ(p.network_rules.size(), 1u);
  const NetworkRule& n = p.network_rules[0];
  ASSERT_EQ(n.ports.size(), 2u);
  EXPECT_EQ(n.ports[0], (std::pair<uint16_t, uint16_t>{443, 443}));
  EXPECT_EQ(n.ports[1], (std::pair<uint16_t, uint16_t>{8000, 8100}));
  EXPECT_EQ(n.timeout_ms, 120000);
  ASSERT_EQ(p.command_rules.size(), 1u);
  const CommandRule& c = p.command_rules[0];
  ASSERT_TRUE(c.redirect_to.has_value());
  EXPECT_EQ(c.redirect_to->args_append, std::vector<std::string>{"!"});
  EXPECT_EQ(c.redirect_to->environment.at("A"), "1");
  EXPECT_EQ(c.context, std::vector<std::string>{"direct"});
  ASSERT_EQ(p.signal_rules.size(), 1u);
  EXPECT_EQ(p.signal_rules[0].target, "pid_range");
  EXPECT_EQ(p.signal_rules[0].target_max, 100);
  ASSERT_TRUE(p.signal_rules[0].fallback.has_value());
  EXPECT_EQ(*p.signal_rules[0].fallback, Decision::kAudit);
  ASSERT_EQ(p.dns_redirects.size(), 1u);
  EXPECT_EQ(p.dns_redirects[0].on_failure, "fail_open");
  ASSERT_EQ(p.connect_redirects.size(), 1u);
  EXPECT_EQ(p.connect_redirects[0].tls_mode, "rewrite_sni");
  EXPECT_TRUE(p.limits.present);
  EXPECT_EQ(p.limits.command_timeout_ms, 300000);
  EXPECT_EQ(p.limits.session_timeout_ms, 3600000);
  EXPECT_EQ(p.limits.memory_swap_max_mb, 0);
  EXPECT_EQ(p.audit.retention_days, 90);
  EXPECT_FALSE(p.audit.log_approved);
}

TEST(Loader, UnenforcedSectionsWarnOnceEach) {
  LoadResult r = load_policy_text(R"yaml(version: 1
name: t
unix_socket_rules:
  - name: a
    paths: ["/var/run/docker.sock"]
    operations: [connect]
    decision: allow
  - name: b
    paths: ["/var/run/**"]
    operations: [connect]
    decision: deny
package_rules:
  - match: {finding_type: malware}
    action: block
mcp_rules: {anything: [goes]}
)yaml",
                                  "w.yaml");
  ASSERT_TRUE(r.ok) << all(r.errors);
  ASSERT_EQ(r.warnings.size(), 3u) << all(r.warnings);
  EXPECT_EQ(r.warnings[0].format(),
            "w.yaml:3:1: section 'unix_socket_rules' is parsed but not enforced yet");
  EXPECT_EQ(r.warnings[1].message, "section 'package_rules' is parsed but not enforced yet");
  EXPECT_EQ(r.warnings[2].message, "section 'mcp_rules' is parsed but not enforced yet");
}

TEST(Loader, UnenforcedRuleSectionsStillRejectTypos) {
  LoadResult r = load_policy_text(
      "version: 1\nname: t\nunix_socket_rules:\n  - name: a\n    path: [/x]\n    decision: deny\n",
      "u.yaml");
  EXPECT_FALSE(r.ok);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_EQ(r.errors[0].format(),
            "u.yaml:5:5: rule 'a': unix_socket_rules: unknown key 'path' (did you mean 'paths'?)");
}

TEST(Loader, RelativePathWarns) {
  LoadResult r = load_policy_text(
      "version: 1\nname: t\nfile_rules:\n  - name: a\n    paths: [\"~/.ssh/**\"]\n"
      "    operations: [read]\n    decision: deny\n",
      "r.yaml");
  EXPECT_TRUE(r.ok);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].line, 5);
  EXPECT_NE(r.warnings[0].message.find("never match"), std::string::npos);
}

struct ReferenceCase {
  const char* file;
  size_t warnings;
};

class ReferencePoliciesLoad : public ::testing::TestWithParam<ReferenceCase> {};

TEST_P(ReferencePoliciesLoad, WithoutErrors) {
  LoadResult r = load_policy_file(testdata(std::string("reference/") + GetParam().file));
  EXPECT_TRUE(r.ok) << all(r.errors);
  EXPECT_EQ(r.warnings.size(), GetParam().warnings) << all(r.warnings);
  EXPECT_FALSE(r.policy.name.empty());
}

INSTANTIATE_TEST_SUITE_P(
    All, ReferencePoliciesLoad,
    ::testing::Values(ReferenceCase{"agent-default.yaml", 2},  // unix_socket_rules, package_rules
                      ReferenceCase{"agent-observe.yaml", 0},
                      ReferenceCase{"agent-sandbox.yaml", 0}, ReferenceCase{"agent-strict.yaml", 0},
                      ReferenceCase{"bench-realistic.yaml", 0}, ReferenceCase{"ci-strict.yaml", 0},
                      ReferenceCase{"default.yaml", 0}, ReferenceCase{"dev-safe.yaml", 0},
                      ReferenceCase{"signal-strict.yaml", 0},
                      ReferenceCase{"system-readonly.yaml", 1},  // registry_rules
                      ReferenceCase{"default-policy.yaml", 0}),
    [](const ::testing::TestParamInfo<ReferenceCase>& i) {
      std::string n = i.param.file;
      for (char& ch : n) {
        if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

TEST(Loader, ReferenceDefaultContent) {
  LoadResult r = load_policy_file(testdata("reference/default-policy.yaml"));
  ASSERT_TRUE(r.ok);
  const Policy& p = r.policy;
  EXPECT_EQ(p.name, "default");
  EXPECT_EQ(p.file_rules.size(), 19u);
  EXPECT_EQ(p.network_rules.size(), 13u);
  EXPECT_EQ(p.command_rules.size(), 11u);
  EXPECT_EQ(p.env.max_keys, 100u);
  EXPECT_EQ(p.file_rules[11].name, "approve-ssh-access");
  EXPECT_EQ(p.file_rules[11].timeout_ms, 300000);
  EXPECT_EQ(p.limits.idle_timeout_ms, 900000);
}

TEST(Loader, ServerConfigIsRecognised) {
  LoadResult r = load_policy_file(testdata("reference/server-config.yaml"));
  EXPECT_FALSE(r.ok);
  ASSERT_EQ(r.errors.size(), 1u) << all(r.errors);
  EXPECT_NE(r.errors[0].message.find("--config"), std::string::npos);
  EXPECT_TRUE(looks_like_server_config("server:\n  http: {addr: x}\npolicies: {dir: y}\n"));
  EXPECT_FALSE(looks_like_server_config("version: 1\nname: p\naudit: {log_denied: true}\n"));
  EXPECT_FALSE(looks_like_server_config("version: 1\nname: p\nfile_rules: []\n"));
  EXPECT_FALSE(looks_like_server_config("{{{ not yaml"));
  EXPECT_FALSE(looks_like_server_config("- a list"));
}

TEST(Loader, ShippedDefaultPolicyLoadsCleanly) {
  LoadResult r = load_policy_file(repo_file("conf/policies/default.yaml"));
  EXPECT_TRUE(r.ok) << all(r.errors);
  EXPECT_TRUE(r.warnings.empty()) << all(r.warnings);
  EXPECT_EQ(r.policy.name, "default");
  EXPECT_EQ(r.policy.version, 1);
}

}  // namespace
}  // namespace agentsh::policy
