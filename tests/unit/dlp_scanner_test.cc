// DlpScanner: every built-in detector positive and negative, config flags, custom
// patterns, overlap resolution, error messages.
#include "proxy/dlp_scanner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>

#include "proxy/dlp_builtin_rules.h"
#include "proxy/dlp_validators.h"

namespace agentsh::proxy {
namespace {

// Secrets are assembled at run time so this file does not itself look like a leak.
std::string mix(size_t n) {
  static const char kAlnum[] = "aB3dE5gH7jK9mN1pQ2sT4vW6yZ8cF0";
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(kAlnum[(i * 7 + 3) % 30]);
  return s;
}

class DlpScannerTest : public ::testing::Test {
 protected:
  // One scanner for the suite: building it is the expensive part.
  static void SetUpTestSuite() {
    std::string err;
    scanner_ = DlpScanner::create(DlpOptions{}, &err).release();
    ASSERT_NE(scanner_, nullptr) << err;
  }
  static void TearDownTestSuite() {
    delete scanner_;
    scanner_ = nullptr;
  }
  // The single finding's detector in `text`, "" if none, "many" if more than one.
  std::string detect(const std::string& text) {
    auto f = scanner_->scan(text);
    if (f.empty()) return "";
    if (f.size() > 1) return "many";
    return f[0].detector;
  }
  std::string redact(const std::string& text) { return scanner_->redact(text).text; }
  static DlpScanner* scanner_;
};
DlpScanner* DlpScannerTest::scanner_ = nullptr;

TEST_F(DlpScannerTest, AwsAccessKey) {
  EXPECT_EQ(detect("key AKIAIOSFODNN7EXAMPLE end"), "aws_access_key");
  EXPECT_EQ(redact("id=AKIAIOSFODNN7EXAMPLE;"), "id=[REDACTED:AWS_KEY];");
  EXPECT_EQ(detect("ASIAY34FZKBOKMUTVV7A"), "aws_access_key");
  EXPECT_EQ(detect("AKIAIOSFODNN7EXAMPL"), "");    // 19 chars
  EXPECT_EQ(detect("XAKIAIOSFODNN7EXAMPLE"), "");  // glued to a word
  EXPECT_EQ(detect("AKIAIOSFODNN7EXAMPLEX"), "");  // too long
  EXPECT_EQ(detect("akiaiosfodnn7example"), "");   // lower case is not a key id
}

TEST_F(DlpScannerTest, AwsSecretKeyOnlyInContext) {
  const std::string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
  auto r = scanner_->redact("aws_secret_access_key = " + secret + "\n");
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].detector, "aws_secret_key");
  // Only the value goes; the name stays so the reader knows what was there.
  EXPECT_EQ(r.text, "aws_secret_access_key = [REDACTED:AWS_SECRET]\n");
  EXPECT_EQ(redact("export AWS_SECRET_ACCESS_KEY=\"" + secret + "\""),
            "export AWS_SECRET_ACCESS_KEY=\"[REDACTED:AWS_SECRET]\"");
  EXPECT_EQ(redact("{\"SecretAccessKey\": \"" + secret + "\"}"),
            "{\"SecretAccessKey\": \"[REDACTED:AWS_SECRET]\"}");
  // 40 base64 characters alone are a hash, not a secret.
  EXPECT_EQ(detect("sha: " + secret), "");
  // A longer base64 run after the name is something else.
  EXPECT_EQ(detect("aws_secret_access_key=" + secret + "ABCD"), "");
}

TEST_F(DlpScannerTest, GithubTokens) {
  for (const char* p : {"ghp_", "gho_", "ghs_", "ghu_"}) {
    std::string tok = p + mix(36);
    EXPECT_EQ(detect("token " + tok + " ok"), "github_token") << tok;
    EXPECT_EQ(redact("token " + tok), "token [REDACTED:GITHUB_TOKEN]");
    EXPECT_EQ(detect(std::string(p) + mix(35)), "") << "35 chars is too short";
  }
  std::string pat = "github_pat_" + mix(22) + "_" + mix(59);
  EXPECT_EQ(detect("GH_TOKEN=" + pat), "github_fine_grained_token");
  EXPECT_EQ(detect("ghx_" + mix(36)), "");
}

