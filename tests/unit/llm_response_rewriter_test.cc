// Responses redacted before the agent sees them (LlmResponseRewriter through
// LlmExchange): JSON bodies (string values only, Content-Length right), SSE streams
// (per event, a secret split across reads inside one event, released event by event),
// gzip bodies decoded, binary and disabled-DLP responses byte for byte, truncation
// visible to the agent, usage unchanged. The agent's bytes are parsed back with a
// second LlmHttpResponseParser, so framing mistakes fail the tests.
#include "proxy/llm_response_rewriter.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <nlohmann/json.hpp>
#include <random>

#include "proxy/dlp_options.h"
#include "proxy/llm_exchange.h"

namespace agentsh::proxy {
namespace {

const DlpScanner* scanner() {
  static const std::unique_ptr<DlpScanner> kScanner = [] {
    std::string err;
    auto s = DlpScanner::create(DlpOptions{}, &err);
    EXPECT_NE(s, nullptr) << err;
    return s;
  }();
  return kScanner.get();
}

const char* kKey = "AKIAIOSFODNN7EXAMPLE";

LlmExchange::Request request(bool stream, const std::string& host = "api.openai.com",
                             const std::string& path = "/v1/chat/completions") {
  static const std::map<std::string, std::string> providers = {
      {"openai", "https://api.openai.com"}, {"anthropic", "https://api.anthropic.com"}};
  LlmExchange::Request rq;
  rq.route = llm_provider::match(providers, host, 443, true, path).value();
  rq.method = "POST";
  rq.path = path;
  rq.body = std::string(R"({"model":"gpt-4o","stream":)") + (stream ? "true" : "false") +
            R"(,"messages":[{"role":"user","content":"hi"}]})";
  return rq;
}

// What a client makes of the agent-side bytes: status, headers, de-chunked body.
struct Parsed : LlmHttpResponseParser::Handler {
  int status = 0;
  LlmHttpResponseParser::Headers headers;
  std::string body;
  bool complete = false;
  void on_head(int s, const std::string&, const LlmHttpResponseParser::Headers& h) override {
    status = s;
    headers = h;
  }
  void on_body(std::string_view d) override { body.append(d); }
  void on_complete() override { complete = true; }
};

// Feeds `wire` in random pieces (1..max bytes), collecting what the agent gets.
std::string relay(LlmExchange& ex, const std::string& wire, unsigned seed, size_t max = 300,
                  std::vector<std::string>* pieces = nullptr) {
  std::mt19937 rng(seed);
  std::string agent;
  int64_t now = 0;
  for (size_t i = 0; i < wire.size();) {
    size_t n = std::min(wire.size() - i, size_t(1 + rng() % max));
    size_t used = ex.on_response_bytes(std::string_view(wire).substr(i, n), now += 1000);
    EXPECT_EQ(used, n);
    std::string out = ex.take_agent_bytes();
    if (pieces) pieces->push_back(out);
    agent += out;
    i += n;
  }
  return agent;
}

Parsed parse(const std::string& agent) {
  Parsed p;
  LlmHttpResponseParser parser(&p);
  size_t used = parser.feed(agent);
  EXPECT_EQ(used, agent.size());
  EXPECT_FALSE(parser.failed()) << parser.error();
  return p;
}

std::string chunk(const std::string& s) {
  char hex[16];
  snprintf(hex, sizeof hex, "%zx", s.size());
  return std::string(hex) + "\r\n" + s + "\r\n";
}

std::string gzip(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

const std::string kJson =
    std::string(R"({"id":"c1","model":"gpt-4o","choices":[{"index":0,"message":{"role":)") +
    R"("assistant","content":"the key is )" + kKey +
    R"( and mail bob@example.com"},"finish_reason":"stop"}],)" +
    R"("usage":{"prompt_tokens":11,"completion_tokens":22,"total_tokens":33}})";

