// env_policy: which variables reach a command (deny globs win, then allow globs, no allow
// list = everything not denied) and the max_keys / max_bytes limits of filter_env.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/engine.h"
#include "policy/loader.h"

namespace agentsh::policy {
namespace {

using Strings = std::vector<std::string>;

std::unique_ptr<Engine> env_engine(const std::string& env_yaml) {
  LoadResult r = load_policy_text("version: 1\nname: t\nenv_policy:\n" + env_yaml, "env.yaml");
  for (const auto& d : r.errors) ADD_FAILURE() << d.format();
  std::string err;
  auto e = Engine::compile(r.policy, {}, {}, &err);
  EXPECT_NE(e, nullptr) << err;
  return e;
}

std::string testdata(const std::string& rel) {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/') + 1) + "testdata/" + rel;
}

TEST(Env, DenyWinsOverAllow) {
  auto e = env_engine("  allow: [\"AWS_*\", PATH]\n  deny: [\"AWS_SECRET*\"]\n");
  EXPECT_TRUE(e->env_allowed("AWS_REGION"));
  EXPECT_FALSE(e->env_allowed("AWS_SECRET_ACCESS_KEY"));
  EXPECT_TRUE(e->env_allowed("PATH"));
  EXPECT_FALSE(e->env_allowed("HOME"));  // an allow list exists and HOME is not on it
  EXPECT_FALSE(e->env_allowed("path"));  // names are case-sensitive
}

TEST(Env, NoAllowListAllowsEverythingNotDenied) {
  auto e = env_engine("  deny: [\"*_TOKEN\", \"*SECRET*\", DATABASE_URL]\n");
  EXPECT_TRUE(e->env_allowed("HOME"));
  EXPECT_TRUE(e->env_allowed("TOKEN_FILE"));
  EXPECT_FALSE(e->env_allowed("GITHUB_TOKEN"));
  EXPECT_FALSE(e->env_allowed("MY_SECRET_THING"));
  EXPECT_FALSE(e->env_allowed("DATABASE_URL"));
  auto none = env_engine("  block_iteration: false\n");
  EXPECT_TRUE(none->env_allowed("ANYTHING"));
}

TEST(Env, StarDoesNotNeedASeparator) {
  // Env names have no separator: '*' spans the whole name, including '/' or '.'.
  auto e = env_engine("  deny: [\"A*Z\"]\n");
  EXPECT_FALSE(e->env_allowed("A/B.Z"));
  EXPECT_TRUE(e->env_allowed("A/B.Y"));
}

TEST(Env, FilterRemovesDeniedAndMalformedAndReportsNamesOnly) {
  auto e = env_engine("  deny: [\"*_KEY\"]\n");
  Strings dropped;
  Strings out = e->filter_env(
      {"PATH=/bin", "OPENAI_API_KEY=sk-123", "NOEQUALS", "=novalue", "EMPTY="}, &dropped);
  EXPECT_EQ(out, (Strings{"PATH=/bin", "EMPTY="}));
  EXPECT_EQ(dropped, (Strings{"OPENAI_API_KEY", "NOEQUALS", ""}));
  for (const auto& d : dropped) EXPECT_EQ(d.find("sk-123"), std::string::npos);
}

TEST(Env, MaxKeysKeepsTheFirstN) {
  auto e = env_engine("  max_keys: 2\n");
  Strings dropped;
  Strings out = e->filter_env({"A=1", "B=2", "C=3", "D=4"}, &dropped);
  EXPECT_EQ(out, (Strings{"A=1", "B=2"}));
  EXPECT_EQ(dropped, (Strings{"C", "D"}));
}

TEST(Env, MaxBytesCountsEntryPlusTerminator) {
  // "A=1" + NUL = 4 bytes each; 10 bytes fit two, the third (4) does not, a later short
  // one still would not (8 + 4 > 10), the dropped ones are reported in order.
  auto e = env_engine("  max_bytes: 10\n");
  Strings dropped;
  Strings out = e->filter_env({"A=1", "B=2", "C=3", "LONGNAME=x"}, &dropped);
  EXPECT_EQ(out, (Strings{"A=1", "B=2"}));
  EXPECT_EQ(dropped, (Strings{"C", "LONGNAME"}));
  // Exactly at the limit fits.
  auto exact = env_engine("  max_bytes: 8\n");
  EXPECT_EQ(exact->filter_env({"A=1", "B=2"}, nullptr), (Strings{"A=1", "B=2"}));
  // What does not fit is skipped, later entries that do fit are kept.
  Strings d2;
  EXPECT_EQ(e->filter_env({"A=1", "VERYLONGNAME=12345", "B=2"}, &d2), (Strings{"A=1", "B=2"}));
  EXPECT_EQ(d2, Strings{"VERYLONGNAME"});
}

TEST(Env, DeniedNamesDoNotCountAgainstLimits) {
  auto e = env_engine("  deny: [SECRET]\n  max_keys: 1\n");
  Strings dropped;
  EXPECT_EQ(e->filter_env({"SECRET=x", "A=1", "B=2"}, &dropped), Strings{"A=1"});
  EXPECT_EQ(dropped, (Strings{"SECRET", "B"}));
}

TEST(Env, ReferenceDefaultPolicy) {
  LoadResult r = load_policy_file(testdata("reference/default-policy.yaml"));
  ASSERT_TRUE(r.ok);
  std::string err;
  auto e = Engine::compile(r.policy, {{"PROJECT_ROOT", "/tmp"}, {"HOME", "/root"}}, {}, &err);
  ASSERT_NE(e, nullptr) << err;
  EXPECT_TRUE(e->env_allowed("NODE_ENV"));
  EXPECT_TRUE(e->env_allowed("PYTHONPATH"));
  EXPECT_TRUE(e->env_allowed("LC_ALL"));
  EXPECT_FALSE(e->env_allowed("AWS_SECRET_ACCESS_KEY"));
  EXPECT_FALSE(e->env_allowed("OPENAI_API_KEY"));
  EXPECT_FALSE(e->env_allowed("SECRET_MASTER"));  // not on the allow list
  EXPECT_FALSE(e->env_allowed("DATABASE_URL"));
  EXPECT_FALSE(e->env_allowed("NODE_AUTH_TOKEN"));  // NODE_* is allowed, but deny wins
  // The reference allow list has no GIT_* entry.
  EXPECT_FALSE(e->env_allowed("GIT_AUTHOR_NAME"));
}

}  // namespace
}  // namespace agentsh::policy
