// LlmRateLimiter: request and token buckets, refill, debt, per-key isolation, the 429.
#include "proxy/llm_rate_limiter.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace agentsh::proxy {
namespace {

constexpr int64_t kSec = 1'000'000;

TEST(LlmRateLimiter, UnlimitedByDefault) {
  LlmRateLimiter rl({});
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(rl.admit("s", i).allowed);
  EXPECT_EQ(rl.tracked_keys(), 0u);
}

TEST(LlmRateLimiter, RequestsPerMinuteBurstThenRefill) {
  LlmRateLimiter rl({/*requests_per_minute=*/6, /*tokens_per_minute=*/0});
  int64_t t = 100 * kSec;
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(rl.admit("sess", t).allowed) << i;
  auto v = rl.admit("sess", t);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.limit, "requests_per_minute");
  EXPECT_EQ(v.limit_value, 6);
  EXPECT_EQ(v.retry_after_s, 10);  // one request every 10 s
  EXPECT_NE(v.message.find("6 requests per minute"), std::string::npos) << v.message;
  EXPECT_NE(v.message.find("retry in 10 s"), std::string::npos) << v.message;
  // A refused request does not use anything up.
  EXPECT_FALSE(rl.admit("sess", t + 9 * kSec).allowed);
  EXPECT_TRUE(rl.admit("sess", t + 10 * kSec).allowed);
  EXPECT_FALSE(rl.admit("sess", t + 10 * kSec).allowed);
  // Another key has its own bucket.
  EXPECT_TRUE(rl.admit("other", t).allowed);
  // A full minute later the burst is back, but not more than the limit.
  int64_t later = t + 300 * kSec;
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(rl.admit("sess", later).allowed) << i;
  EXPECT_FALSE(rl.admit("sess", later).allowed);
}

TEST(LlmRateLimiter, TokensAreChargedAfterTheFactAndTheDebtIsPaidByTime) {
  LlmRateLimiter rl({0, /*tokens_per_minute=*/6000});  // 100 tokens per second
  int64_t t = 0;
  EXPECT_TRUE(rl.admit("s", t).allowed);
  rl.charge_tokens("s", 5000, t);
  EXPECT_TRUE(rl.admit("s", t).allowed);  // 1000 left
  rl.charge_tokens("s", 3000, t);         // 2000 in debt
  auto v = rl.admit("s", t);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.limit, "tokens_per_minute");
  EXPECT_EQ(v.retry_after_s, 21);  // (2000 + 1) / 100 per second, rounded up
  EXPECT_FALSE(rl.admit("s", t + 20 * kSec).allowed);
  EXPECT_TRUE(rl.admit("s", t + 21 * kSec).allowed);
  rl.charge_tokens("s", -50, t);  // nonsense is ignored
  rl.charge_tokens("s", 0, t);
}

TEST(LlmRateLimiter, BothLimitsTogether) {
  LlmRateLimiter rl({2, 1000});
  EXPECT_TRUE(rl.admit("k", 0).allowed);
  rl.charge_tokens("k", 2000, 0);
  auto v = rl.admit("k", 0);
  EXPECT_FALSE(v.allowed);
  EXPECT_EQ(v.limit, "tokens_per_minute");
  // Token debt paid after 61 s; the request bucket refilled meanwhile.
  EXPECT_TRUE(rl.admit("k", 61 * kSec).allowed);
  EXPECT_TRUE(rl.admit("k", 61 * kSec).allowed);
  EXPECT_EQ(rl.admit("k", 61 * kSec).limit, "requests_per_minute");
}

TEST(LlmRateLimiter, IdleKeysAreForgotten) {
  LlmRateLimiter rl({1000000, 0});
  for (int i = 0; i < 1000; ++i) rl.admit("key" + std::to_string(i), 0);
  EXPECT_EQ(rl.tracked_keys(), 1000u);
  for (int i = 0; i < 1100; ++i) rl.admit("fresh", 120 * kSec);
  EXPECT_EQ(rl.tracked_keys(), 1u);
}

TEST(LlmRateLimiter, TooManyRequestsResponseInEachApiShape) {
  LlmRateLimiter rl({1, 0});
  rl.admit("s", 0);
  auto v = rl.admit("s", 0);
  ASSERT_FALSE(v.allowed);
  for (auto api : {llm_provider::Api::kOpenAi, llm_provider::Api::kAnthropic}) {
    std::string resp = LlmRateLimiter::too_many_requests(api, v);
    ASSERT_EQ(resp.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0), 0u);
    EXPECT_NE(resp.find("\r\nRetry-After: 60\r\n"), std::string::npos) << resp;
    EXPECT_NE(resp.find("\r\nContent-Type: application/json\r\n"), std::string::npos);
    size_t split = resp.find("\r\n\r\n");
    ASSERT_NE(split, std::string::npos);
    std::string body = resp.substr(split + 4);
    EXPECT_NE(resp.find("Content-Length: " + std::to_string(body.size()) + "\r\n"),
              std::string::npos);
    auto j = nlohmann::json::parse(body);
    if (api == llm_provider::Api::kAnthropic) {
      EXPECT_EQ(j["type"], "error");
      EXPECT_EQ(j["error"]["type"], "rate_limit_error");
      EXPECT_EQ(j["error"]["message"], v.message);
    } else {
      EXPECT_EQ(j["error"]["code"], "rate_limit_exceeded");
      EXPECT_EQ(j["error"]["message"], v.message);
    }
  }
}

}  // namespace
}  // namespace agentsh::proxy
