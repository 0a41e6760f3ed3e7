// What an LLM request body says: model, streaming, message and tool counts, token cap,
// and the text of the last user message (for the audit excerpt). Understands OpenAI
// chat completions, responses, legacy completions and embeddings, and Anthropic
// messages. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agentsh::llm_request_info {

struct Info {
  bool json = false;  // the body parsed as a JSON object
  std::string model;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  int64_t messages = 0, tools = 0;
  int64_t max_tokens = -1;     // max_tokens / max_completion_tokens / max_output_tokens
  std::string last_user_text;  // NOT redacted: the caller redacts before recording
};

// `endpoint` as from llm_provider::endpoint_for ("embeddings" reads `input` as texts).
// The JSON shapes of the two APIs do not collide, so no API argument is needed.
Info parse(std::string_view endpoint, std::string_view body);

}  // namespace agentsh::llm_request_info
