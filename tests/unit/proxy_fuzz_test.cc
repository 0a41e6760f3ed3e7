// Randomised robustness of the proxy's parsers: 100,000 inputs per parser, half pure
// noise, half mutations (bit flips, truncation, splicing, length-field damage) of valid
// messages. The parsers must never crash, never read out of bounds (run under ASan to
// see it), and keep their output invariants. Deterministic seed: failures reproduce.
#include <gtest/gtest.h>

#include <random>

#include "proxy/client_hello.h"
#include "proxy/dns_message.h"
#include "proxy/http_body_framer.h"
#include "proxy/http_head.h"
#include "proxy/ip_literal.h"
#include "proxy/transparent_protocol.h"
#include "tests/unit/proxy_tls_testdata.h"

namespace agentsh::proxy {
namespace {

constexpr int kIterations = 100000;

class Mutator {
 public:
  explicit Mutator(uint32_t seed) : rng_(seed) {}
  size_t below(size_t n) { return n ? std::uniform_int_distribution<size_t>(0, n - 1)(rng_) : 0; }
  std::string noise(size_t max_len) {
    std::string s(below(max_len + 1), '\0');
    for (auto& c : s) c = static_cast<char>(below(256));
    return s;
  }
  std::string mutate(std::string s) {
    const int ops = 1 + static_cast<int>(below(4));
    for (int i = 0; i < ops && !s.empty(); ++i) {
      switch (below(6)) {
        case 0:
          s[below(s.size())] ^= static_cast<char>(1 << below(8));
          break;  // bit flip
        case 1:
          s.resize(below(s.size() + 1));
          break;  // truncate
        case 2:
          s[below(s.size())] = static_cast<char>(below(256));
          break;  // byte
        case 3:
          s.insert(below(s.size() + 1), noise(16));
          break;   // insert
        case 4: {  // damage a likely length field: set two bytes to extremes
          size_t at = below(s.size());
          s[at] = static_cast<char>(below(2) ? 0xff : 0x00);
          if (at + 1 < s.size()) s[at + 1] = static_cast<char>(below(256));
          break;
        }
        case 5: {  // duplicate a slice
          size_t a = below(s.size()), n = below(s.size() - a + 1);
          s.insert(below(s.size() + 1), s.substr(a, n));
          break;
        }
      }
    }
    return s;
  }