TEST(LlmResponseRewriterTest, JsonBodyIsRedactedWithAFreshContentLength) {
  for (unsigned seed = 1; seed <= 5; ++seed) {
    LlmExchange ex(request(false), scanner());
    std::string wire =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: r1\r\n"
        "Content-Length: " +
        std::to_string(kJson.size()) + "\r\n\r\n" + kJson;
    std::string agent = relay(ex, wire, seed);
    ASSERT_TRUE(ex.response_done());
    LlmRecord rec = ex.finish(1'000'000);
    agent += ex.take_agent_bytes();
    EXPECT_EQ(agent.find(kKey), std::string::npos) << agent;
    EXPECT_EQ(agent.find("bob@example.com"), std::string::npos);
    Parsed p = parse(agent);
    ASSERT_TRUE(p.complete) << agent;
    EXPECT_EQ(p.status, 200);
    EXPECT_EQ(LlmHttpResponseParser::header(p.headers, "x-request-id"), "r1");
    EXPECT_EQ(LlmHttpResponseParser::header(p.headers, "content-length"),
              std::to_string(p.body.size()));
    auto j = nlohmann::json::parse(p.body);  // still valid JSON
    EXPECT_EQ(j["choices"][0]["message"]["content"],
              "the key is [REDACTED:AWS_KEY] and mail [REDACTED:EMAIL]");
    EXPECT_EQ(j["usage"]["total_tokens"], 33);
    // Usage from the provider's body, exactly; counts of what was redacted.
    EXPECT_EQ(rec.input_tokens, 11);
    EXPECT_EQ(rec.output_tokens, 22);
    EXPECT_EQ(rec.response_redactions.size(), 2u) << rec.to_json();
    int64_t total = 0;
    for (const auto& [k, v] : rec.response_redactions) total += v;
    EXPECT_EQ(total, 2);
    EXPECT_TRUE(rec.redactions.empty());
    EXPECT_TRUE(rec.complete);
    EXPECT_NE(rec.to_json().find("\"response_redactions\""), std::string::npos);
  }
}

TEST(LlmResponseRewriterTest, CleanJsonBodyIsUnchanged) {
  const std::string body = R"({"id":"c2","usage":{"prompt_tokens":1,"completion_tokens":2}})";
  LlmExchange ex(request(false), scanner());
  std::string agent = relay(ex,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n" +
                                chunk(body.substr(0, 10)) + chunk(body.substr(10)) + "0\r\n\r\n",
                            3);
  Parsed p = parse(agent);
  EXPECT_TRUE(p.complete);
  EXPECT_EQ(p.body, body);
  EXPECT_TRUE(ex.finish(0).response_redactions.empty());
}

std::string openai_events() {
  std::string s;
  // The key arrives inside one event's JSON; the network splits it anywhere.
  s += "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"key ";
  s += kKey;
  s += "\"}}]}\n\n";
  s += ": keep-alive comment\n\n";
  s += "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\" ok\"},"
       "\"finish_reason\":\"stop\"}]}\r\n\r\n";
  s += "data: {\"id\":\"c1\",\"choices\":[],\"usage\":{\"prompt_tokens\":31,"
       "\"completion_tokens\":2,\"total_tokens\":33}}\n\n";
  s += "data: [DONE]\n\n";
  return s;
}

TEST(LlmResponseRewriterTest, SseStreamIsRedactedPerEventAndStaysAStream) {
  for (unsigned seed = 1; seed <= 20; ++seed) {
    const std::string events = openai_events();
    std::string wire =
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
        "Transfer-Encoding: chunked\r\n\r\n";
    std::mt19937 rng(seed);
    for (size_t i = 0; i < events.size();) {  // upstream chunks cut events anywhere
      size_t n = std::min(events.size() - i, size_t(1 + rng() % 13));
      wire += chunk(events.substr(i, n));
      i += n;
    }
    wire += "0\r\n\r\n";
    LlmExchange ex(request(true), scanner());
    std::string agent = relay(ex, wire, seed, 40);
    ASSERT_TRUE(ex.response_done());
    LlmRecord rec = ex.finish(0);
    Parsed p = parse(agent);
    ASSERT_TRUE(p.complete);
    EXPECT_EQ(LlmHttpResponseParser::header(p.headers, "transfer-encoding"), "chunked");
    std::string expect = events;
    expect.replace(expect.find(kKey), strlen(kKey), "[REDACTED:AWS_KEY]");
    EXPECT_EQ(p.body, expect);
    EXPECT_EQ(rec.input_tokens, 31);
    EXPECT_EQ(rec.output_tokens, 2);
    EXPECT_EQ(rec.response_redactions.begin()->second, 1);
  }
}

