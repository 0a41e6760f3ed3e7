// LlmExchange end to end on recorded-style fixtures: OpenAI chat (plain and streamed
// with include_usage), OpenAI Responses (streamed), Anthropic messages (plain and
// streamed), provider errors, truncated and malformed upstream responses; request
// redaction and the prompt excerpt; provider routing; request parsing.
#include "proxy/llm_exchange.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "proxy/llm_request_info.h"

namespace agentsh::proxy {
namespace {

using nlohmann::json;

const DlpScanner* scanner() {
  static const std::unique_ptr<DlpScanner> kScanner = [] {
    std::string err;
    auto s = DlpScanner::create(DlpOptions{}, &err);
    EXPECT_NE(s, nullptr) << err;
    return s;
  }();
  return kScanner.get();
}

const std::map<std::string, std::string> kProviders = {{"openai", "https://api.openai.com"},
                                                       {"anthropic", "https://api.anthropic.com"}};

llm_provider::Route route(const std::string& host, const std::string& path) {
  auto r = llm_provider::match(kProviders, host, 443, true, path);
  EXPECT_TRUE(r.has_value()) << host << path;
  return r.value_or(llm_provider::Route{});
}

// Chunked transfer coding with deliberately awkward chunk sizes (cutting events and
// UTF-8 sequences anywhere).
std::string chunked(const std::string& body, unsigned seed) {
  std::mt19937 rng(seed);
  std::string out;
  for (size_t i = 0; i < body.size();) {
    size_t n = std::min(body.size() - i, size_t(1 + rng() % 97));
    char hex[16];
    snprintf(hex, sizeof hex, "%zx", n);
    out += std::string(hex) + "\r\n" + body.substr(i, n) + "\r\n";
    i += n;
  }
  return out + "0\r\n\r\n";
}

// Delivers `wire` to the exchange in random pieces, advancing a fake clock.
void deliver(LlmExchange& ex, const std::string& wire, int64_t* now, unsigned seed) {
  std::mt19937 rng(seed);
  for (size_t i = 0; i < wire.size();) {
    size_t n = std::min(wire.size() - i, size_t(1 + rng() % 300));
    *now += 1000;
    ex.on_response_bytes(std::string_view(wire).substr(i, n), *now);
    i += n;
  }
}

// ---- fixtures --------------------------------------------------------------------------

const char* kOpenAiChatRequest = R"({
  "model": "gpt-4o",
  "messages": [
    {"role": "system", "content": "You are a coding agent."},
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": null, "tool_calls": [{"id": "call_0", "type": "function",
      "function": {"name": "get_weather", "arguments": "{\"location\":\"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "18C, cloudy"},
    {"role": "user", "content": [{"type": "text", "text": "Deploy with key AKIAIOSFODNN7EXAMPLE and mail ops@example.com"},
                                 {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]}
  ],
  "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "run_shell", "parameters": {"type": "object"}}}],
  "max_completion_tokens": 1024,
  "temperature": 0.2
})";

const char* kOpenAiChatResponseBody =
    R"({"id":"chatcmpl-A1b2C3","object":"chat.completion","created":1715000000,)"
    R"("model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":null,"tool_calls":[{"id":"call_abc123","type":"function","function":)"
    R"({"name":"run_shell","arguments":"{\"cmd\":\"kubectl apply -f deploy.yaml\"}"}}],)"
    R"("refusal":null},"logprobs":null,"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":)"
    R"(1843,"completion_tokens":27,"total_tokens":1870,"prompt_tokens_details":{"cached_tokens":)"
    R"(1536,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}},)"
    R"("system_fingerprint":"fp_7c5a3d1b2e"})";

