// The digit-shape prefilter against a naive reference (every block boundary), and the
// compiled-database cache's trust rules.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <string>

#include "proxy/dlp_digit_prefilter.h"
#include "proxy/dlp_pattern_cache.h"
#include "proxy/dlp_scanner.h"

namespace agentsh::proxy {
namespace {

namespace fs = std::filesystem;

bool dig(const std::string& s, size_t i) {
  return i < s.size() && s[i] >= '0' && s[i] <= '9';
}

// The shapes written out the slow, obvious way.
std::set<std::pair<int, size_t>> reference(const std::string& s) {
  std::set<std::pair<int, size_t>> out;
  for (size_t p = 0; p < s.size(); ++p) {
    char c = s[p];
    bool d3 = p >= 3 && dig(s, p - 1) && dig(s, p - 2) && dig(s, p - 3);
    if ((c == ' ' || c == '-' || c == '.') && d3 && dig(s, p + 1) && dig(s, p + 2) &&
        dig(s, p + 3) && dig(s, p + 4))
      out.insert({int(DlpDigitShape::kGroupPair), p + 5});
    if (c == '-' && d3 && dig(s, p + 1) && dig(s, p + 2) && p + 3 < s.size() && s[p + 3] == '-' &&
        dig(s, p + 4) && dig(s, p + 5) && dig(s, p + 6) && dig(s, p + 7))
      out.insert({int(DlpDigitShape::kSsnShape), p + 8});
    if (dig(s, p) && !dig(s, p + 1) && p >= 12) {
      bool run = true;
      for (size_t j = 1; j <= 12; ++j) run = run && dig(s, p - j);
      if (run) out.insert({int(DlpDigitShape::kLongRun), p + 1});
    }
  }
  return out;
}

TEST(DlpDigitPrefilter, MatchesTheReferenceOnRandomDigitHeavyText) {
  std::mt19937 rng(99);
  const char alphabet[] = "0123456789012345678901234567890123456789 -.-x\n";
  unsigned all = dlp_digit_prefilter::bit(DlpDigitShape::kGroupPair) |
                 dlp_digit_prefilter::bit(DlpDigitShape::kSsnShape) |
                 dlp_digit_prefilter::bit(DlpDigitShape::kLongRun);
  for (int round = 0; round < 300; ++round) {
    std::string s;
    size_t n = rng() % 400;
    for (size_t i = 0; i < n; ++i) s.push_back(alphabet[rng() % (sizeof alphabet - 1)]);
    std::vector<dlp_digit_prefilter::Hit> hits;
    dlp_digit_prefilter::scan(s, all, &hits);
    std::set<std::pair<int, size_t>> got;
    for (const auto& h : hits) got.insert({int(h.shape), h.end});
    EXPECT_EQ(got, reference(s)) << s;
    EXPECT_EQ(got.size(), hits.size()) << "duplicate hits";
  }
}

TEST(DlpDigitPrefilter, ShapesAcrossBlockBoundariesAndOnlyWanted) {
  for (size_t at = 50; at < 80; ++at) {
    std::string s(at, 'x');
    s += "078-05-1120";
    std::vector<dlp_digit_prefilter::Hit> hits;
    dlp_digit_prefilter::scan(s, dlp_digit_prefilter::bit(DlpDigitShape::kSsnShape), &hits);
    ASSERT_EQ(hits.size(), 1u) << at;
    EXPECT_EQ(hits[0].end, at + 11);  // just past the SSN
  }
  std::vector<dlp_digit_prefilter::Hit> hits;
  dlp_digit_prefilter::scan("078-05-1120 4111111111111111", 0, &hits);
  EXPECT_TRUE(hits.empty());
}

class DlpPatternCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path("/tmp") / ("agentsh-dlp-cache-test-" + std::to_string(getpid()));
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string only_file() {
    std::string f;
    for (const auto& e : fs::directory_iterator(dir_)) f = e.path();
    return f;
  }
  fs::path dir_;
};

TEST_F(DlpPatternCache, SecondBuildLoadsTheCachedDatabase) {
  DlpOptions o;
  o.cache_dir = dir_;
  std::string err;
  auto a = DlpScanner::create(o, &err);
  ASSERT_NE(a, nullptr) << err;
  std::string file = only_file();
  ASSERT_FALSE(file.empty());
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  auto b = DlpScanner::create(o, &err);
  ASSERT_NE(b, nullptr) << err;
  EXPECT_EQ(b->redact("id AKIAIOSFODNN7EXAMPLE").text, "id [REDACTED:AWS_KEY]");
}

TEST_F(DlpPatternCache, UntrustedOrCorruptFilesAreIgnored) {
  const std::vector<const char*> exprs = {"abc[0-9]"};
  const std::vector<unsigned> flags = {0}, ids = {0};
  std::string key = dlp_pattern_cache::key_for(exprs, flags, ids);
  EXPECT_EQ(key.size(), 32u);
  EXPECT_NE(key, dlp_pattern_cache::key_for({"abd[0-9]"}, flags, ids));
  EXPECT_NE(key, dlp_pattern_cache::key_for(exprs, {HS_FLAG_PREFILTER}, ids));
  EXPECT_NE(key, dlp_pattern_cache::key_for(exprs, flags, {3}));
  hs_database_t* raw = nullptr;
  hs_compile_error_t* cerr = nullptr;
  ASSERT_EQ(hs_compile(exprs[0], 0, HS_MODE_BLOCK, nullptr, &raw, &cerr), HS_SUCCESS);
  dlp_handles::HsDatabase db(raw);
  ASSERT_TRUE(dlp_pattern_cache::store(dir_, key, db.get()));
  EXPECT_NE(dlp_pattern_cache::load(dir_, key), nullptr);
  std::string file = only_file();

  chmod(file.c_str(), 0620);  // group-writable: someone else could have swapped it
  EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
  chmod(file.c_str(), 0600);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(file.c_str(), 12345, 12345), 0);  // another user's file
    EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
    ASSERT_EQ(chown(file.c_str(), 0, 0), 0);
  }
  EXPECT_NE(dlp_pattern_cache::load(dir_, key), nullptr);
  std::ofstream(file, std::ios::trunc) << "not a database";
  EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
  chmod(dir_.c_str(), 0777);  // world-writable directory
  EXPECT_FALSE(dlp_pattern_cache::store(dir_, key, db.get()));
  EXPECT_EQ(dlp_pattern_cache::load(dir_, key), nullptr);
}