TEST(LlmResponseRewriterTest, EachEventIsReleasedAsSoonAsItIsComplete) {
  LlmExchange ex(request(true), scanner());
  ex.on_response_bytes(
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n",
      1);
  std::string head = ex.take_agent_bytes();
  EXPECT_NE(head.find("Transfer-Encoding: chunked"), std::string::npos);  // head at once
  ex.on_response_bytes(chunk("data: {\"a\":\"x"), 2);
  EXPECT_EQ(ex.take_agent_bytes(), "");  // event not complete: held
  ex.on_response_bytes(chunk("y\"}\n\ndata: {\"b\""), 3);
  EXPECT_EQ(ex.take_agent_bytes(), chunk("data: {\"a\":\"xy\"}\n\n"));
  ex.on_response_bytes(chunk(":1}\n\n") + "0\r\n\r\n", 4);
  EXPECT_EQ(ex.take_agent_bytes(), chunk("data: {\"b\":1}\n\n") + "0\r\n\r\n");
  EXPECT_TRUE(ex.response_done());
}

TEST(LlmResponseRewriterTest, Http10AgentGetsACloseDelimitedStream) {
  LlmExchange::Request rq = request(true);
  rq.chunked_ok = false;
  LlmExchange ex(std::move(rq), scanner());
  std::string agent =
      relay(ex,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n" +
                chunk("data: {\"a\":\"" + std::string(kKey) + "\"}\n\n") + "0\r\n\r\n",
            3);
  EXPECT_EQ(agent.find("chunked"), std::string::npos) << agent;
  EXPECT_NE(agent.find("Connection: close\r\n"), std::string::npos) << agent;
  EXPECT_TRUE(agent.ends_with("\r\n\r\ndata: {\"a\":\"[REDACTED:AWS_KEY]\"}\n\n")) << agent;
}

TEST(LlmResponseRewriterTest, AnthropicStreamWithContentLengthIsReframedAsChunked) {
  std::string events =
      "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\","
      "\"model\":\"claude\",\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
      "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
      "\"delta\":{\"type\":\"text_delta\",\"text\":\"token ghp_abcdefghijklmnopqrstuvwxyz0123456789"
      "\"}}\n\n"
      "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
      "\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n";
  LlmExchange ex(request(true, "api.anthropic.com", "/v1/messages"), scanner());
  std::string agent = relay(ex,
                            "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
                            "Content-Length: " +
                                std::to_string(events.size()) + "\r\n\r\n" + events,
                            7, 25);
  LlmRecord rec = ex.finish(0);
  Parsed p = parse(agent);
  ASSERT_TRUE(p.complete);
  EXPECT_EQ(p.body.find("ghp_"), std::string::npos) << p.body;
  EXPECT_NE(p.body.find("token [REDACTED:GITHUB_TOKEN]"), std::string::npos) << p.body;
  EXPECT_EQ(rec.input_tokens, 25);
  EXPECT_EQ(rec.output_tokens, 12);
}

TEST(LlmResponseRewriterTest, GzipBodyIsDecodedRedactedAndCounted) {
  const std::string z = gzip(kJson);
  LlmExchange ex(request(false), scanner());
  std::string agent = relay(ex,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Encoding: gzip\r\nContent-Length: " +
                                std::to_string(z.size()) + "\r\n\r\n" + z,
                            9, 17);
  LlmRecord rec = ex.finish(0);
  Parsed p = parse(agent);
  ASSERT_TRUE(p.complete);
  EXPECT_EQ(LlmHttpResponseParser::header(p.headers, "content-encoding"), "");
  auto j = nlohmann::json::parse(p.body);
  EXPECT_EQ(j["choices"][0]["message"]["content"],
            "the key is [REDACTED:AWS_KEY] and mail [REDACTED:EMAIL]");
  EXPECT_EQ(rec.input_tokens, 11);  // usage read from the decoded body
  EXPECT_EQ(rec.output_tokens, 22);
  EXPECT_EQ(rec.error, "");
  EXPECT_TRUE(rec.complete);
}

TEST(LlmResponseRewriterTest, CorruptGzipIsRecordedAndNotComplete) {
  std::string z = gzip(kJson);
  for (size_t i = 20; i < z.size(); ++i) z[i] = char(z[i] ^ 0x5a);
  LlmExchange ex(request(false), scanner());
  relay(ex,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        "Content-Length: " +
            std::to_string(z.size()) + "\r\n\r\n" + z,
        2);
  LlmRecord rec = ex.finish(0);
  EXPECT_FALSE(rec.complete);
  EXPECT_NE(rec.error.find("compressed"), std::string::npos) << rec.error;
}

