#include <gtest/gtest.h>

#include "proxy/http_body_framer.h"
#include "proxy/http_head.h"

namespace agentsh::proxy {
namespace {

using http_head::BodyKind;
using http_head::Status;

struct Req {
  Status st;
  HttpHead head;
  size_t consumed = 0;
  int http_status = 0;
  std::string err;
};

Req req(std::string_view data, http_head::Limits limits = {}) {
  Req r;
  size_t scan = 0;
  r.st =
      http_head::parse_request(data, limits, &scan, &r.head, &r.consumed, &r.http_status, &r.err);
  return r;
}

TEST(ProxyHttpHead, ConnectLine) {
  Req r =
      req("CONNECT registry.npm.example:443 HTTP/1.1\r\nHost: registry.npm.example:443\r\n"
          "User-Agent: curl/8\r\n\r\nTLSBYTES");
  ASSERT_EQ(r.st, Status::kOk) << r.err;
  EXPECT_EQ(r.head.method, "CONNECT");
  EXPECT_EQ(r.head.target, "registry.npm.example:443");
  EXPECT_EQ(r.head.minor_version, 1);
  ASSERT_NE(r.head.find("user-agent"), nullptr);
  EXPECT_EQ(*r.head.find("USER-AGENT"), "curl/8");
  EXPECT_EQ(r.consumed, r.consumed);
  EXPECT_EQ(std::string_view("CONNECT registry.npm.example:443 HTTP/1.1\r\nHost: "
                             "registry.npm.example:443\r\nUser-Agent: curl/8\r\n\r\n")
                .size(),
            r.consumed);
}

TEST(ProxyHttpHead, AbsoluteGetBareLfAndLeadingBlankLine) {
  Req r = req("\r\nGET http://a.example/x HTTP/1.0\nHost: a.example\nX-Empty:\n\n");
  ASSERT_EQ(r.st, Status::kOk) << r.err;
  EXPECT_EQ(r.head.method, "GET");
  EXPECT_EQ(r.head.target, "http://a.example/x");
  EXPECT_EQ(r.head.minor_version, 0);
  ASSERT_NE(r.head.find("x-empty"), nullptr);
  EXPECT_EQ(*r.head.find("x-empty"), "");
  EXPECT_FALSE(r.head.keep_alive());
}

TEST(ProxyHttpHead, IncompleteNeedsMore) {
  std::string full = "GET http://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n";
  for (size_t n = 0; n < full.size(); ++n) {
    Req r = req(full.substr(0, n));
    ASSERT_EQ(r.st, Status::kNeedMore) << n << ": " << r.err;
  }
  // The scan hint gives the same answer as a fresh scan.
  size_t scan = 0, consumed = 0;
  int hs = 0;
  HttpHead h;
  std::string err;
  for (size_t n = 1; n <= full.size(); ++n) {
    Status st = http_head::parse_request(std::string_view(full).substr(0, n), {}, &scan, &h,
                                         &consumed, &hs, &err);
    if (n < full.size())
      ASSERT_EQ(st, Status::kNeedMore);
    else
      ASSERT_EQ(st, Status::kOk);
  }
}

TEST(ProxyHttpHead, OneMegabyteHeaderLineIs431) {
  std::string big = "GET http://a.example/ HTTP/1.1\r\nX-Big: " + std::string(1 << 20, 'a');
  Req r = req(big);
  ASSERT_EQ(r.st, Status::kError);
  EXPECT_EQ(r.http_status, 431);
  // And already at the limit, before the whole megabyte has arrived.
  r = req(big.substr(0, 64 * 1024));
  ASSERT_EQ(r.st, Status::kError);
  EXPECT_EQ(r.http_status, 431);
}

TEST(ProxyHttpHead, TooManyHeaders) {
  std::string s = "GET http://a.example/ HTTP/1.1\r\n";
  for (int i = 0; i < 200; ++i) s += "X-H" + std::to_string(i) + ": v\r\n";
  s += "\r\n";
  Req r = req(s);
  ASSERT_EQ(r.st, Status::kError);
  EXPECT_EQ(r.http_status, 431);
}

TEST(ProxyHttpHead, MalformedRequests) {
  struct Case {
    const char* text;
    int status;
  } cases[] = {
      {"GET  http://a/ HTTP/1.1\r\n\r\n", 400},                       // double space
      {"GET http://a/ HTTP/1.1 x\r\n\r\n", 400},                      // extra field
      {"GET http://a/\r\n\r\n", 400},                                 // HTTP/0.9
      {"GET http://a/ HTTP/2.0\r\n\r\n", 505},                        // unsupported version
      {"GET http://a/ FOO/1.1\r\n\r\n", 400},                         // not a version
      {"G(T http://a/ HTTP/1.1\r\n\r\n", 400},                        // bad method
      {"GET http://a/\x01 HTTP/1.1\r\n\r\n", 400},                    // control char in target
      {"GET http://a/ HTTP/1.1\r\nHost : a\r\n\r\n", 400},            // space before colon
      {"GET http://a/ HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400},  // obs-fold
      {"GET http://a/ HTTP/1.1\r\nX: a\rb\r\n\r\n", 400},             // bare CR
      {"GET http://a/ HTTP/1.1\r\nX: a\x01\r\n\r\n", 400},            // control char in value
      {"GET http://a/ HTTP/1.1\r\nNoColon\r\n\r\n", 400},
      {"\x16\x03\x01\x02\x00\x01", 400},  // TLS sent to the proxy port
  };
  for (const auto& c : cases) {
    Req r = req(c.text);
    EXPECT_EQ(r.st, Status::kError) << c.text;
    EXPECT_EQ(r.http_status, c.status) << c.text;
    EXPECT_FALSE(r.err.empty());
  }
}

TEST(ProxyHttpHead, RequestBodyFraming) {
  auto framing = [](const char* text, BodyKind* kind, uint64_t* len) {
    Req r = req(text);
    EXPECT_EQ(r.st, Status::kOk) << r.err;
    std::string err;
    return http_head::request_body(r.head, kind, len, &err);
  };
  BodyKind k;
  uint64_t n = 0;
  ASSERT_TRUE(framing("POST http://a/ HTTP/1.1\r\nContent-Length: 12\r\n\r\n", &k, &n));
  EXPECT_EQ(k, BodyKind::kLength);
  EXPECT_EQ(n, 12u);
  ASSERT_TRUE(framing("POST http://a/ HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", &k, &n));
  EXPECT_EQ(n, 5u);
  ASSERT_TRUE(
      framing("POST http://a/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &k, &n));
  EXPECT_EQ(k, BodyKind::kChunked);
  ASSERT_TRUE(framing("GET http://a/ HTTP/1.1\r\n\r\n", &k, &n));
  EXPECT_EQ(k, BodyKind::kNone);
  // Smuggling shapes are refused.
  EXPECT_FALSE(
      framing("POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: "
              "chunked\r\n\r\n",
              &k, &n));
  EXPECT_FALSE(
      framing("POST http://a/ HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &k, &n));
  EXPECT_FALSE(framing("POST http://a/ HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &k, &n));
  EXPECT_FALSE(
      framing("POST http://a/ HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", &k, &n));
}

TEST(ProxyHttpHead, ResponseHeadAndFraming) {
  HttpHead h;
  size_t scan = 0, consumed = 0;
  std::string err;
  std::string text =
      "HTTP/1.1 302 Found\r\nLocation: http://evil.example/\r\n"
      "Content-Length: 0\r\n\r\n";
  ASSERT_EQ(http_head::parse_response(text, {}, &scan, &h, &consumed, &err), Status::kOk) << err;
  EXPECT_EQ(h.status, 302);
  EXPECT_EQ(h.reason, "Found");
  EXPECT_EQ(consumed, text.size());
  BodyKind k;
  uint64_t n;
  ASSERT_TRUE(http_head::response_body(h, "GET", &k, &n, &err));
  EXPECT_EQ(k, BodyKind::kNone);

  scan = 0;
  ASSERT_EQ(http_head::parse_response("HTTP/1.0 200\r\n\r\n", {}, &scan, &h, &consumed, &err),
            Status::kOk);
  ASSERT_TRUE(http_head::response_body(h, "GET", &k, &n, &err));
  EXPECT_EQ(k, BodyKind::kUntilClose);
  ASSERT_TRUE(http_head::response_body(h, "HEAD", &k, &n, &err));
  EXPECT_EQ(k, BodyKind::kNone);
  scan = 0;
  EXPECT_EQ(http_head::parse_response("HTTP/1.1 2x0 OK\r\n\r\n", {}, &scan, &h, &consumed, &err),
            Status::kError);
  scan = 0;
  EXPECT_EQ(http_head::parse_response("SSH-2.0\r\n\r\n", {}, &scan, &h, &consumed, &err),
            Status::kError);
}

TEST(ProxyHttpBodyFramer, ContentLength) {
  HttpBodyFramer f;
  f.reset(BodyKind::kLength, 10);
  EXPECT_EQ(f.consume("12345"), 5u);
  EXPECT_FALSE(f.done());
  EXPECT_EQ(f.consume("67890NEXT"), 5u);
  EXPECT_TRUE(f.done());
  EXPECT_EQ(f.consume("NEXT"), 0u);
}

TEST(ProxyHttpBodyFramer, ChunkedByteByByte) {
  const std::string body =
      "4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nX-Trailer: t\r\n\r\n";
  HttpBodyFramer f;
  f.reset(BodyKind::kChunked, 0);
  size_t total = 0;
  for (char c : body + "GET") {
    total += f.consume(std::string_view(&c, 1));
    if (f.done()) break;
  }
  EXPECT_TRUE(f.done());
  EXPECT_EQ(total, body.size());
  f.reset(BodyKind::kChunked, 0);
  EXPECT_EQ(f.consume(body + "GET / HTTP/1.1"), body.size());
  EXPECT_TRUE(f.done());
  f.reset(BodyKind::kChunked, 0);
  EXPECT_EQ(f.consume("0\n\n"), 3u);  // bare LF tolerated
  EXPECT_TRUE(f.done());
}

TEST(ProxyHttpBodyFramer, ChunkedErrors) {
  HttpBodyFramer f;
  for (const char* bad :
       {"x\r\n", "4\r\nWikiXX", "4\r\nWiki\r\n0\r\nT: 1\rX", "\r\n", "fffffffffffffffff\r\n"}) {
    f.reset(BodyKind::kChunked, 0);
    f.consume(bad);
    EXPECT_TRUE(f.failed()) << bad;
    EXPECT_FALSE(f.error().empty());
  }
  f.reset(BodyKind::kChunked, 0);
  f.consume("1;" + std::string(5000, 'e'));
  EXPECT_TRUE(f.failed());
}

}  // namespace
}  // namespace agentsh::proxy
