// JSON-aware redaction: only string values change, the document stays valid JSON,
// keys and non-string values are untouched, escapes are decoded for scanning.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "proxy/dlp_json_redactor.h"
#include "proxy/dlp_scanner.h"

namespace agentsh::proxy {
namespace {

using nlohmann::json;

const DlpScanner& scanner() {
  static const std::unique_ptr<DlpScanner> kScanner = [] {
    std::string err;
    auto s = DlpScanner::create(DlpOptions{}, &err);
    EXPECT_NE(s, nullptr) << err;
    return s;
  }();
  return *kScanner;
}

std::string mix(size_t n) {
  static const char kAlnum[] = "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8cF0";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kAlnum[(i * 7 + 3) % 30]);
  return s;
}

TEST(DlpJson, ValuesAreRedactedKeysAreNot) {
  std::string in =
      R"({"AKIAIOSFODNN7EXAMPLE": "AKIAIOSFODNN7EXAMPLE", "n": 4111111111111111, )"
      R"("list": ["mail bob@example.org", true, null, -1.5e3], "nested": {"k": "ssn 078-05-1120"}})";
  auto r = dlp_json_redactor::redact(scanner(), in);
  ASSERT_TRUE(r.valid_json);
  json doc = json::parse(r.text);
  ASSERT_TRUE(doc.contains("AKIAIOSFODNN7EXAMPLE"));  // the key survives
  EXPECT_EQ(doc["AKIAIOSFODNN7EXAMPLE"], "[REDACTED:AWS_KEY]");
  EXPECT_EQ(doc["n"], 4111111111111111);  // numbers are not strings: untouched
  EXPECT_EQ(doc["list"][0], "mail [REDACTED:EMAIL]");
  EXPECT_EQ(doc["list"][1], true);
  EXPECT_EQ(doc["list"][3], -1.5e3);
  EXPECT_EQ(doc["nested"]["k"], "ssn [REDACTED:SSN]");
  EXPECT_EQ(r.findings.size(), 3u);
  // Findings name the raw bytes they replaced.
  EXPECT_EQ(in.substr(r.findings[0].offset, r.findings[0].length), "AKIAIOSFODNN7EXAMPLE");
  EXPECT_GT(r.findings[0].offset, in.find(':'));
}

TEST(DlpJson, EscapedPemKeyInsideAMessageIsFoundAndReplacedWhole) {
  std::string pem = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + mix(70) + "\n" + mix(70) +
                    "\n-----END OPENSSH PRIVATE KEY-----";
  json req = {{"model", "gpt-4o"},
              {"messages", {{{"role", "user"}, {"content", "here is my key:\n" + pem + "\nthx"}}}}};
  std::string in = req.dump();
  ASSERT_NE(in.find("\\n"), std::string::npos);  // the newlines really are escaped
  auto r = dlp_json_redactor::redact(scanner(), in);
  json out = json::parse(r.text);
  EXPECT_EQ(out["messages"][0]["content"], "here is my key:\n[REDACTED:PRIVATE_KEY]\nthx");
  EXPECT_EQ(out["model"], "gpt-4o");
}

TEST(DlpJson, UnicodeEscapesAreDecodedBeforeScanning) {
  // "\u0041KIA…": an escaped first letter must not hide the key.
  std::string in = R"({"v": "id \u0041KIAIOSFODNN7EXAMPLE \u00e9\ud83d\ude00 end"})";
  auto r = dlp_json_redactor::redact(scanner(), in);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(in.substr(r.findings[0].offset, r.findings[0].length), "\\u0041KIAIOSFODNN7EXAMPLE");
  json out = json::parse(r.text);
  EXPECT_EQ(out["v"], "id [REDACTED:AWS_KEY] \xc3\xa9\xf0\x9f\x98\x80 end");
  // Other escapes are kept byte for byte.
  EXPECT_NE(r.text.find("\\u00e9\\ud83d\\ude00"), std::string::npos);
}

// A long value full of escapes (a model answer with a newline per line): findings map
// back to exactly their raw bytes, and the walk stays linear (it was quadratic).
TEST(DlpJson, ManyEscapesWithFindingsMapBackExactly) {
  std::string v;
  for (int i = 0; i < 200000; ++i) {
    v += "line " + std::to_string(i) + "\\n";
    if (i == 5000) v += "key AKIAIOSFODNN7EXAMPLE\\t";
    if (i == 150000) v += "mail bob@example.com\\u0021\\\"";
  }
  const std::string json = "{\"content\":\"" + v + "\",\"n\":1}";
  auto r = dlp_json_redactor::redact(scanner(), json);
  ASSERT_EQ(r.findings.size(), 2u);
  std::string expect = json;
  expect.replace(expect.find("AKIAIOSFODNN7EXAMPLE"), 20, "[REDACTED:AWS_KEY]");
  expect.replace(expect.find("bob@example.com"), 15, "[REDACTED:EMAIL]");
  EXPECT_EQ(r.text, expect);
  EXPECT_EQ(json.substr(r.findings[0].offset, r.findings[0].length), "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(json.substr(r.findings[1].offset, r.findings[1].length), "bob@example.com");
  EXPECT_TRUE(dlp_json_redactor::is_valid(r.text));
}

TEST(DlpJson, DisplayNamesAreEscapedSoTheJsonStaysValid) {
  DlpOptions o;
  o.custom = {{"quoted", "Q\"\\X", "TCK-[0-9]{6}"}};
  std::string err;
  auto s = DlpScanner::create(o, &err);
  ASSERT_NE(s, nullptr) << err;
  auto r = dlp_json_redactor::redact(*s, R"(["TCK-123456"])");
  json out = json::parse(r.text);
  EXPECT_EQ(out[0], "[REDACTED:Q\"\\X]");
}

TEST(DlpJson, DataUrlPayloadIsLeftAlone) {
  std::string b64 = "iVBORw0KGgo+AKIAIOSFODNN7EXAMPLE+AAAA";
  std::string in = R"({"image_url": {"url": "data:image/png;base64,)" + b64 + R"("}})";
  auto r = dlp_json_redactor::redact(scanner(), in);
  EXPECT_EQ(r.text, in);
  EXPECT_TRUE(r.findings.empty());
}

TEST(DlpJson, InvalidJsonFallsBackToPlainText) {
  auto r = dlp_json_redactor::redact(scanner(), "{\"a\": AKIAIOSFODNN7EXAMPLE");
  EXPECT_FALSE(r.valid_json);
  EXPECT_EQ(r.text, "{\"a\": [REDACTED:AWS_KEY]");
}

TEST(DlpJson, Validity) {
  for (const char* ok :
       {"{}", "[]", " {\"a\" : [1, 2.5, -0, 1e10, \"x\", {}, []]} ", "true", "null",
        "\"s\\\"\\\\\\/\\b\\f\\n\\r\\t\\u00ff\"", "0", "[[[[]]]]", "{\"a\":{\"b\":{\"c\":null}}}"})
    EXPECT_TRUE(dlp_json_redactor::is_valid(ok)) << ok;
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "{\"a\":1,}", "01", "1.", "-", "+1",
                          "\"unterminated", "\"bad \\x escape\"", "\"raw\ttab\"", "[1] [2]",
                          "{1: 2}", "tru", "nul", "\"\\u12\"", "{\"a\":1}}", "[}"})
    EXPECT_FALSE(dlp_json_redactor::is_valid(bad)) << bad;
  std::string deep(dlp_json_redactor::kMaxDepth + 1, '[');
  deep += std::string(dlp_json_redactor::kMaxDepth + 1, ']');
  EXPECT_FALSE(dlp_json_redactor::is_valid(deep));
}