std::string openai_chat_stream_body() {
  std::string b;
  auto chunk = [&](const std::string& choices, const std::string& usage = "null") {
    b += "data: {\"id\":\"chatcmpl-S7r3am\",\"object\":\"chat.completion.chunk\",\"created\":"
         "1715000001,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":\"fp_1\","
         "\"choices\":" +
         choices + ",\"usage\":" + usage + "}\n\n";
  };
  chunk(
      R"([{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"finish_reason":null}])");
  chunk(R"([{"index":0,"delta":{"content":"Let me check \u00e9t\u00e9 "},"finish_reason":null}])");
  chunk(
      R"([{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_X1","type":"function","function":{"name":"read_file","arguments":""}}]},"finish_reason":null}])");
  chunk(
      R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]},"finish_reason":null}])");
  chunk(
      R"([{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"README.md\"}"}}]},"finish_reason":null}])");
  chunk(
      R"([{"index":0,"delta":{"tool_calls":[{"index":1,"id":"call_X2","type":"function","function":{"name":"list_dir","arguments":"{}"}}]},"finish_reason":null}])");
  chunk(R"([{"index":0,"delta":{},"finish_reason":"tool_calls"}])");
  chunk(
      "[]",
      R"({"prompt_tokens":2210,"completion_tokens":58,"total_tokens":2268,"prompt_tokens_details":{"cached_tokens":2048,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0}})");
  b += "data: [DONE]\n\n";
  return b;
}

const char* kAnthropicRequest = R"({
  "model": "claude-sonnet-4-20250514",
  "max_tokens": 4096,
  "system": [{"type": "text", "text": "You are Claude Code."}],
  "stream": true,
  "tools": [{"name": "Bash", "input_schema": {"type": "object"}}, {"name": "Read", "input_schema": {"type": "object"}},
            {"name": "Edit", "input_schema": {"type": "object"}}],
  "messages": [
    {"role": "user", "content": "fix the failing test"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "make test"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01", "content": "FAIL: test_login"},
                                 {"type": "text", "text": "my SSN is 078-05-1120, card 4111 1111 1111 1111"}]}
  ]
})";

std::string anthropic_stream_body() {
  return R"(event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":472,"cache_creation_input_tokens":0,"cache_read_input_tokens":3120,"output_tokens":2}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll run the tests."}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: content_block_start
data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01T1x1fJ34qAmk2tNTrN7Up6","name":"Bash","input":{}}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"command\": \"pytest -x"}}

event: content_block_delta
data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":" tests/\"}"}}

event: content_block_stop
data: {"type":"content_block_stop","index":1}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":89}}

event: message_stop
data: {"type":"message_stop"}

)";
}

const char* kAnthropicMessageBody =
    R"({"id":"msg_013Zva2CMHLNnXjNJJKqJ2EF","type":"message","role":"assistant","model":)"
    R"("claude-3-5-haiku-20241022","content":[{"type":"text","text":"Sure."},{"type":"tool_use",)"
    R"("id":"toolu_9","name":"Read","input":{"file_path":"/src/main.cc"}}],"stop_reason":)"
    R"("tool_use","stop_sequence":null,"usage":{"input_tokens":1200,"cache_creation_input_tokens":)"
    R"(512,"cache_read_input_tokens":0,"output_tokens":41}})";

std::string responses_stream_body() {
  return R"(event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","created_at":1741476542,"status":"in_progress","model":"gpt-4.1-2025-04-14","output":[],"usage":null}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":1,"output_index":0,"item":{"type":"function_call","id":"fc_12345xyz","call_id":"call_12345xyz","name":"get_weather","arguments":""}}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":2,"item_id":"fc_12345xyz","output_index":0,"delta":"{\"location\":"}

event: response.function_call_arguments.delta
data: {"type":"response.function_call_arguments.delta","sequence_number":3,"item_id":"fc_12345xyz","output_index":0,"delta":"\"Paris\"}"}

event: response.output_item.done
data: {"type":"response.output_item.done","sequence_number":4,"output_index":0,"item":{"type":"function_call","id":"fc_12345xyz","call_id":"call_12345xyz","name":"get_weather","arguments":"{\"location\":\"Paris\"}","status":"completed"}}