TEST_F(DlpScannerTest, OpenAiAndAnthropicKeys) {
  std::string legacy = "sk-" + mix(48);
  std::string proj = "sk-proj-" + mix(60) + "_" + mix(40) + "-" + mix(50);
  std::string ant = "sk-ant-api03-" + mix(80) + "-" + mix(10) + "AA";
  EXPECT_EQ(detect("OPENAI_API_KEY=" + legacy), "openai_key");
  EXPECT_EQ(detect("key: " + proj), "openai_key");
  EXPECT_EQ(redact("key: " + proj + "\n"), "key: [REDACTED:OPENAI_KEY]\n");
  // Same span matched by both rules: the specific one names it.
  EXPECT_EQ(detect("x-api-key: " + ant), "anthropic_key");
  EXPECT_EQ(redact(ant), "[REDACTED:ANTHROPIC_KEY]");
  // No digits: a CSS class, not a key.
  EXPECT_EQ(detect("class=sk-spinner-double-bounce-container"), "");
  EXPECT_EQ(detect("sk-" + mix(10)), "");    // too short
  EXPECT_EQ(detect("task-" + mix(30)), "");  // "sk-" inside a word
}

TEST_F(DlpScannerTest, Jwt) {
  std::string jwt =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4i"
      "fQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
  EXPECT_EQ(detect("Authorization: Bearer " + jwt), "jwt");
  EXPECT_EQ(redact("Bearer " + jwt + "\n"), "Bearer [REDACTED:JWT]\n");
  EXPECT_EQ(detect("eyJhbGciOiJIUzI1NiJ9.notajwt.payload"), "");
  EXPECT_EQ(detect("eyJ.eyJ.x"), "");
}

TEST_F(DlpScannerTest, PrivateKeyBlocks) {
  std::string body = mix(64) + "\n" + mix(64) + "\n" + mix(20) + "==\n";
  for (const char* kind : {"RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", ""}) {
    std::string pem = std::string("-----BEGIN ") + kind + "PRIVATE KEY-----\n" + body +
                      "-----END " + kind + "PRIVATE KEY-----";
    auto r = scanner_->redact("before\n" + pem + "\nafter");
    ASSERT_EQ(r.findings.size(), 1u) << kind;
    EXPECT_EQ(r.findings[0].detector, "private_key");
    EXPECT_EQ(r.text, "before\n[REDACTED:PRIVATE_KEY]\nafter") << kind;
  }
  // Escaped newlines (a key inside a JSON log line).
  std::string escaped = "\"-----BEGIN PRIVATE KEY-----\\n" + mix(64) + "\\n" + mix(30) +
                        "\\n-----END PRIVATE KEY-----\\n\"";
  EXPECT_EQ(redact(escaped), "\"[REDACTED:PRIVATE_KEY]\\n\"");
  // Truncated block: the header and the base64 lines still go.
  std::string cut = "-----BEGIN RSA PRIVATE KEY-----\n" + mix(64) + "\n" + mix(64) + "\n";
  EXPECT_EQ(redact(cut + "...(truncated)"), "[REDACTED:PRIVATE_KEY]\n...(truncated)");
  // Public keys and certificates are not secrets.
  EXPECT_EQ(detect("-----BEGIN PUBLIC KEY-----\n" + mix(64) + "\n-----END PUBLIC KEY-----"), "");
  EXPECT_EQ(detect("-----BEGIN CERTIFICATE-----\n" + mix(64) + "\n-----END CERTIFICATE-----"), "");
}

