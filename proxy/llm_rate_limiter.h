// LlmRateLimiter: token buckets for proxy.rate_limits, per key (a session, an agent, a
// provider — the caller chooses):
//   proxy:
//     rate_limits:
//       requests_per_minute: 60     # 0 or absent: unlimited
//       tokens_per_minute: 100000   # input + output tokens, charged after the response
// Requests: a bucket of `requests_per_minute` that refills continuously; each admitted
// request takes one. Tokens: usage is only known after the response, so it is charged
// then (charge_tokens) and may drive the bucket below zero; while it is below zero new
// requests are refused until the refill has paid the debt. A refusal says which limit,
// how long to wait, and comes with a ready 429 response in the provider's error shape.
// Idle keys are forgotten. Time is the caller's (monotonic microseconds).
// Thread-safety: all methods lock; share one limiter between connections.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "proxy/llm_provider.h"

namespace agentsh::proxy {

struct LlmRateLimits {
  double requests_per_minute = 0;  // 0 = unlimited
  double tokens_per_minute = 0;    // 0 = unlimited
  bool enabled() const { return requests_per_minute > 0 || tokens_per_minute > 0; }
};

class LlmRateLimiter {
 public:
  struct Verdict {
    bool allowed = true;
    std::string limit;          // "requests_per_minute" | "tokens_per_minute" when refused
    double limit_value = 0;     // the configured limit that refused it
    int64_t retry_after_s = 0;  // whole seconds until a retry can succeed (≥ 1)
    std::string message;        // one line for people: what, how much, when to retry
  };

  explicit LlmRateLimiter(LlmRateLimits limits) : limits_(limits) {}

  // Admits (and counts) one request for `key`, or refuses it.
  Verdict admit(const std::string& key, int64_t now_us);
  // Charges the tokens a completed exchange used (input + output; negative ignored).
  void charge_tokens(const std::string& key, int64_t tokens, int64_t now_us);

  size_t tracked_keys() const;
  const LlmRateLimits& limits() const { return limits_; }

  // A complete HTTP/1.1 429 response for a refusal: Retry-After, JSON body in the
  // API's error shape (OpenAI {"error":{…,"code":"rate_limit_exceeded"}}, Anthropic
  // {"type":"error","error":{"type":"rate_limit_error",…}}) so SDKs back off and retry.
  static std::string too_many_requests(llm_provider::Api api, const Verdict& v);

 private:
  struct Bucket {
    double requests = 0, tokens = 0;
    int64_t last_us = 0;
  };
  void refill(Bucket* b, int64_t now_us) const;
  void prune(int64_t now_us);

  LlmRateLimits limits_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
  uint64_t calls_ = 0;
};

}  // namespace agentsh::proxy
