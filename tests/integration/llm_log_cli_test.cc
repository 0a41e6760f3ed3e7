// `agentsh llm log` over rows LlmLogStore wrote, and `agentsh exec` handing the agent
// our CA bundle when proxy.providers is configured (and not otherwise).
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agentsh/llm_log_store.h"
#include "tests/integration/exec_support.h"

namespace agentsh {
namespace {

using testing_support::agentsh_bin;
using testing_support::base_env;
using testing_support::run;
using testing_support::TempDir;
using testing_support::write_test_config;

proxy::LlmRecord make(const std::string& provider, const std::string& model, int64_t in,
                      int64_t out) {
  proxy::LlmRecord r;
  r.provider = provider;
  r.endpoint = provider == "anthropic" ? "messages" : "chat.completions";
  r.model = model;
  r.stream = provider == "anthropic";
  r.http_status = 200;
  r.input_tokens = in;
  r.output_tokens = out;
  r.total_ms = 42;
  r.redactions["AWS_KEY"] = 1;
  return r;
}

TEST(LlmLogCliTest, JsonAndTextListTheRecordedRequests) {
  TempDir dir;
  const std::string cfg = write_test_config(dir);
  {
    std::string err;
    auto st = LlmLogStore::open(dir.path() + "/state/events.db", &err);
    ASSERT_NE(st, nullptr) << err;
    st->record(make("openai", "gpt-4o", 17, 3), "sess-a", "cmd-1");
    st->record(make("anthropic", "claude-sonnet-4-5", 25, 12), "sess-b", "cmd-2");
    st->record(make("openai", "gpt-4o-mini", -1, -1), "sess-a", "cmd-3");
  }  // destructor drains the queue
  auto r = run({agentsh_bin(), "llm", "log", "--config", cfg, "--json", "--session", "sess-a"},
               base_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  std::istringstream lines(r.out);
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(lines, line);) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 2u) << r.out;
  EXPECT_EQ(rows[0]["provider"], "openai");
  EXPECT_EQ(rows[0]["model"], "gpt-4o");
  EXPECT_EQ(rows[0]["stream"], false);
  EXPECT_EQ(rows[0]["status"], 200);
  EXPECT_EQ(rows[0]["input_tokens"], 17);
  EXPECT_EQ(rows[0]["output_tokens"], 3);
  EXPECT_EQ(rows[0]["duration_ms"], 42);
  EXPECT_EQ(rows[0]["redactions"], 1);
  EXPECT_TRUE(rows[1]["input_tokens"].is_null());  // not reported stays null

  r = run({agentsh_bin(), "llm", "log", "--config", cfg, "--limit", "1"}, base_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("PROVIDER"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("gpt-4o-mini"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("claude"), std::string::npos) << r.out;

  r = run({agentsh_bin(), "llm", "log", "--limit", "x", "--config", cfg}, base_env(dir));
  EXPECT_EQ(r.status, 2);
  r = run({agentsh_bin(), "llm"}, base_env(dir));
  EXPECT_EQ(r.status, 2);
}

TEST(LlmLogCliTest, ExecGivesTheAgentOurCaBundleOnlyWithProviders) {
  if (geteuid() != 0) GTEST_SKIP() << "exec tests run as root";
  TempDir dir;
  std::string cfg =
      write_test_config(dir, "proxy:\n  providers:\n    openai: https://api.openai.com\n");
  auto r = run({agentsh_bin(), "exec", "--config", cfg, "--", "/usr/bin/env"}, base_env(dir));
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string bundle = dir.path() + "/state/ca/ca-bundle.pem";
  for (const char* k : {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"})
    EXPECT_NE(r.out.find(std::string(k) + "=" + bundle + "\n"), std::string::npos) << k << r.out;
  EXPECT_NE(r.out.find("NODE_EXTRA_CA_CERTS=" + dir.path() + "/state/ca/ca.pem\n"),
            std::string::npos);
  // The bundle holds our CA.
  std::ifstream b(bundle), c(dir.path() + "/state/ca/ca.pem");
  std::stringstream bs, cs;
  bs << b.rdbuf();
  cs << c.rdbuf();
  ASSERT_FALSE(cs.str().empty());
  EXPECT_NE(bs.str().find(cs.str()), std::string::npos);

  TempDir plain;
  cfg = write_test_config(plain);
  r = run({agentsh_bin(), "exec", "--config", cfg, "--", "/usr/bin/env"}, base_env(plain));
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out.find("SSL_CERT_FILE="), std::string::npos) << r.out;
}

}  // namespace
}  // namespace agentsh