event: response.completed
data: {"type":"response.completed","sequence_number":5,"response":{"id":"resp_67ccd2bed1ec8190","object":"response","status":"completed","model":"gpt-4.1-2025-04-14","output":[{"type":"function_call","id":"fc_12345xyz","call_id":"call_12345xyz","name":"get_weather","arguments":"{\"location\":\"Paris\"}","status":"completed"}],"usage":{"input_tokens":291,"input_tokens_details":{"cached_tokens":0},"output_tokens":23,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":314}}}

)";
}

std::string http(int status, const std::string& ctype, const std::string& body, bool chunk,
                 unsigned seed = 1) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + ctype + "\r\n" +
                  "Date: Mon, 06 May 2024 10:00:00 GMT\r\nx-request-id: req_42\r\n";
  if (chunk) return h + "Transfer-Encoding: chunked\r\n\r\n" + chunked(body, seed);
  return h + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// ---- tests -----------------------------------------------------------------------------

TEST(LlmExchange, OpenAiChatPlain) {
  int64_t now = 1'000'000;
  LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                  kOpenAiChatRequest, now},
                 scanner());
  const LlmRecord& req = ex.record();
  EXPECT_EQ(req.provider, "openai");
  EXPECT_EQ(req.endpoint, "chat.completions");
  EXPECT_EQ(req.model, "gpt-4o");
  EXPECT_FALSE(req.stream);
  EXPECT_EQ(req.messages, 5);
  EXPECT_EQ(req.tools, 2);
  EXPECT_EQ(req.max_tokens, 1024);
  // The request body: secrets gone, still JSON, nothing else changed.
  EXPECT_TRUE(ex.body_changed());
  json fwd = json::parse(ex.forward_body());
  EXPECT_EQ(fwd["messages"][4]["content"][0]["text"],
            "Deploy with key [REDACTED:AWS_KEY] and mail [REDACTED:EMAIL]");
  json orig = json::parse(kOpenAiChatRequest);
  fwd["messages"][4]["content"][0]["text"] = orig["messages"][4]["content"][0]["text"];
  EXPECT_EQ(fwd, orig);
  EXPECT_EQ(req.redactions.at("aws_access_key"), 1);
  EXPECT_EQ(req.redactions.at("email"), 1);
  EXPECT_EQ(req.prompt_excerpt, "Deploy with key [REDACTED:AWS_KEY] and mail [REDACTED:EMAIL]");
  EXPECT_EQ(req.forwarded_request_bytes, ex.forward_body().size());

  deliver(ex, http(200, "application/json", kOpenAiChatResponseBody, false), &now, 5);
  EXPECT_TRUE(ex.response_done());
  LlmRecord r = ex.finish(now);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.response_model, "gpt-4o-2024-08-06");
  EXPECT_EQ(r.response_id, "chatcmpl-A1b2C3");
  EXPECT_EQ(r.input_tokens, 1843);
  EXPECT_EQ(r.output_tokens, 27);
  EXPECT_EQ(r.cache_read_tokens, 1536);
  EXPECT_EQ(r.stop_reason, "tool_calls");
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].name, "run_shell");
  EXPECT_EQ(r.tool_calls[0].id, "call_abc123");
  EXPECT_EQ(r.tool_calls[0].argument_bytes, strlen("{\"cmd\":\"kubectl apply -f deploy.yaml\"}"));
  EXPECT_EQ(r.response_bytes, strlen(kOpenAiChatResponseBody));
  EXPECT_EQ(r.ttfb_ms, 1);
  EXPECT_GT(r.total_ms, r.ttfb_ms);
  EXPECT_TRUE(r.error.empty()) << r.error;
  // The audit form.
  AuditEvent e = r.to_audit_event();
  EXPECT_EQ(e.type, "llm");
  EXPECT_EQ(e.operation, "chat.completions");
  EXPECT_EQ(e.target, "openai gpt-4o");
  json m = json::parse(e.message);
  EXPECT_EQ(m["input_tokens"], 1843);
  EXPECT_EQ(m["tool_calls"][0]["name"], "run_shell");
  EXPECT_EQ(m["redactions"]["email"], 1);
}