// Random documents with secrets in random places: output always parses, has the same
// shape and keys, and no planted secret survives.
TEST(DlpJson, RandomDocumentsStayValid) {
  std::mt19937 rng(1234);
  const std::vector<std::string> secrets = {"AKIAIOSFODNN7EXAMPLE", "jane@example.com",
                                            "ghp_" + mix(36), "078-05-1120", "4111111111111111"};
  std::function<json(int)> gen = [&](int depth) -> json {
    int kind = int(rng() % (depth > 3 ? 4 : 6));
    switch (kind) {
      case 0:
        return json(int(rng() % 1000));
      case 1:
        return json(bool(rng() % 2));
      case 2:
        return json(nullptr);
      case 3: {
        std::string s = "text \"quoted\" \\ tab\t nl\n ";
        if (rng() % 2) s += secrets[rng() % secrets.size()] + " tail";
        return json(s);
      }
      case 4: {
        json a = json::array();
        for (int i = int(rng() % 4); i > 0; --i) a.push_back(gen(depth + 1));
        return a;
      }
      default: {
        json o = json::object();
        for (int i = int(rng() % 4); i > 0; --i)
          o["key" + std::to_string(rng() % 100) + secrets[rng() % secrets.size()]] = gen(depth + 1);
        return o;
      }
    }
  };
  for (int round = 0; round < 200; ++round) {
    json doc = gen(0);
    std::string in = doc.dump(round % 2 ? 2 : -1);
    auto r = dlp_json_redactor::redact(scanner(), in);
    ASSERT_TRUE(r.valid_json) << in;
    json out = json::parse(r.text);
    // Same structure and keys: compare after redacting every string value the same way.
    std::function<void(const json&, const json&)> same = [&](const json& a, const json& b) {
      if (a.is_number()) {  // int vs unsigned after a round trip: compare values
        EXPECT_EQ(a, b);
        return;
      }
      ASSERT_EQ(a.type(), b.type());
      if (a.is_object()) {
        ASSERT_EQ(a.size(), b.size());
        for (auto it = a.begin(); it != a.end(); ++it) {
          ASSERT_TRUE(b.contains(it.key())) << it.key();
          same(it.value(), b[it.key()]);
        }
      } else if (a.is_array()) {
        ASSERT_EQ(a.size(), b.size());
        for (size_t i = 0; i < a.size(); ++i) same(a[i], b[i]);
      } else if (a.is_string()) {
        std::string v = b.get<std::string>();
        for (const auto& sec : secrets) EXPECT_EQ(v.find(sec), std::string::npos) << v;
        EXPECT_EQ(v, scanner().redact(a.get<std::string>()).text);
      } else {
        EXPECT_EQ(a, b);
      }
    };
    same(doc, out);
  }
}

}  // namespace
}  // namespace agentsh::proxy