 private:
  std::mt19937 rng_;
};

TEST(ProxyFuzz, ClientHello) {
  Mutator m(1234);
  const std::string seeds[] = {testdata::openssl_client_hello(),
                               testdata::client_hello_with_sni("a.example", 7),
                               testdata::client_hello({}, 16384, false)};
  int ok = 0;
  for (int i = 0; i < kIterations; ++i) {
    std::string in = (i & 1) ? m.mutate(seeds[i % 3]) : "\x16\x03\x01" + m.noise(300);
    client_hello::Info info;
    std::string err;
    auto st = client_hello::parse(in, &info, &err);
    if (st == client_hello::Status::kOk) {
      ++ok;
      ASSERT_LE(info.record_bytes, in.size());
      if (info.has_sni) {
        ASSERT_FALSE(info.sni.empty());
      }
      std::string out;
      if (client_hello::rewrite_sni(in, "rewritten.example", &out, &err)) {
        client_hello::Info again;
        ASSERT_EQ(client_hello::parse(out, &again, &err), client_hello::Status::kOk) << err;
        ASSERT_EQ(again.sni, "rewritten.example");
      }
    } else if (st == client_hello::Status::kMalformed) {
      ASSERT_FALSE(err.empty());
    }
  }
  EXPECT_GT(ok, 100);  // the mutations do keep some hellos valid
}

TEST(ProxyFuzz, HttpRequestHeadAndBody) {
  Mutator m(99);
  const std::string seeds[] = {
      "GET http://a.example/x HTTP/1.1\r\nHost: a.example\r\nX: y\r\n\r\n",
      "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n",
      "POST http://a.example/ HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
      "4\r\nWiki\r\n5;e=1\r\npedia\r\n0\r\nT: x\r\n\r\n",
      "POST http://a.example/ HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc",
  };
  http_head::Limits limits;
  limits.max_bytes = 4096;
  for (int i = 0; i < kIterations; ++i) {
    std::string in = (i & 1) ? m.mutate(seeds[i % 4]) : m.noise(200);
    HttpHead head;
    size_t consumed = 0, scan = 0;
    int status = 0;
    std::string err;
    auto st = http_head::parse_request(in, limits, &scan, &head, &consumed, &status, &err);
    if (st == http_head::Status::kOk) {
      ASSERT_LE(consumed, in.size());
      http_head::BodyKind kind;
      uint64_t len = 0;
      if (http_head::request_body(head, &kind, &len, &err)) {
        HttpBodyFramer f;
        f.reset(kind, len);
        std::string_view rest = std::string_view(in).substr(consumed);
        size_t n = f.consume(rest);
        ASSERT_LE(n, rest.size());
      }
      std::string_view h;
      uint16_t port;
      ip_literal::Host host;
      if (ip_literal::split_host_port(head.target, 80, &h, &port, &err)) {
        ip_literal::normalize_host(h, &host, &err);
      }
    } else if (st == http_head::Status::kError) {
      ASSERT_TRUE(status == 400 || status == 431 || status == 505) << status;
    }
    // Response side too.
    scan = 0;
    http_head::parse_response(in, limits, &scan, &head, &consumed, &err);
  }
}

TEST(ProxyFuzz, ChunkedFramerFedInPieces) {
  Mutator m(7);
  const std::string body = "4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n";
  for (int i = 0; i < kIterations; ++i) {
    std::string in = (i & 1) ? m.mutate(body) : m.noise(64);
    HttpBodyFramer f;
    f.reset(http_head::BodyKind::kChunked, 0);
    size_t pos = 0, total = 0;
    while (pos < in.size() && !f.done() && !f.failed()) {
      size_t step = 1 + m.below(8);
      std::string_view piece = std::string_view(in).substr(pos, step);
      size_t n = f.consume(piece);
      ASSERT_LE(n, piece.size());
      total += n;
      pos += n;
      if (n < piece.size()) break;
    }
    ASSERT_LE(total, in.size());
  }
}

TEST(ProxyFuzz, DnsPackets) {
  Mutator m(4242);
  const std::string q = dns_message::build_query(0x1234, "www.example.com", dns_message::kTypeA);
  dns_message::Query parsed;
  std::string err;
  ASSERT_EQ(dns_message::parse_query(q, &parsed, &err), dns_message::ParseResult::kOk);
  const std::string r = dns_message::make_response(
      q, parsed, 0, {{dns_message::kTypeA, 60, std::string("\x01\x02\x03\x04", 4)}});
  for (int i = 0; i < kIterations; ++i) {
    std::string in = (i % 3 == 0) ? m.noise(120) : m.mutate(i % 3 == 1 ? q : r);
    dns_message::Query qq;
    if (dns_message::parse_query(in, &qq, &err) == dns_message::ParseResult::kOk) {
      ASSERT_LE(qq.question_end, in.size());
      std::string resp = dns_message::make_response(in, qq, dns_message::kNxDomain, {});
      dns_message::Response back;
      ASSERT_TRUE(dns_message::parse_response(resp, &back, &err)) << err;
      ASSERT_EQ(back.question.name, qq.question.name);
    }
    dns_message::Response rr;
    if (dns_message::parse_response(in, &rr, &err)) {
      for (const auto& rec : rr.answers) ASSERT_LE(rec.rdata.size(), in.size());
    }
  }
}

TEST(ProxyFuzz, TransparentHeaderAndHosts) {
  Mutator m(5);
  uint8_t hdr[transparent_protocol::kHeaderSize];
  IpAddress a = IpAddress::v4(0x7f000001);
  transparent_protocol::encode(a, 443, 1, "a.example", hdr);
  const std::string valid(reinterpret_cast<char*>(hdr), sizeof(hdr));
  for (int i = 0; i < kIterations; ++i) {
    std::string in = m.mutate(valid);
    transparent_protocol::Header h;
    std::string err;
    if (transparent_protocol::decode(in, &h, &err)) {
      ASSERT_NE(h.port, 0);
      ASSERT_LE(h.domain.size(), transparent_protocol::kMaxDomain);
    }
    ip_literal::Host host;
    std::string noise = m.noise(40);
    if (ip_literal::normalize_host(noise, &host, &err) && !host.is_ip()) {
      for (char c : host.text) ASSERT_TRUE(c == '.' || c == '-' || c == '_' || isalnum(c));
    }
  }
}

}  // namespace
}  // namespace agentsh::proxy