TEST(LlmExchange, OpenAiChatStreamedChunkedWithUsage) {
  std::string req_body =
      R"({"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},
    "messages":[{"role":"user","content":"read the README"}]})";
  for (unsigned seed = 1; seed <= 5; ++seed) {
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    req_body, now},
                   scanner());
    EXPECT_TRUE(ex.record().stream);
    EXPECT_FALSE(ex.body_changed());
    std::string body = openai_chat_stream_body();
    deliver(ex, http(200, "text/event-stream; charset=utf-8", body, true, seed), &now, seed);
    LlmRecord r = ex.finish(now);
    EXPECT_TRUE(r.complete) << r.error;
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.input_tokens, 2210);
    EXPECT_EQ(r.output_tokens, 58);
    EXPECT_EQ(r.cache_read_tokens, 2048);
    EXPECT_EQ(r.response_model, "gpt-4o-mini-2024-07-18");
    EXPECT_EQ(r.stop_reason, "tool_calls");
    ASSERT_EQ(r.tool_calls.size(), 2u);
    EXPECT_EQ(r.tool_calls[0].id, "call_X1");
    EXPECT_EQ(r.tool_calls[0].name, "read_file");
    EXPECT_EQ(r.tool_calls[0].argument_bytes, strlen("{\"path\":\"README.md\"}"));
    EXPECT_EQ(r.tool_calls[1].name, "list_dir");
    EXPECT_EQ(r.response_bytes, body.size());
    EXPECT_EQ(r.prompt_excerpt, "read the README");
  }
}

TEST(LlmExchange, OpenAiStreamWithoutIncludeUsageReportsUnknownTokens) {
  std::string body =
      "data: {\"id\":\"c\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
      "\"hi\"},\"finish_reason\":null}]}\n\ndata: {\"id\":\"c\",\"choices\":[{\"index\":0,"
      "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n";
  int64_t now = 0;
  LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                  R"({"model":"gpt-4o","stream":true,"messages":[]})", now},
                 scanner());
  deliver(ex, http(200, "text/event-stream", body, true), &now, 9);
  LlmRecord r = ex.finish(now);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.input_tokens, -1);
  EXPECT_EQ(r.output_tokens, -1);
  EXPECT_EQ(r.stop_reason, "stop");
  EXPECT_EQ(json::parse(r.to_json())["input_tokens"], nullptr);
}

TEST(LlmExchange, OpenAiResponsesStreamed) {
  int64_t now = 0;
  LlmExchange ex({route("api.openai.com", "/v1/responses"), "POST", "/v1/responses",
                  R"({"model":"gpt-4.1","stream":true,"input":"What's the weather in Paris?",
                      "tools":[{"type":"function","name":"get_weather"}]})",
                  now},
                 scanner());
  EXPECT_EQ(ex.record().endpoint, "responses");
  EXPECT_EQ(ex.record().messages, 1);
  EXPECT_EQ(ex.record().tools, 1);
  EXPECT_EQ(ex.record().prompt_excerpt, "What's the weather in Paris?");
  deliver(ex, http(200, "text/event-stream", responses_stream_body(), true, 4), &now, 4);
  LlmRecord r = ex.finish(now);
  EXPECT_TRUE(r.complete) << r.error;
  EXPECT_EQ(r.input_tokens, 291);
  EXPECT_EQ(r.output_tokens, 23);
  EXPECT_EQ(r.cache_read_tokens, 0);
  EXPECT_EQ(r.response_model, "gpt-4.1-2025-04-14");
  EXPECT_EQ(r.response_id, "resp_67ccd2bed1ec8190");
  EXPECT_EQ(r.stop_reason, "completed");
  ASSERT_EQ(r.tool_calls.size(), 1u);  // added + done + completed: one call
  EXPECT_EQ(r.tool_calls[0].id, "call_12345xyz");
  EXPECT_EQ(r.tool_calls[0].name, "get_weather");
  EXPECT_EQ(r.tool_calls[0].argument_bytes, strlen("{\"location\":\"Paris\"}"));
}