TEST_F(DlpScannerTest, SlackTokens) {
  std::string tok = "xoxb-1234567890-1234567890123-" + mix(24);
  EXPECT_EQ(detect("SLACK_BOT_TOKEN=" + tok), "slack_token");
  EXPECT_EQ(detect("xoxp-123456789012-123456789012-123456789012-" + mix(32)), "slack_token");
  EXPECT_EQ(detect("xoxz-1234567890-1234567890123-" + mix(24)), "");
  EXPECT_EQ(detect("https://hooks.slack.com/services/T0ABCDEFG/B0ABCDEFG/" + mix(24)),
            "slack_webhook");
}

TEST_F(DlpScannerTest, Email) {
  EXPECT_EQ(detect("contact jane.doe+test@mail.example.com today"), "email");
  EXPECT_EQ(redact("from: bob@example.org\n"), "from: [REDACTED:EMAIL]\n");
  EXPECT_EQ(detect("user@localhost"), "");        // no TLD
  EXPECT_EQ(detect("npm i left-pad@1.3.0"), "");  // version, not a domain
  EXPECT_EQ(detect("@decorator.call"), "");
  EXPECT_EQ(detect("a@b.c"), "");  // one-letter TLD
}

TEST_F(DlpScannerTest, Phone) {
  EXPECT_EQ(detect("call 415-555-2671 now"), "phone_us");
  EXPECT_EQ(detect("call (415) 555-2671."), "phone_us");
  EXPECT_EQ(redact("tel: +1 415.555.2671\n"), "tel: [REDACTED:PHONE]\n");
  EXPECT_EQ(detect("London +44 20 7946 0958"), "phone_intl");
  EXPECT_EQ(detect("+4930123456"), "phone_intl");
  // Numbers that are not phone numbers.
  EXPECT_EQ(detect("2024-01-15 12:34:56.789"), "");
  EXPECT_EQ(detect("version 10.0.19045.3803"), "");
  EXPECT_EQ(detect("id=9415-555-2671"), "");
  EXPECT_EQ(detect("order 115-555-2671"), "");  // area code cannot start with 1
  EXPECT_EQ(detect("x+12345678"), "");          // glued to an identifier
  EXPECT_EQ(detect("415-555-26710"), "");
}

TEST_F(DlpScannerTest, CreditCardsNeedLuhnAndABrand) {
  for (const char* good :
       {"4111111111111111", "5555555555554444", "378282246310005", "6011111111111117",
        "2223003122003222", "4111 1111 1111 1111", "5555-5555-5555-4444", "3782 822463 10005"}) {
    auto f = scanner_->scan(std::string("card: ") + good + ".");
    ASSERT_EQ(f.size(), 1u) << good;
    EXPECT_EQ(f[0].display, "CREDIT_CARD") << good;
    EXPECT_EQ(f[0].length, strlen(good));
  }
  for (const char* bad : {"4111111111111112",      // Luhn fails
                          "5555555555554445",      // Luhn fails
                          "1705312345678",         // ms timestamp: no brand prefix
                          "1234567890123452",      // no brand prefix
                          "4111 1111-1111 1111",   // mixed separators
                          "41111111111111111111",  // too long
                          "v4111111111111111"}) {
    EXPECT_EQ(detect(std::string("n ") + bad + " x"), "") << bad;
  }
  EXPECT_TRUE(dlp_validators::luhn_ok("79927398713"));
  EXPECT_FALSE(dlp_validators::luhn_ok("79927398710"));
  EXPECT_FALSE(dlp_validators::luhn_ok(""));
}

TEST_F(DlpScannerTest, Ssn) {
  EXPECT_EQ(detect("SSN 123-45-6789."), "ssn");
  EXPECT_EQ(redact("ssn: 078-05-1120\n"), "ssn: [REDACTED:SSN]\n");
  for (const char* bad : {"000-12-3456", "666-12-3456", "900-12-3456", "123-00-4567", "123-45-0000",
                          "2024-123-45-6789", "123-45-67890", "123456789"})
    EXPECT_EQ(detect(std::string("n ") + bad + " x"), "") << bad;
}