TEST_F(DlpPatternCache, CorruptCacheStillYieldsAWorkingScanner) {
  DlpOptions o;
  o.cache_dir = dir_;
  std::string err;
  ASSERT_NE(DlpScanner::create(o, &err), nullptr) << err;
  std::ofstream(only_file(), std::ios::trunc) << "garbage";
  auto s = DlpScanner::create(o, &err);
  ASSERT_NE(s, nullptr) << err;
  EXPECT_EQ(s->redact("AKIAIOSFODNN7EXAMPLE").text, "[REDACTED:AWS_KEY]");
}

}  // namespace
}  // namespace agentsh::proxy

namespace agentsh::proxy {
namespace {

// Two configs whose Hyperscan expressions are identical but whose rule numbering
// differs (a numeric detector switched off shifts the ids): the cache must not hand
// one the other's database.
TEST(DlpPatternCacheKeys, RuleNumberingIsPartOfTheKey) {
  std::string dir = "/tmp/agentsh-dlp-cache-ids-" + std::to_string(getpid());
  fs::remove_all(dir);
  std::string err;
  DlpOptions all;
  all.cache_dir = dir;
  auto a = DlpScanner::create(all, &err);
  ASSERT_NE(a, nullptr) << err;
  DlpOptions fewer = all;
  fewer.builtin = {{"credit_card", false}, {"ssn", false}};
  auto b = DlpScanner::create(fewer, &err);
  ASSERT_NE(b, nullptr) << err;
  // Both read from the same directory: each still names its own findings right.
  auto c = DlpScanner::create(fewer, &err);
  ASSERT_NE(c, nullptr) << err;
  auto f = c->scan("call +44 20 7946 0958 or bob@example.org");
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].detector, "phone_intl");
  EXPECT_EQ(f[1].detector, "email");
  auto g = a->scan("call +44 20 7946 0958 or bob@example.org");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].detector, "phone_intl");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace agentsh::proxy
