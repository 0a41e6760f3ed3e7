// LlmLogStore (the llm_requests table) and the proxy.rate_limits config section.
#include "agentsh/llm_log_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "agentsh/config.h"

namespace agentsh {
namespace {

namespace fs = std::filesystem;

proxy::LlmRecord make(const std::string& model, int64_t in, int64_t out) {
  proxy::LlmRecord r;
  r.provider = "openai";
  r.endpoint = "chat.completions";
  r.model = model;
  r.stream = true;
  r.http_status = 200;
  r.input_tokens = in;
  r.output_tokens = out;
  r.total_ms = 12;
  r.redactions["AWS_KEY"] = 2;
  if (model == "c") r.response_redactions["EMAIL"] = 3;  // found in the model's answer
  r.prompt_excerpt = "hello [REDACTED:AWS_KEY]";
  return r;
}

TEST(LlmLogStoreTest, RowsRoundTripFilteredBySessionOldestFirst) {
  fs::path dir = fs::path("/tmp") / ("agentsh-llmlog-" + std::to_string(getpid()));
  fs::remove_all(dir);
  std::string err;
  auto st = LlmLogStore::open((dir / "events.db").string(), &err);
  ASSERT_NE(st, nullptr) << err;
  st->record(make("a", 10, 5), "s1", "c1");
  st->record(make("b", -1, -1), "s2", "c2");
  st->record(make("c", 7, 3), "s1", "c3");
  st->flush();
  auto all = st->query("", 0, &err);
  ASSERT_EQ(all.size(), 3u) << err;
  EXPECT_EQ(all[0].rec.model, "a");
  EXPECT_EQ(all[1].rec.input_tokens, -1);  // NULL stays "not reported"
  auto s1 = st->query("s1", 1, &err);
  ASSERT_EQ(s1.size(), 1u);
  EXPECT_EQ(s1[0].rec.model, "c");  // the last one
  EXPECT_EQ(s1[0].command_id, "c3");
  EXPECT_EQ(s1[0].rec.input_tokens, 7);
  EXPECT_EQ(s1[0].rec.output_tokens, 3);
  EXPECT_TRUE(s1[0].rec.stream);
  EXPECT_EQ(s1[0].rec.redactions.at("AWS_KEY"), 2);
  EXPECT_EQ(s1[0].rec.redactions.size(), 1u);  // the response's are kept apart
  EXPECT_EQ(s1[0].rec.response_redactions.at("EMAIL"), 3);
  EXPECT_TRUE(all[0].rec.response_redactions.empty());
  EXPECT_EQ(s1[0].rec.prompt_excerpt, "hello [REDACTED:AWS_KEY]");
  st.reset();
  fs::remove_all(dir);
}

TEST(LlmLogStoreTest, RateLimitsConfigIsParsedAndUnknownKeysRefused) {
  ConfigLoad ok = load_config_text(
      "proxy:\n  rate_limits:\n    requests_per_minute: 60\n    tokens_per_minute: 2000\n", "t");
  ASSERT_TRUE(ok.ok) << ok.error;
  EXPECT_EQ(ok.config.llm_rate_limits.requests_per_minute, 60);
  EXPECT_EQ(ok.config.llm_rate_limits.tokens_per_minute, 2000);
  ConfigLoad bad = load_config_text("proxy:\n  rate_limits:\n    requests_per_hour: 60\n", "t");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.error.find("requests_per_hour"), std::string::npos) << bad.error;
}

}  // namespace
}  // namespace agentsh
