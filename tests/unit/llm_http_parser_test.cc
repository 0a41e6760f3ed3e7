// LlmHttpResponseParser and LlmSseParser: framing (Content-Length, chunked, close),
// interim responses, keep-alive, malformed input, byte-at-a-time delivery; SSE line
// endings, comments, multi-line data, limits.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "proxy/llm_http_response_parser.h"
#include "proxy/llm_sse_parser.h"

namespace agentsh::proxy {
namespace {

struct Collect : LlmHttpResponseParser::Handler {
  int status = 0;
  std::string reason;
  LlmHttpResponseParser::Headers headers;
  std::string body;
  int completes = 0;
  std::vector<size_t> piece_sizes;
  void on_head(int s, const std::string& r, const LlmHttpResponseParser::Headers& h) override {
    status = s;
    reason = r;
    headers = h;
  }
  void on_body(std::string_view d) override {
    body.append(d);
    piece_sizes.push_back(d.size());
  }
  void on_complete() override { ++completes; }
};

// Feeds `wire` in pieces of the given size (0 = all at once); returns bytes consumed.
size_t feed_in_pieces(LlmHttpResponseParser& p, const std::string& wire, size_t piece) {
  size_t used = 0;
  if (piece == 0) return p.feed(wire);
  for (size_t i = 0; i < wire.size() && !p.done() && !p.failed(); i += piece)
    used += p.feed(std::string_view(wire).substr(i, piece));
  return used;
}

TEST(LlmHttpParser, ContentLengthInAnyPieces) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n"
      "X-Request-Id:  req_1 \r\n\r\n{\"ok\": true }";
  for (size_t piece : {0, 1, 2, 3, 7, 50}) {
    Collect c;
    LlmHttpResponseParser p(&c);
    EXPECT_EQ(feed_in_pieces(p, wire, piece), wire.size()) << piece;
    EXPECT_TRUE(p.done()) << piece;
    EXPECT_EQ(c.status, 200);
    EXPECT_EQ(c.reason, "OK");
    EXPECT_EQ(c.body, "{\"ok\": true }");
    EXPECT_EQ(c.completes, 1);
    EXPECT_EQ(LlmHttpResponseParser::header(c.headers, "x-request-id"), "req_1");
    EXPECT_EQ(LlmHttpResponseParser::header(c.headers, "content-type"), "application/json");
    EXPECT_EQ(p.body_bytes(), 13u);
    EXPECT_EQ(p.wire_bytes(), wire.size());
  }
}

TEST(LlmHttpParser, ChunkedWithExtensionsAndTrailersDeliveredAsItArrives) {
  const std::string wire =
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 999\r\n\r\n"
      "5;name=value\r\nhello\r\n"
      "1A \r\n abcdefghijklmnopqrstuvwxy\r\n"
      "0\r\nX-Trailer: t\r\n\r\n";
  for (size_t piece : {0, 1, 4, 9}) {
    Collect c;
    LlmHttpResponseParser p(&c);
    EXPECT_EQ(feed_in_pieces(p, wire, piece), wire.size());
    EXPECT_TRUE(p.done()) << p.error();
    EXPECT_TRUE(p.chunked());
    EXPECT_EQ(c.body, "hello abcdefghijklmnopqrstuvwxy");
  }
  // Body arrives piece by piece: nothing waits for the end of the message.
  Collect c;
  LlmHttpResponseParser p(&c);
  p.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123");
  EXPECT_EQ(c.body, "0123");
  EXPECT_FALSE(p.done());
  p.feed("456789abcdef\r\n");
  EXPECT_EQ(c.body, "0123456789abcdef");
}

TEST(LlmHttpParser, LfOnlyLineEndsAreAccepted) {
  Collect c;
  LlmHttpResponseParser p(&c);
  p.feed("HTTP/1.1 201 Created\nContent-Length: 2\n\nhi");
  EXPECT_TRUE(p.done());
  EXPECT_EQ(c.status, 201);
  EXPECT_EQ(c.body, "hi");
}

TEST(LlmHttpParser, KeepAliveLeavesTheNextResponseUnconsumed) {
  std::string first = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
  std::string second = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
  Collect c;
  LlmHttpResponseParser p(&c);
  std::string both = first + second;
  size_t used = p.feed(both);
  EXPECT_EQ(used, first.size());
  EXPECT_TRUE(p.done());
  p.reset();
  Collect c2;
  LlmHttpResponseParser p2(&c2);
  EXPECT_EQ(p2.feed(std::string_view(both).substr(used)), second.size());
  EXPECT_EQ(c2.status, 404);
  EXPECT_TRUE(p2.done());
}

TEST(LlmHttpParser, InterimResponsesAreSkippedAndBodylessStatusesComplete) {
  Collect c;
  LlmHttpResponseParser p(&c);
  p.feed(
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nz");
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(c.body, "z");
  EXPECT_TRUE(LlmHttpResponseParser::header(c.headers, "link").empty());

  for (int status : {204, 304}) {
    Collect d;
    LlmHttpResponseParser q(&d);
    q.feed("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Length: 10\r\n\r\n");
    EXPECT_TRUE(q.done()) << status;
    EXPECT_TRUE(d.body.empty());
  }
  Collect h;
  LlmHttpResponseParser head(&h, /*head_request=*/true);
  head.feed("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
  EXPECT_TRUE(head.done());
}

TEST(LlmHttpParser, BodyUntilCloseEndsAtFinish) {
  Collect c;
  LlmHttpResponseParser p(&c);
  p.feed("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nsome ");
  p.feed("data");
  EXPECT_FALSE(p.done());
  p.finish();
  EXPECT_TRUE(p.done());
  EXPECT_EQ(c.body, "some data");
  EXPECT_EQ(c.completes, 1);
}

TEST(LlmHttpParser, TruncationIsReportedWithCounts) {
  Collect c;
  LlmHttpResponseParser p(&c);
  p.feed("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n");
  p.feed(std::string(100, 'x'));
  p.finish();
  EXPECT_TRUE(p.failed());
  EXPECT_NE(p.error().find("after 100 of 500 body bytes"), std::string::npos) << p.error();
  EXPECT_EQ(c.completes, 0);

  Collect d;
  LlmHttpResponseParser q(&d);
  q.finish();
  EXPECT_NE(q.error().find("without a response"), std::string::npos) << q.error();

  Collect e;
  LlmHttpResponseParser r(&e);
  r.feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
  r.finish();
  EXPECT_NE(r.error().find("chunked"), std::string::npos) << r.error();
}

TEST(LlmHttpParser, MalformedInputStopsWithAReason) {
  struct Case {
    std::string wire, why;
  };
  std::vector<Case> cases = {
      {"HTTX/1.1 200 OK\r\n\r\n", "bad status line"},
      {"HTTP/1.1 2x0 OK\r\n\r\n", "bad status line"},
      {"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "conflicting"},
      {"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"},
      {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n", "longer than its"},
      {"HTTP/1.1 200 OK\r\n folded\r\n\r\n", "folded"},
      {"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "bad header name"},
      {"HTTP/1.1 200 OK\r\nX-Big: " + std::string(70000, 'a'), "8 KiB"},
  };
  for (const Case& k : cases) {
    Collect c;
    LlmHttpResponseParser p(&c);
    p.feed(k.wire);
    EXPECT_TRUE(p.failed()) << k.wire.substr(0, 60);
    EXPECT_NE(p.error().find(k.why), std::string::npos) << p.error();
    EXPECT_NE(p.error().find("malformed upstream response"), std::string::npos);
    // A failed parser takes nothing more.
    EXPECT_EQ(p.feed("HTTP/1.1 200 OK\r\n\r\n"), 0u);
  }
  std::string many = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 3000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  Collect c;
  LlmHttpResponseParser p(&c);
  p.feed(many);
  EXPECT_TRUE(p.failed());
}

// ---- SSE ---------------------------------------------------------------------------

std::vector<LlmSseParser::Event> sse(const std::vector<std::string>& pieces,
                                     LlmSseParser* parser = nullptr) {
  LlmSseParser local;
  LlmSseParser& p = parser ? *parser : local;
  std::vector<LlmSseParser::Event> out;
  for (const auto& piece : pieces)
    p.feed(piece, [&](const LlmSseParser::Event& e) { out.push_back(e); });
  return out;
}

TEST(LlmSse, EventsFieldsAndLineEndings) {
  std::string stream =
      "\xEF\xBB\xBF: keep-alive comment\r\n\r\n"
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
      "data: line one\ndata: line two\nid: 7\n\n"
      "event: ping\rdata:no-space\r\r"
      "data\n\n"            // a field without a colon: empty data
      "event: no_data\n\n"  // no data: not dispatched
      "data: [DONE]\n\n";
  // Whole, byte by byte, and in random pieces: the same events.
  std::mt19937 rng(3);
  for (int mode = 0; mode < 3; ++mode) {
    std::vector<std::string> pieces;
    if (mode == 0) pieces = {stream};
    if (mode == 1)
      for (char ch : stream) pieces.emplace_back(1, ch);
    if (mode == 2)
      for (size_t i = 0; i < stream.size();) {
        size_t n = 1 + rng() % 9;
        pieces.push_back(stream.substr(i, n));
        i += n;
      }
    auto ev = sse(pieces);
    ASSERT_EQ(ev.size(), 5u) << mode;
    EXPECT_EQ(ev[0].type, "message_start");
    EXPECT_EQ(ev[0].data, "{\"a\":1}");
    EXPECT_EQ(ev[1].type, "");
    EXPECT_EQ(ev[1].data, "line one\nline two");
    EXPECT_EQ(ev[1].id, "7");
    EXPECT_EQ(ev[2].type, "ping");
    EXPECT_EQ(ev[2].data, "no-space");
    EXPECT_EQ(ev[3].data, "");
    EXPECT_EQ(ev[4].data, "[DONE]");
  }
}

TEST(LlmSse, CrLfSplitAcrossPiecesIsOneLineEnd) {
  auto ev = sse({"data: a\r", "\n", "\r", "\n"});
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "a");
}

TEST(LlmSse, UnterminatedEventAtEndIsCountedNotDelivered) {
  LlmSseParser p;
  auto ev = sse({"data: complete\n\ndata: partial"}, &p);
  p.finish();
  EXPECT_EQ(ev.size(), 1u);
  EXPECT_EQ(p.truncated_events(), 1u);
  EXPECT_EQ(p.events(), 1u);
}

TEST(LlmSse, OversizedEventIsDroppedAndTheStreamContinues) {
  LlmSseParser p;
  std::string big(LlmSseParser::kMaxEventBytes / 4, 'x');
  std::vector<std::string> pieces;
  for (int i = 0; i < 5; ++i) pieces.push_back("data: " + big + "\n");
  pieces.push_back("\n");
  pieces.push_back("data: after\n\n");
  auto ev = sse(pieces, &p);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].data, "after");
  EXPECT_EQ(p.dropped_events(), 1u);
}

}  // namespace
}  // namespace agentsh::proxy