TEST_F(DlpScannerTest, CleanTextHasNoFindings) {
  std::string text =
      "2024-05-01T12:00:00Z INFO server started pid=4242 port=8080 latency_ms=12.5\n"
      "commit 3f2a1b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a\n"
      "func main() { fmt.Println(\"hello\") }\n"
      "{\"id\": 1234567, \"price\": 19.99, \"tags\": [\"a\", \"b\"]}\n"
      "uuid 123e4567-e89b-12d3-a456-426614174000 ip 10.0.0.1 sha256 e3b0c44298fc1c149afbf4c8\n";
  EXPECT_TRUE(scanner_->scan(text).empty());
  EXPECT_EQ(redact(text), text);
}

TEST_F(DlpScannerTest, FindingsAreSortedAndOffsetsPointAtTheInput) {
  std::string text = "a bob@example.org b AKIAIOSFODNN7EXAMPLE c 123-45-6789";
  auto r = scanner_->redact(text);
  ASSERT_EQ(r.findings.size(), 3u);
  EXPECT_EQ(text.substr(r.findings[0].offset, r.findings[0].length), "bob@example.org");
  EXPECT_EQ(text.substr(r.findings[1].offset, r.findings[1].length), "AKIAIOSFODNN7EXAMPLE");
  EXPECT_EQ(text.substr(r.findings[2].offset, r.findings[2].length), "123-45-6789");
  EXPECT_EQ(r.text, "a [REDACTED:EMAIL] b [REDACTED:AWS_KEY] c [REDACTED:SSN]");
}

TEST_F(DlpScannerTest, ManyFindingsInALargeBuffer) {
  std::string text;
  for (int i = 0; i < 2000; ++i)
    text += "line " + std::to_string(i) + " user" + std::to_string(i) + "@corp.example.com ok\n";
  auto f = scanner_->scan(text);
  EXPECT_EQ(f.size(), 2000u);
}

TEST(DlpScannerConfig, CategoryFlagsTurnDetectorsOff) {
  DlpOptions o;
  o.builtin = {{"email", false}, {"api_keys", false}};
  std::string err;
  auto s = DlpScanner::create(o, &err);
  ASSERT_NE(s, nullptr) << err;
  EXPECT_TRUE(s->scan("bob@example.org AKIAIOSFODNN7EXAMPLE").empty());
  EXPECT_EQ(s->scan("SSN 123-45-6789").size(), 1u);
}

TEST(DlpScannerConfig, DisabledModeCopies) {
  Config cfg;
  cfg.dlp_mode = "disabled";
  std::string err;
  auto s = DlpScanner::create(cfg, &err);
  ASSERT_NE(s, nullptr) << err;
  EXPECT_FALSE(s->enabled());
  EXPECT_EQ(s->redact("AKIAIOSFODNN7EXAMPLE").text, "AKIAIOSFODNN7EXAMPLE");
}

TEST(DlpScannerConfig, BadModeAndUnknownCategoryAreErrors) {
  Config cfg;
  cfg.dlp_mode = "block";
  std::string err;
  EXPECT_EQ(DlpScanner::create(cfg, &err), nullptr);
  EXPECT_NE(err.find("dlp.mode"), std::string::npos) << err;
  cfg.dlp_mode = "redact";
  cfg.dlp_builtin = {{"emails", true}};
  EXPECT_EQ(DlpScanner::create(cfg, &err), nullptr);
  EXPECT_NE(err.find("emails"), std::string::npos) << err;
}

