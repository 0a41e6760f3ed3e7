// LlmRecord: what the audit log keeps about one LLM request/response exchange.
// Plain value; to_json() is its stable serialised form (the audit event's message).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "agentsh/audit_event.h"

namespace agentsh::proxy {

struct LlmToolCall {
  std::string id;
  std::string name;
  std::string type;             // "function" (OpenAI), "tool_use" / "server_tool_use" (Anthropic)
  uint64_t argument_bytes = 0;  // size of the arguments; their content is not recorded
};

struct LlmRecord {
  std::string provider;  // proxy.providers key, e.g. "openai"
  std::string api;       // "openai" | "anthropic" | "unknown" (the API shape)
  std::string endpoint;  // "chat.completions", "responses", "messages", …
  std::string method, path;
  std::string model;           // as requested; the response's when the request named none
  std::string response_model;  // as reported by the provider ("" if not seen)
  bool stream = false;
  int64_t messages = 0, tools = 0;
  int64_t max_tokens = -1;
  int http_status = 0;
  int64_t input_tokens = -1, output_tokens = -1;  // -1: not reported
  int64_t cache_read_tokens = -1, cache_write_tokens = -1;
  std::vector<LlmToolCall> tool_calls;
  std::string stop_reason;
  std::string response_id;
  std::string error;  // provider error, transport problem, or parse problem ("" if none)
  int64_t ttfb_ms = -1, total_ms = -1;                 // from the request's start
  uint64_t request_bytes = 0;                          // body as the agent sent it
  uint64_t forwarded_request_bytes = 0;                // body as forwarded (after redaction)
  uint64_t response_bytes = 0;                         // body, after de-chunking
  std::map<std::string, int64_t> redactions;           // detector → count, in the request body
  std::map<std::string, int64_t> response_redactions;  // detector → count, in the response
  bool request_json_valid = true;
  std::string prompt_excerpt;  // last user message, redacted, ≤ 200 characters
  bool complete = false;       // the whole response was seen

  std::string to_json() const;
  // type "llm", operation = endpoint, target = "provider model", decision/effective
  // "allow" (or "deny" with rule "rate_limit" when `rate_limited`), source "proxy",
  // message = to_json().
  AuditEvent to_audit_event(bool rate_limited = false) const;
};

}  // namespace agentsh::proxy
