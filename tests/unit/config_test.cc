#include "agentsh/config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "agentsh/embedded.h"

namespace agentsh {
namespace {

TEST(Config, EmbeddedDefaultLoads) {
  ConfigLoad r = load_config_text(std::string(embedded::config()), "<embedded>");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.config.http_addr, "127.0.0.1:18080");
  EXPECT_EQ(r.config.default_policy, "default");
  EXPECT_EQ(r.config.approval_mode(), policy::ApprovalMode::kNone);
}

TEST(Config, ReferenceConfigLoadsWithWarnings) {
  std::ifstream in("../shared/reference/config.yaml");
  if (!in) GTEST_SKIP() << "../shared not present";
  std::string text((std::istreambuf_iterator<char>(in)), {});
  ConfigLoad r = load_config_text(text, "config.yaml");
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.config.audit_db, "/var/lib/agentsh/events.db");
  EXPECT_EQ(r.config.sessions_dir, "/var/lib/agentsh/sessions");
  EXPECT_EQ(r.config.dlp_custom.size(), 8u);
  EXPECT_EQ(r.config.providers.at("openai"), "https://api.openai.com");
  // approvals.enabled: false, mode async → nobody approves.
  EXPECT_EQ(r.config.approval_mode(), policy::ApprovalMode::kNone);
  EXPECT_FALSE(r.warnings.empty());  // grpc is not served
}

TEST(Config, UnknownKeyIsAnErrorWithPosition) {
  ConfigLoad r = load_config_text("server:\n  http:\n    adrr: \"x\"\n", "c.yaml");
  ASSERT_FALSE(r.ok);
  EXPECT_NE(r.error.find("c.yaml:3:5"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("server.http.adrr"), std::string::npos) << r.error;
}

TEST(Config, BadValuesAreErrors) {
  struct Case {
    const char* yaml;
    const char* needle;
  } cases[] = {
      {"approvals:\n  enabled: maybe\n", "true or false"},
      {"approvals:\n  mode: sometimes\n", "api, tty or shadow"},
      {"server:\n  http:\n    read_timeout: soon\n", "duration"},
      {"dlp:\n  mode: loud\n", "redact or disabled"},
      {"dlp:\n  custom_patterns:\n    - display: X\n", "'name' and 'regex'"},
      {"development:\n  disable_policy: true\n", "never runs without a policy"},
      {"sessions: [1, 2]\n", "must be a mapping"},
      {"server: {http: {addr: [1]}}\n", "must be a string"},
      {"a: [\n", "c.yaml:"},
  };
  for (const auto& c : cases) {
    ConfigLoad r = load_config_text(c.yaml, "c.yaml");
    EXPECT_FALSE(r.ok) << c.yaml;
    EXPECT_NE(r.error.find(c.needle), std::string::npos) << c.yaml << " → " << r.error;
  }
}

TEST(Config, ApprovalModes) {
  EXPECT_EQ(load_config_text("approvals: {enabled: true, mode: api}", "x").config.approval_mode(),
            policy::ApprovalMode::kApi);
  EXPECT_EQ(load_config_text("approvals: {enabled: true, mode: tty}", "x").config.approval_mode(),
            policy::ApprovalMode::kTty);
  // shadow must be explicit, and then works whether or not approvals are "enabled".
  EXPECT_EQ(load_config_text("approvals: {mode: shadow}", "x").config.approval_mode(),
            policy::ApprovalMode::kShadow);
  EXPECT_EQ(load_config_text("approvals: {enabled: true, mode: async}", "x").config.approval_mode(),
            policy::ApprovalMode::kApi);
}

TEST(Config, Durations) {
  struct {
    const char* in;
    int64_t ms;
  } ok[] = {{"30s", 30000},     {"5m", 300000}, {"1h", 3600000}, {"250ms", 250},
            {"2h30m", 9000000}, {"1.5s", 1500}, {"10", 10000}};
  for (const auto& c : ok) {
    int64_t v = -1;
    EXPECT_TRUE(parse_duration_ms(c.in, &v)) << c.in;
    EXPECT_EQ(v, c.ms) << c.in;
  }
  for (const char* bad : {"", "s", "5x", "m5", "1h-"}) {
    int64_t v;
    EXPECT_FALSE(parse_duration_ms(bad, &v)) << bad;
  }
}

TEST(Config, Sizes) {
  uint64_t v;
  ASSERT_TRUE(parse_size_bytes("10MB", &v));
  EXPECT_EQ(v, 10u << 20);
  ASSERT_TRUE(parse_size_bytes("512kb", &v));
  EXPECT_EQ(v, 512u << 10);
  ASSERT_TRUE(parse_size_bytes("1000", &v));
  EXPECT_EQ(v, 1000u);
  EXPECT_FALSE(parse_size_bytes("MB", &v));
  EXPECT_FALSE(parse_size_bytes("10XB", &v));
}

TEST(Config, ResolvePolicyFallsBackToEmbeddedDefault) {
  Config c;
  c.policies_dir = "/nonexistent-agentsh-dir";
  std::string origin, text, err;
  ASSERT_TRUE(resolve_policy(c, "", &origin, &text, &err)) << err;
  EXPECT_EQ(origin, "<embedded>");
  EXPECT_EQ(text, std::string(embedded::policy()));
  EXPECT_FALSE(resolve_policy(c, "strict", &origin, &text, &err));
  EXPECT_NE(err.find("no policy named 'strict'"), std::string::npos) << err;
  EXPECT_FALSE(resolve_policy(c, "/nonexistent/p.yaml", &origin, &text, &err));
}

}  // namespace
}  // namespace agentsh