TEST(DlpScannerConfig, CustomPatternsFromTheReferenceConfig) {
  Config cfg;
  cfg.dlp_builtin = {{"email", false},
                     {"phone", false},
                     {"credit_card", false},
                     {"ssn", false},
                     {"api_keys", false}};
  cfg.dlp_custom = {{"internal_ticket", "TICKET", "TCK-[0-9]{6}"},
                    {"openai_key", "OPENAI_KEY", "sk-[a-zA-Z0-9]{48,}"},
                    {"private_key", "PRIVATE_KEY", "-----BEGIN [A-Z]+ PRIVATE KEY-----"},
                    {"employee", "", "(?i)emp#\\d{5}(?=\\b)"}};  // lookahead: prefilter mode
  std::string err;
  auto s = DlpScanner::create(cfg, &err);
  ASSERT_NE(s, nullptr) << err;
  EXPECT_EQ(s->redact("see TCK-123456 and TCK-12345").text, "see [REDACTED:TICKET] and TCK-12345");
  EXPECT_EQ(s->redact("k=sk-" + mix(50)).text, "k=[REDACTED:OPENAI_KEY]");
  EXPECT_EQ(s->redact("-----BEGIN RSA PRIVATE KEY-----\nabc").text, "[REDACTED:PRIVATE_KEY]\nabc");
  // Display defaults to the upper-cased name.
  EXPECT_EQ(s->redact("EMP#12345 x").text, "[REDACTED:EMPLOYEE] x");
  EXPECT_EQ(s->redact("EMP#123456").text, "EMP#123456");
}

TEST(DlpScannerConfig, CustomPatternWinsOverBuiltinOnTheSameSpan) {
  DlpOptions o;
  o.custom = {{"corp_aws", "CORP_AWS", "AKIA[0-9A-Z]{16}"}};
  std::string err;
  auto s = DlpScanner::create(o, &err);
  ASSERT_NE(s, nullptr) << err;
  auto f = s->scan(" AKIAIOSFODNN7EXAMPLE ");
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].detector, "corp_aws");
}

TEST(DlpScannerConfig, BadCustomPatternsAreClearErrors) {
  std::string err;
  DlpOptions o;
  o.custom = {{"broken", "B", "abc(("}};
  EXPECT_EQ(DlpScanner::create(o, &err), nullptr);
  EXPECT_NE(err.find("'broken'"), std::string::npos) << err;
  EXPECT_NE(err.find("invalid regex"), std::string::npos) << err;
  o.custom = {{"empty", "E", "x*"}};
  EXPECT_EQ(DlpScanner::create(o, &err), nullptr);
  EXPECT_NE(err.find("empty string"), std::string::npos) << err;
  o.custom = {{"backref", "B", "(ab)\\1+"}};  // prefilter copes with back-references
  EXPECT_NE(DlpScanner::create(o, &err), nullptr) << err;
  o.custom = {{"", "B", "abc"}};
  EXPECT_EQ(DlpScanner::create(o, &err), nullptr);
}

TEST(DlpScannerConfig, BackreferenceRuleIsConfirmedByPcre2) {
  std::vector<DlpRule> rules = {
      {"dup", "DUP", "\\b(\\w{3})-\\1\\b", "", 0, DlpValidator::kNone, 0}};
  std::string err;
  auto s = DlpScanner::create(rules, true, &err);
  ASSERT_NE(s, nullptr) << err;
  EXPECT_EQ(s->redact("abc-abc abc-abd").text, "[REDACTED:DUP] abc-abd");
}

TEST(DlpScannerConfig, MaxMatchLengthIsBounded) {
  std::string err;
  auto s = DlpScanner::create(DlpOptions{}, &err);
  ASSERT_NE(s, nullptr) << err;
  EXPECT_GT(s->max_match_length(), 100u);
  EXPECT_LE(s->max_match_length(), DlpScanner::kMaxMatchBytes);
  EXPECT_GE(s->min_match_length(), 5u);
  EXPECT_EQ(dlp_builtin_rules::category_of("ssn"), "ssn");
  EXPECT_EQ(dlp_builtin_rules::category_of("jwt"), "api_keys");
}

}  // namespace
}  // namespace agentsh::proxy