TEST(LlmExchange, AnthropicStreamed) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    int64_t now = 0;
    LlmExchange ex({route("api.anthropic.com", "/v1/messages"), "POST", "/v1/messages",
                    kAnthropicRequest, now},
                   scanner());
    const LlmRecord& q = ex.record();
    EXPECT_EQ(q.provider, "anthropic");
    EXPECT_EQ(q.api, "anthropic");
    EXPECT_EQ(q.endpoint, "messages");
    EXPECT_EQ(q.model, "claude-sonnet-4-20250514");
    EXPECT_TRUE(q.stream);
    EXPECT_EQ(q.messages, 3);
    EXPECT_EQ(q.tools, 3);
    EXPECT_EQ(q.max_tokens, 4096);
    EXPECT_EQ(q.prompt_excerpt, "my SSN is [REDACTED:SSN], card [REDACTED:CREDIT_CARD]");
    EXPECT_EQ(q.redactions.at("ssn"), 1);
    EXPECT_EQ(q.redactions.at("credit_card_spaced"), 1);
    std::string body = anthropic_stream_body();
    deliver(ex, http(200, "text/event-stream; charset=utf-8", body, true, seed), &now, seed);
    LlmRecord r = ex.finish(now);
    EXPECT_TRUE(r.complete) << r.error;
    EXPECT_TRUE(r.error.empty()) << r.error;
    EXPECT_EQ(r.input_tokens, 472);
    EXPECT_EQ(r.output_tokens, 89);  // message_delta's cumulative count, not message_start's 2
    EXPECT_EQ(r.cache_read_tokens, 3120);
    EXPECT_EQ(r.cache_write_tokens, 0);
    EXPECT_EQ(r.response_id, "msg_01XFDUDYJgAACzvnptvVoYEL");
    EXPECT_EQ(r.stop_reason, "tool_use");
    ASSERT_EQ(r.tool_calls.size(), 1u);
    EXPECT_EQ(r.tool_calls[0].name, "Bash");
    EXPECT_EQ(r.tool_calls[0].type, "tool_use");
    EXPECT_EQ(r.tool_calls[0].id, "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    EXPECT_EQ(r.tool_calls[0].argument_bytes, strlen("{\"command\": \"pytest -x tests/\"}"));
  }
}

TEST(LlmExchange, AnthropicPlainMessage) {
  int64_t now = 0;
  LlmExchange ex({route("api.anthropic.com", "/v1/messages"), "POST", "/v1/messages",
                  R"({"model":"claude-3-5-haiku-latest","max_tokens":100,
                      "messages":[{"role":"user","content":"open main.cc"}]})",
                  now},
                 scanner());
  deliver(ex, http(200, "application/json", kAnthropicMessageBody, false), &now, 2);
  LlmRecord r = ex.finish(now);
  EXPECT_EQ(r.model, "claude-3-5-haiku-latest");
  EXPECT_EQ(r.response_model, "claude-3-5-haiku-20241022");
  EXPECT_EQ(r.input_tokens, 1200);
  EXPECT_EQ(r.output_tokens, 41);
  EXPECT_EQ(r.cache_write_tokens, 512);
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].name, "Read");
  EXPECT_EQ(r.tool_calls[0].argument_bytes, strlen(R"({"file_path":"/src/main.cc"})"));
}