TEST(LlmResponseRewriterTest, BinaryAndUnknownCodingsPassByteForByte) {
  std::string audio(5000, '\0');
  for (size_t i = 0; i < audio.size(); ++i) audio[i] = char(i * 7);
  audio.replace(100, strlen(kKey), kKey);
  const std::string wire = "HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nContent-Length: " +
                           std::to_string(audio.size()) + "\r\n\r\n" + audio;
  LlmExchange ex(request(false, "api.openai.com", "/v1/audio/speech"), scanner());
  EXPECT_EQ(relay(ex, wire, 4), wire);

  const std::string br =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      "Content-Encoding: br\r\nContent-Length: 4\r\n\r\nabcd";
  LlmExchange ex2(request(false), scanner());
  EXPECT_EQ(relay(ex2, br, 4), br);
}

TEST(LlmResponseRewriterTest, WithoutDlpTheResponseIsRelayedUnchanged) {
  const std::string wire =
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: "
      "application/json\r\nContent-Length: " +
      std::to_string(kJson.size()) + "\r\n\r\n" + kJson;
  LlmExchange ex(request(false), nullptr);
  EXPECT_EQ(relay(ex, wire, 8), wire);
}

TEST(LlmResponseRewriterTest, TruncatedJsonKeepsTheShortBodyVisible) {
  LlmExchange ex(request(false), scanner());
  std::string agent = relay(ex,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Content-Length: 500\r\n\r\n{\"id\":\"x\",\"content\":\"" +
                                std::string(kKey),
                            5);
  ex.on_response_eof(10);
  agent += ex.take_agent_bytes();
  LlmRecord rec = ex.finish(20);
  agent += ex.take_agent_bytes();
  EXPECT_FALSE(rec.complete);
  EXPECT_EQ(agent.find(kKey), std::string::npos) << agent;
  EXPECT_NE(agent.find("Content-Length: 500\r\n"), std::string::npos) << agent;  // short body
  EXPECT_NE(agent.find("[REDACTED:AWS_KEY]"), std::string::npos);
}

TEST(LlmResponseRewriterTest, TruncatedStreamHasNoLastChunk) {
  LlmExchange ex(request(true), scanner());
  std::string agent =
      relay(ex,
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            "\r\n" +
                chunk("data: {\"a\":1}\n\n") + chunk("data: {\"b\":\"" + std::string(kKey)),
            6);
  ex.on_response_eof(10);
  agent += ex.take_agent_bytes();
  EXPECT_FALSE(ex.finish(20).complete);
  agent += ex.take_agent_bytes();
  EXPECT_EQ(agent.find(kKey), std::string::npos);
  EXPECT_EQ(agent.find("0\r\n\r\n"), std::string::npos);
  Parsed p;
  LlmHttpResponseParser parser(&p);
  parser.feed(agent);
  EXPECT_FALSE(p.complete);
  EXPECT_EQ(p.body, "data: {\"a\":1}\n\ndata: {\"b\":\"[REDACTED:AWS_KEY]");
}

TEST(LlmResponseRewriterTest, HeadAndNoContentResponsesPassUnchanged) {
  const std::string wire = "HTTP/1.1 204 No Content\r\nContent-Type: application/json\r\n\r\n";
  LlmExchange ex(request(false), scanner());
  EXPECT_EQ(relay(ex, wire, 1), wire);
  EXPECT_TRUE(ex.response_done());
}

TEST(LlmResponseRewriterTest, ProviderErrorBodyIsRedactedToo) {
  const std::string body = std::string(R"({"error":{"message":"Incorrect API key provided: )") +
                           "sk-proj-abc123def456ghi789jkl012mno345pqr678" +
                           R"(","type":"invalid_request_error"}})";
  LlmExchange ex(request(false), scanner());
  std::string agent = relay(ex,
                            "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                            "Content-Length: " +
                                std::to_string(body.size()) + "\r\n\r\n" + body,
                            2);
  Parsed p = parse(agent);
  EXPECT_EQ(p.status, 401);
  EXPECT_EQ(p.body.find("sk-proj-abc"), std::string::npos) << p.body;
  EXPECT_TRUE(nlohmann::json::parse(p.body, nullptr, false).is_object());
  EXPECT_EQ(ex.finish(0).http_status, 401);
}

}  // namespace
}  // namespace agentsh::proxy
