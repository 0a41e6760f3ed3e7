#include "proxy/llm_rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

namespace agentsh::proxy {

namespace {

std::string fmt_number(double v) {
  char buf[32];
  snprintf(buf, sizeof buf, v == std::floor(v) ? "%.0f" : "%.1f", v);
  return buf;
}

}  // namespace

void LlmRateLimiter::refill(Bucket* b, int64_t now_us) const {
  double dt_min = double(std::max<int64_t>(0, now_us - b->last_us)) / 60e6;
  b->last_us = std::max(b->last_us, now_us);
  if (limits_.requests_per_minute > 0)
    b->requests =
        std::min(limits_.requests_per_minute, b->requests + dt_min * limits_.requests_per_minute);
  if (limits_.tokens_per_minute > 0)
    b->tokens = std::min(limits_.tokens_per_minute, b->tokens + dt_min * limits_.tokens_per_minute);
}

void LlmRateLimiter::prune(int64_t now_us) {
  // A bucket idle for over a minute has refilled completely: same as a new one.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    if (now_us - it->second.last_us > 60'000'000)
      it = buckets_.erase(it);
    else
      ++it;
  }
}

LlmRateLimiter::Verdict LlmRateLimiter::admit(const std::string& key, int64_t now_us) {
  Verdict v;
  if (!limits_.enabled()) return v;
  std::lock_guard<std::mutex> lock(mu_);
  if (++calls_ % 1024 == 0) prune(now_us);
  auto [it, fresh] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  if (fresh) {
    b.requests = limits_.requests_per_minute;
    b.tokens = limits_.tokens_per_minute;
    b.last_us = now_us;
  }
  refill(&b, now_us);
  // Refill arithmetic is floating point: "exactly one request's worth" may come out a
  // hair under 1.
  constexpr double kEps = 1e-9;
  double wait_s = 0;
  if (limits_.tokens_per_minute > 0 && b.tokens <= kEps) {
    v.limit = "tokens_per_minute";
    v.limit_value = limits_.tokens_per_minute;
    // Until the bucket is back above zero.
    wait_s = (-b.tokens + 1) / (limits_.tokens_per_minute / 60.0);
  } else if (limits_.requests_per_minute > 0 && b.requests < 1 - kEps) {
    v.limit = "requests_per_minute";
    v.limit_value = limits_.requests_per_minute;
    wait_s = (1 - b.requests) / (limits_.requests_per_minute / 60.0);
  }
  if (v.limit.empty()) {
    if (limits_.requests_per_minute > 0) b.requests -= 1;
    return v;
  }
  v.allowed = false;
  v.retry_after_s = std::max<int64_t>(1, int64_t(std::ceil(wait_s)));
  v.message = "agentsh: LLM rate limit reached: " + fmt_number(v.limit_value) +
              (v.limit == "tokens_per_minute" ? " tokens" : " requests") +
              " per minute (proxy.rate_limits." + v.limit + "); retry in " +
              std::to_string(v.retry_after_s) + " s";
  return v;
}

void LlmRateLimiter::charge_tokens(const std::string& key, int64_t tokens, int64_t now_us) {
  if (limits_.tokens_per_minute <= 0 || tokens <= 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = buckets_.try_emplace(key);
  Bucket& b = it->second;
  if (fresh) {
    b.requests = limits_.requests_per_minute;
    b.tokens = limits_.tokens_per_minute;
    b.last_us = now_us;
  }
  refill(&b, now_us);
  b.tokens -= double(tokens);
}

size_t LlmRateLimiter::tracked_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

std::string LlmRateLimiter::too_many_requests(llm_provider::Api api, const Verdict& v) {
  using nlohmann::json;
  json body;
  if (api == llm_provider::Api::kAnthropic) {
    body = {{"type", "error"}, {"error", {{"type", "rate_limit_error"}, {"message", v.message}}}};
  } else {
    body = {{"error",
             {{"message", v.message},
              {"type", "rate_limit_exceeded"},
              {"param", nullptr},
              {"code", "rate_limit_exceeded"}}}};
  }
  std::string text = body.dump();
  return "HTTP/1.1 429 Too Many Requests\r\n"
         "Content-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(text.size()) +
         "\r\n"
         "Retry-After: " +
         std::to_string(v.retry_after_s) +
         "\r\n"
         "X-Agentsh-Rate-Limit: " +
         v.limit + "\r\n\r\n" + text;
}

}  // namespace agentsh::proxy