TEST(LlmExchange, ProviderErrorsAreRecorded) {
  {
    int64_t now = 0;
    LlmExchange ex({route("api.anthropic.com", "/v1/messages"), "POST", "/v1/messages", "{}", now},
                   scanner());
    deliver(ex,
            http(529, "application/json",
                 R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})",
                 false),
            &now, 1);
    LlmRecord r = ex.finish(now);
    EXPECT_EQ(r.http_status, 529);
    EXPECT_EQ(r.error, "overloaded_error: Overloaded");
    EXPECT_TRUE(r.complete);
  }
  {
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    R"({"model":"gpt-4o","messages":[]})", now},
                   scanner());
    deliver(
        ex,
        http(
            401, "application/json",
            R"({"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}})",
            false),
        &now, 1);
    LlmRecord r = ex.finish(now);
    EXPECT_EQ(r.http_status, 401);
    EXPECT_EQ(r.error, "invalid_request_error: Incorrect API key provided.");
  }
  {
    // An error event in the middle of an Anthropic stream.
    std::string body =
        "event: message_start\ndata: "
        "{\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"model\":"
        "\"claude\",\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n\nevent: error\ndata: "
        "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}"
        "\n\n";
    int64_t now = 0;
    LlmExchange ex({route("api.anthropic.com", "/v1/messages"), "POST", "/v1/messages", "{}", now},
                   scanner());
    deliver(ex, http(200, "text/event-stream", body, true), &now, 3);
    LlmRecord r = ex.finish(now);
    EXPECT_EQ(r.input_tokens, 10);
    EXPECT_EQ(r.error, "overloaded_error: Overloaded");
  }
  {
    // A gateway's HTML error page.
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    "{}", now},
                   scanner());
    deliver(ex, http(502, "text/html", "<html><title>502 Bad Gateway</title></html>", false), &now,
            1);
    LlmRecord r = ex.finish(now);
    EXPECT_EQ(r.http_status, 502);
    EXPECT_NE(r.error.find("HTTP 502, body is not JSON: <html><title>502 Bad Gateway"),
              std::string::npos)
        << r.error;
  }
}

TEST(LlmExchange, TruncatedStreamKeepsWhatWasSeen) {
  std::string body = anthropic_stream_body();
  std::string wire = http(200, "text/event-stream", body, true, 7);
  // Cut in the middle of the tool-call deltas; the upstream then closes.
  size_t cut = wire.find("partial_json\":\"{") + 5;
  int64_t now = 0;
  LlmExchange ex(
      {route("api.anthropic.com", "/v1/messages"), "POST", "/v1/messages", kAnthropicRequest, now},
      scanner());
  deliver(ex, wire.substr(0, cut), &now, 7);
  EXPECT_FALSE(ex.response_done());
  ex.on_response_eof(now);
  EXPECT_TRUE(ex.response_done());
  LlmRecord r = ex.finish(now);
  EXPECT_FALSE(r.complete);
  EXPECT_NE(r.error.find("upstream closed the connection inside the chunked body"),
            std::string::npos)
      << r.error;
  EXPECT_EQ(r.input_tokens, 472);  // from message_start
  EXPECT_EQ(r.output_tokens, 2);
  ASSERT_EQ(r.tool_calls.size(), 1u);
  EXPECT_EQ(r.tool_calls[0].name, "Bash");
}

TEST(LlmExchange, TruncatedAndMalformedPlainResponses) {
  {
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    "{}", now},
                   scanner());
    std::string wire = http(200, "application/json", kOpenAiChatResponseBody, false);
    deliver(ex, wire.substr(0, wire.size() - 40), &now, 1);
    ex.on_response_eof(now);
    LlmRecord r = ex.finish(now);
    EXPECT_FALSE(r.complete);
    EXPECT_NE(r.error.find("body bytes"), std::string::npos) << r.error;
    EXPECT_EQ(r.input_tokens, -1);  // the usage never arrived whole
  }
  {
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    "{}", now},
                   scanner());
    ex.on_response_bytes("HTTP/1.1 OK 200\r\n\r\n", ++now);
    EXPECT_TRUE(ex.response_done());
    LlmRecord r = ex.finish(now);
    EXPECT_NE(r.error.find("malformed upstream response: bad status line"), std::string::npos)
        << r.error;
  }
  {
    // Body cut short but framed as complete: JSON does not parse.
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    "{}", now},
                   scanner());
    deliver(ex, http(200, "application/json", "{\"id\":\"x\",\"usage\":{\"prompt_tok", false), &now,
            1);
    LlmRecord r = ex.finish(now);
    EXPECT_TRUE(r.complete);
    EXPECT_NE(r.error.find("not JSON"), std::string::npos) << r.error;
  }
  {
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    "{}", now},
                   scanner());
    LlmRecord r = ex.finish(now + 5000);
    EXPECT_FALSE(r.complete);
    EXPECT_EQ(r.error, "no response from upstream");
    EXPECT_EQ(r.total_ms, 5);
    EXPECT_EQ(r.ttfb_ms, -1);
  }
  {
    // A coding we cannot decode (brotli): said, not misread. (gzip is decoded: see
    // llm_response_rewriter_test.cc.)
    int64_t now = 0;
    LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                    "{}", now},
                   scanner());
    ex.on_response_bytes(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: br\r\n"
        "Content-Length: 4\r\n\r\nabcd",
        1000);
    LlmRecord r = ex.finish(2000);
    EXPECT_NE(r.error.find("br-encoded"), std::string::npos) << r.error;
  }
}

