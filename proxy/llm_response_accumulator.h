// LlmResponseAccumulator: reads an LLM provider's response as the HTTP parser delivers
// it and fills the response half of an LlmRecord: status, model, id, token usage, tool
// calls, stop reason, errors, body size.
//   JSON responses are buffered (up to kMaxJsonBytes) and read at the end.
//   text/event-stream responses are read event by event as they arrive, so nothing but
//   the current event is held: OpenAI chat chunks (usage from the final chunk when
//   stream_options.include_usage was set), OpenAI Responses events, Anthropic
//   message_start / content_block_* / message_delta (cumulative output tokens) / error.
// Encoded bodies (Content-Encoding: gzip, …) are not decoded: the record says so.
// Thread-safety: one per exchange.
#pragma once

#include <map>
#include <string>

#include "proxy/llm_http_response_parser.h"
#include "proxy/llm_json.h"
#include "proxy/llm_provider.h"
#include "proxy/llm_record.h"
#include "proxy/llm_sse_parser.h"

namespace agentsh::proxy {

class LlmResponseAccumulator : public LlmHttpResponseParser::Handler {
 public:
  static constexpr size_t kMaxJsonBytes = 32 << 20;

  // Writes into `*record`, which must outlive the accumulator.
  LlmResponseAccumulator(llm_provider::Api api, LlmRecord* record) : api_(api), rec_(record) {}

  void on_head(int status, const std::string& reason,
               const LlmHttpResponseParser::Headers& headers) override;
  void on_body(std::string_view data) override;
  void on_complete() override;
  // Upstream went away (or the parser failed) before on_complete().
  void on_truncated(const std::string& why);

  bool is_stream() const { return sse_; }

 private:
  void on_event(const LlmSseParser::Event& ev);
  void apply_openai(const llm_json::Json& j);
  void apply_openai_chat_chunk(const llm_json::Json& j);
  void apply_openai_responses_event(const std::string& type, const llm_json::Json& j);
  void apply_openai_response_object(const llm_json::Json& r);
  void apply_anthropic(const llm_json::Json& j);
  void apply_usage(const llm_json::Json& u);
  void apply_error(const llm_json::Json& j);
  void finish_tool_calls();
  void note(const std::string& problem);

  llm_provider::Api api_;
  LlmRecord* rec_;
  bool sse_ = false, skip_ = false, json_too_big_ = false;
  std::string content_type_;
  std::string json_;
  LlmSseParser sse_parser_;
  // Tool calls being assembled from stream deltas, keyed by their position.
  std::map<std::string, LlmToolCall> calls_;
  std::vector<std::string> call_order_;
  LlmToolCall& call(const std::string& key);
};

}  // namespace agentsh::proxy
