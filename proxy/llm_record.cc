#include "proxy/llm_record.h"

#include <nlohmann/json.hpp>

namespace agentsh::proxy {

std::string LlmRecord::to_json() const {
  using nlohmann::json;
  auto num_or_null = [](int64_t v) { return v < 0 ? json(nullptr) : json(v); };
  json calls = json::array();
  for (const LlmToolCall& t : tool_calls)
    calls.push_back(
        {{"id", t.id}, {"name", t.name}, {"type", t.type}, {"argument_bytes", t.argument_bytes}});
  json j = {
      {"provider", provider},
      {"api", api},
      {"endpoint", endpoint},
      {"method", method},
      {"path", path},
      {"model", model},
      {"response_model", response_model},
      {"stream", stream},
      {"messages", messages},
      {"tools", tools},
      {"max_tokens", num_or_null(max_tokens)},
      {"status", http_status},
      {"input_tokens", num_or_null(input_tokens)},
      {"output_tokens", num_or_null(output_tokens)},
      {"cache_read_tokens", num_or_null(cache_read_tokens)},
      {"cache_write_tokens", num_or_null(cache_write_tokens)},
      {"tool_calls", calls},
      {"stop_reason", stop_reason},
      {"response_id", response_id},
      {"error", error},
      {"ttfb_ms", num_or_null(ttfb_ms)},
      {"total_ms", num_or_null(total_ms)},
      {"request_bytes", request_bytes},
      {"forwarded_request_bytes", forwarded_request_bytes},
      {"response_bytes", response_bytes},
      {"redactions", redactions},
      {"response_redactions", response_redactions},
      {"request_json_valid", request_json_valid},
      {"prompt_excerpt", prompt_excerpt},
      {"complete", complete},
  };
  // Invalid UTF-8 (a provider's garbled error text) must not make dump() throw.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

AuditEvent LlmRecord::to_audit_event(bool rate_limited) const {
  AuditEvent e;
  e.type = "llm";
  e.operation = endpoint;
  e.target = provider + (model.empty() ? "" : " " + model);
  e.decision = e.effective = rate_limited ? "deny" : "allow";
  if (rate_limited) e.rule = "rate_limit";
  e.message = to_json();
  e.source = "proxy";
  return e;
}

}  // namespace agentsh::proxy