TEST(LlmExchange, KeepAliveResponseLeavesTheNextOneAlone) {
  int64_t now = 0;
  LlmExchange ex({route("api.anthropic.com", "/v1/messages"), "POST", "/v1/messages", "{}", now},
                 scanner());
  std::string first = http(200, "application/json", kAnthropicMessageBody, false);
  std::string both = first + "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(ex.on_response_bytes(both, 10), first.size());
  EXPECT_TRUE(ex.response_done());
}

TEST(LlmExchange, ExcerptIsRedactedCollapsedAndBounded) {
  EXPECT_EQ(LlmExchange::excerpt(scanner(), "  hello\n\n  world\t "), "hello world");
  std::string long_text;
  for (int i = 0; i < 100; ++i) long_text += "\xC3\xA9t\xC3\xA9 ";  // "été "
  std::string e = LlmExchange::excerpt(scanner(), long_text);
  size_t chars = 0;
  for (unsigned char c : e) chars += (c & 0xC0) != 0x80;
  EXPECT_EQ(chars, 200u);
  EXPECT_EQ(e.substr(e.size() - 3), "\xE2\x80\xA6");  // ends with an ellipsis
  EXPECT_EQ(e.substr(0, 9), "\xC3\xA9t\xC3\xA9 \xC3\xA9t");
  // A secret at the cut: redacted before the cut, never half-visible.
  std::string secretive = std::string(190, 'a') + " AKIAIOSFODNN7EXAMPLE";
  std::string s = LlmExchange::excerpt(scanner(), secretive);
  EXPECT_EQ(s.find("AKIA"), std::string::npos);
  EXPECT_NE(s.find(" [REDACTE\xE2\x80\xA6"), std::string::npos) << s;  // the placeholder was cut
  EXPECT_EQ(LlmExchange::excerpt(nullptr, "AKIAIOSFODNN7EXAMPLE"), "AKIAIOSFODNN7EXAMPLE");
}

TEST(LlmExchange, NonJsonRequestBodyIsRedactedAsText) {
  LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                  "key=AKIAIOSFODNN7EXAMPLE", 0},
                 scanner());
  EXPECT_FALSE(ex.record().request_json_valid);
  EXPECT_EQ(ex.forward_body(), "key=[REDACTED:AWS_KEY]");
}

TEST(LlmExchange, RefusedRequestRecord) {
  LlmExchange ex({route("api.openai.com", "/v1/chat/completions"), "POST", "/v1/chat/completions",
                  R"({"model":"gpt-4o","messages":[]})", 0},
                 scanner());
  LlmRecord r = ex.finish_refused(429, "rate limit", 3000);
  EXPECT_EQ(r.http_status, 429);
  EXPECT_EQ(r.error, "rate limit");
  AuditEvent e = r.to_audit_event(true);
  EXPECT_EQ(e.decision, "deny");
  EXPECT_EQ(e.rule, "rate_limit");
}