namespace agentsh::proxy {
namespace {

// A text with every detector's positives and near misses, to compare engines on.
std::string mixed_text() {
  std::string t;
  for (int i = 0; i < 40; ++i) {
    t += "2024-05-01T12:00:0" + std::to_string(i % 10) + "Z worker=" + std::to_string(i) +
         " ip=10.1.2." + std::to_string(i) + " id=" + std::to_string(1705312345678 + i) + "\n";
    t += "user" + std::to_string(i) + "@mail.example.com called (415) 555-26" +
         std::to_string(10 + i) + " card 4111 1111 1111 1111 and 4111111111111112\n";
    t += "ssn 078-05-1120 vs 000-12-3456, AKIAIOSFODNN7EXAMPL" +
         std::string(1, char('A' + i % 26)) + " xAKIAIOSFODNN7EXAMPLE\n";
    t += "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE" +
         std::string(1, char('A' + i % 26)) + "\n";
    t += "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl" +
         std::to_string(i) + " +44 20 7946 09" + std::to_string(10 + i) + "\n";
    if (i % 7 == 0)
      t += "-----BEGIN EC PRIVATE "
           "KEY-----\nMHcCAQEEIIrYSSNQFaA2Hwf1duRSxKtLYX5CB04fSeQ6tF1aY/PuoAoGCCqG\n"
           "-----END EC PRIVATE KEY-----\n";
  }
  return t;
}

TEST(DlpScannerEngines, HyperscanAndPcre2AloneAgree) {
  std::string err;
  auto fast = DlpScanner::create(DlpOptions{}, &err);
  ASSERT_NE(fast, nullptr) << err;
  DlpOptions slow_opts;
  slow_opts.use_hyperscan = false;
  slow_opts.custom = {{"ticket", "TICKET", "TCK-[0-9]{6}"}};
  auto slow = DlpScanner::create(slow_opts, &err);
  ASSERT_NE(slow, nullptr) << err;
  DlpOptions fast_custom;
  fast_custom.custom = slow_opts.custom;
  auto fast2 = DlpScanner::create(fast_custom, &err);
  ASSERT_NE(fast2, nullptr) << err;
  std::string text = mixed_text() + "see TCK-123456\n";
  auto a = fast2->scan(text);
  auto b = slow->scan(text);
  ASSERT_GT(a.size(), 300u);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].offset, b[i].offset) << i;
    EXPECT_EQ(a[i].length, b[i].length) << i;
    EXPECT_EQ(a[i].detector, b[i].detector) << i;
  }
  std::string red = fast->redact(text).text;
  EXPECT_EQ(red.find(" AKIAIOSFODNN7EXAMPL"), std::string::npos);   // the standalone keys
  EXPECT_NE(red.find("xAKIAIOSFODNN7EXAMPLE"), std::string::npos);  // glued: not a key
  // Without Hyperscan the empty-match check still holds.
  DlpOptions bad;
  bad.use_hyperscan = false;
  bad.custom = {{"e", "E", "a*"}};
  EXPECT_EQ(DlpScanner::create(bad, &err), nullptr);
  EXPECT_NE(err.find("empty string"), std::string::npos) << err;
}

TEST(DlpScannerEngines, ConcurrentScansShareOneScanner) {
  std::string err;
  auto s = DlpScanner::create(DlpOptions{}, &err);
  ASSERT_NE(s, nullptr) << err;
  const std::string text = mixed_text();
  const auto want = s->scan(text);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int k = 0; k < 25; ++k) {
        auto got = s->scan(text);
        if (got.size() != want.size()) ++mismatches;
        for (size_t i = 0; i < got.size() && i < want.size(); ++i)
          if (got[i].offset != want[i].offset || got[i].length != want[i].length) ++mismatches;
      }
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

}  // namespace
}  // namespace agentsh::proxy
