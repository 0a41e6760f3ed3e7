// DlpStreamRedactor and binary detection: secrets split across chunks, bounded
// carry-over, binary pass-through, flush semantics.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "proxy/dlp_binary.h"
#include "proxy/dlp_scanner.h"
#include "proxy/dlp_stream_redactor.h"

namespace agentsh::proxy {
namespace {

const DlpScanner& scanner() {
  static const std::unique_ptr<DlpScanner> kScanner = [] {
    std::string err;
    auto s = DlpScanner::create(DlpOptions{}, &err);
    EXPECT_NE(s, nullptr) << err;
    return s;
  }();
  return *kScanner;
}

std::string mix(size_t n, unsigned seed = 1) {
  static const char kAlnum[] = "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8cF0";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kAlnum[(i * 7 + seed * 11 + 3) % 30]);
  return s;
}

// Feeds `chunks` and flushes at the end; returns everything released.
std::string stream(DlpStreamRedactor& r, const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += r.feed(c);
  out += r.flush();
  return out;
}

TEST(DlpStream, SecretSplitAtEveryPositionIsStillFound) {
  const std::string text = "log line one\nexport AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\ndone\n";
  const std::string want = scanner().redact(text).text;
  ASSERT_NE(want.find("[REDACTED:AWS_KEY]"), std::string::npos);
  for (size_t cut = 1; cut < text.size(); ++cut) {
    DlpStreamRedactor r(scanner());
    EXPECT_EQ(stream(r, {text.substr(0, cut), text.substr(cut)}), want) << "cut at " << cut;
    EXPECT_EQ(r.finding_count(), 1u);
  }
}

TEST(DlpStream, ByteAtATimeEqualsWholeBuffer) {
  std::string text = "user bob@example.org wrote\n";
  text += "key: sk-proj-" + mix(80) + "\n";
  text += "-----BEGIN RSA PRIVATE KEY-----\n" + mix(64) + "\n" + mix(64) +
          "\n-----END RSA PRIVATE KEY-----\n";
  text += "card 4111 1111 1111 1111 ssn 078-05-1120 phone (415) 555-2671\n";
  std::vector<std::string> bytes;
  for (char c : text) bytes.emplace_back(1, c);
  DlpStreamRedactor r(scanner());
  EXPECT_EQ(stream(r, bytes), scanner().redact(text).text);
  EXPECT_EQ(r.finding_count(), 6u);
}

TEST(DlpStream, RandomChunkingOfALongStreamEqualsWholeBuffer) {
  std::mt19937 rng(42);
  std::string text;
  for (int i = 0; i < 3000; ++i) {
    text += "2024-05-01T12:00:" + std::to_string(i % 60) + " INFO worker=" + std::to_string(i) +
            " path=/api/v1/items/" + std::to_string(i * 7919) + " status=200\n";
    if (i % 97 == 5) text += "token ghp_" + mix(36, unsigned(i)) + " used\n";
    if (i % 131 == 7) text += "mail to ops" + std::to_string(i) + "@corp.example.com\n";
    if (i % 173 == 9) text += "cc=5555555555554444;\n";
  }
  const DlpRedaction whole = scanner().redact(text);
  for (int round = 0; round < 5; ++round) {
    std::vector<std::string> chunks;
    for (size_t pos = 0; pos < text.size();) {
      size_t len = 1 + rng() % (round < 2 ? 64 : 20000);
      chunks.push_back(text.substr(pos, len));
      pos += len;
    }
    DlpStreamRedactor r(scanner());
    EXPECT_EQ(stream(r, chunks), whole.text) << "round " << round;
    ASSERT_EQ(r.findings().size(), whole.findings.size());
    for (size_t i = 0; i < whole.findings.size(); ++i) {
      EXPECT_EQ(r.findings()[i].offset, whole.findings[i].offset);
      EXPECT_EQ(r.findings()[i].length, whole.findings[i].length);
    }
    EXPECT_EQ(r.bytes_in(), text.size());
  }
}

TEST(DlpStream, CarryOverIsBounded) {
  DlpStreamRedactor r(scanner());
  std::string line = "plain output line without anything secret in it at all\n";
  size_t released = 0;
  for (int i = 0; i < 20000; ++i) {
    released += r.feed(line).size();
    ASSERT_LE(r.held_bytes(), 2 * scanner().max_match_length() + line.size());
  }
  EXPECT_GT(released, 20000 * line.size() - 3 * DlpScanner::kMaxMatchBytes);
  released += r.flush().size();
  EXPECT_EQ(released, 20000 * line.size());
  EXPECT_EQ(r.held_bytes(), 0u);
}

TEST(DlpStream, FlushReleasesEverythingAndTheStreamGoesOn) {
  DlpStreamRedactor r(scanner());
  EXPECT_EQ(r.feed("$ echo hi\nhi\n"), "");  // held: could be the start of a secret
  EXPECT_EQ(r.flush(), "$ echo hi\nhi\n");
  EXPECT_EQ(r.flush(), "");
  std::string out = r.feed("key AKIAIOSFODNN7EXAMPLE\n");
  out += r.flush();
  EXPECT_EQ(out, "key [REDACTED:AWS_KEY]\n");
  ASSERT_EQ(r.findings().size(), 1u);
  EXPECT_EQ(r.findings()[0].offset, 13u + 4u);  // offset in the whole stream
}

TEST(DlpStream, BinaryChunkPassesUntouchedAndTheStreamStaysBinary) {
  DlpStreamRedactor r(scanner());
  std::string out = r.feed("text before AKIAIOSFODNN7EXAMPLE\n");
  std::string tar("ustar\0\0\0AKIAIOSFODNN7EXAMPLE\0\0", 31);
  out += r.feed(tar);
  EXPECT_TRUE(r.binary());
  // Held text goes out first, redacted; the binary chunk follows byte for byte.
  EXPECT_EQ(out, "text before [REDACTED:AWS_KEY]\n" + tar);
  // Later chunks that look like text are still part of the binary stream.
  EXPECT_EQ(r.feed("AKIAIOSFODNN7EXAMPLE"), "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(r.flush(), "");
}

TEST(DlpStream, DisabledScannerPassesEverything) {
  std::string err;
  auto off = DlpScanner::create(std::vector<DlpRule>{}, true, &err);
  ASSERT_NE(off, nullptr) << err;
  DlpStreamRedactor r(*off);
  EXPECT_EQ(r.feed("AKIAIOSFODNN7EXAMPLE"), "AKIAIOSFODNN7EXAMPLE");
}

TEST(DlpBinary, TextIsText) {
  EXPECT_FALSE(dlp_binary::looks_binary("hello world\n\tindented\r\n"));
  EXPECT_FALSE(dlp_binary::looks_binary("h\xc3\xa9llo w\xc3\xb6rld \xe6\x97\xa5\xe6\x9c\xac"));
  EXPECT_FALSE(dlp_binary::looks_binary("\x1b[31mred\x1b[0m and \x1b[1mbold\x1b[0m\n"));
  EXPECT_FALSE(dlp_binary::looks_binary(""));
  // A multi-byte character cut by the chunk boundary, at either end.
  EXPECT_FALSE(dlp_binary::looks_binary("\xe6\x97"));
  EXPECT_FALSE(dlp_binary::looks_binary("\x97\xa5 rest"));
  // Latin-1 text: a few invalid bytes, well under the threshold.
  EXPECT_FALSE(dlp_binary::looks_binary("caf\xe9 cr\xe8me br\xfbl\xe9\x65 is a dessert"));
}

TEST(DlpBinary, BinaryIsBinary) {
  EXPECT_TRUE(dlp_binary::looks_binary(std::string("abc\0def", 7)));
  EXPECT_TRUE(dlp_binary::looks_binary(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16)));
  EXPECT_TRUE(dlp_binary::looks_binary("\x89\x1a\x02\x03\xff\xfe text"));  // mostly odd bytes
  std::mt19937 rng(7);
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(char(1 + rng() % 255));
  EXPECT_TRUE(dlp_binary::looks_binary(noise));
  // Long text followed by a short blob of noise: still text.
  std::string mostly_text(4000, 'a');
  EXPECT_FALSE(dlp_binary::looks_binary(mostly_text + noise.substr(0, 100)));
}

}  // namespace
}  // namespace agentsh::proxy