TEST(LlmProvider, MatchingAndEndpoints) {
  std::map<std::string, std::string> p = {{"openai", "https://api.openai.com"},
                                          {"anthropic", "https://llm.corp.example/anthropic/"},
                                          {"litellm", "http://litellm:8000"}};
  auto r = llm_provider::match(p, "API.OpenAI.com.", 443, true, "/v1/chat/completions?x=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->provider, "openai");
  EXPECT_EQ(r->endpoint, "chat.completions");
  EXPECT_EQ(r->path, "/v1/chat/completions");
  EXPECT_FALSE(llm_provider::match(p, "api.openai.com", 80, false, "/v1/chat/completions"));
  EXPECT_FALSE(llm_provider::match(p, "api.openai.com", 8443, true, "/v1/chat/completions"));
  r = llm_provider::match(p, "llm.corp.example", 443, true, "/anthropic/v1/messages");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->provider, "anthropic");
  EXPECT_EQ(r->api, llm_provider::Api::kAnthropic);
  EXPECT_EQ(r->path, "/v1/messages");
  EXPECT_FALSE(llm_provider::match(p, "llm.corp.example", 443, true, "/anthropicx/v1/messages"));
  EXPECT_FALSE(llm_provider::match(p, "llm.corp.example", 443, true, "/v1/messages"));
  r = llm_provider::match(p, "litellm", 8000, false, "/v1/messages");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->api, llm_provider::Api::kAnthropic);  // guessed from the path
  r = llm_provider::match(p, "litellm", 8000, false, "/chat/completions");
  EXPECT_EQ(r->api, llm_provider::Api::kOpenAi);
  EXPECT_EQ(llm_provider::endpoint_for(llm_provider::Api::kAnthropic, "/v1/messages/count_tokens"),
            "messages.count_tokens");
  EXPECT_EQ(llm_provider::endpoint_for(llm_provider::Api::kOpenAi, "/v1/embeddings"), "embeddings");
  EXPECT_EQ(llm_provider::endpoint_for(llm_provider::Api::kOpenAi, "/v1/files/abc"),
            "/v1/files/abc");
  EXPECT_FALSE(llm_provider::parse_base_url("ftp://x"));
  EXPECT_FALSE(llm_provider::parse_base_url("https://host:99999"));
  auto b = llm_provider::parse_base_url("https://[::1]:8443/gw");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 8443);
  EXPECT_EQ(b->path, "/gw");
}

TEST(LlmRequestInfo, ShapesOfBothApis) {
  auto a = llm_request_info::parse("messages", kAnthropicRequest);
  EXPECT_TRUE(a.json);
  EXPECT_EQ(a.last_user_text, "my SSN is 078-05-1120, card 4111 1111 1111 1111");  // unredacted
  auto e = llm_request_info::parse(
      "embeddings", R"({"model":"text-embedding-3-small","input":["first text","second"]})");
  EXPECT_EQ(e.messages, 2);
  EXPECT_EQ(e.last_user_text, "first text");
  auto r = llm_request_info::parse(
      "responses",
      R"({"model":"o3","input":[{"role":"user","content":[{"type":"input_text","text":"hi there"}]},
                                {"type":"function_call_output","call_id":"c","output":"x"}],
          "max_output_tokens":50})");
  EXPECT_EQ(r.messages, 2);
  EXPECT_EQ(r.last_user_text, "hi there");
  EXPECT_EQ(r.max_tokens, 50);
  auto c = llm_request_info::parse("completions",
                                   R"({"model":"gpt-3.5-turbo-instruct","prompt":"Say hi"})");
  EXPECT_EQ(c.last_user_text, "Say hi");
  // Wrong types do not throw; they are just not read.
  auto w = llm_request_info::parse(
      "chat.completions", R"({"model":7,"stream":"yes","messages":{"role":"user"},"tools":3})");
  EXPECT_TRUE(w.json);
  EXPECT_EQ(w.model, "");
  EXPECT_FALSE(w.stream);
  EXPECT_EQ(w.messages, 0);
  EXPECT_EQ(w.tools, 0);
  EXPECT_FALSE(llm_request_info::parse("messages", "not json").json);
  EXPECT_FALSE(llm_request_info::parse("messages", "[1,2]").json);
}

}  // namespace
}  // namespace agentsh::proxy
