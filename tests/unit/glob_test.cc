// Tests for policy/glob: path and domain semantics, classes, escapes, validation and
// pathological patterns (which must finish: the matcher is iterative and O(p*t)).
#include "policy/glob.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace agentsh::glob {
namespace {

struct Case {
  const char* pat;
  const char* text;
  bool want;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "'" << c.pat << "' vs '" << c.text << "' -> " << (c.want ? "match" : "no match");
}

class PathGlob : public ::testing::TestWithParam<Case> {};

TEST_P(PathGlob, Matches) {
  const Case& c = GetParam();
  EXPECT_EQ(match(c.pat, c.text, '/', false), c.want);
}

INSTANTIATE_TEST_SUITE_P(Literal, PathGlob,
                         ::testing::Values(Case{"/etc/hosts", "/etc/hosts", true},
                                           Case{"/etc/hosts", "/etc/host", false},
                                           Case{"/etc/hosts", "/etc/hostsx", false},
                                           Case{"/etc/hosts", "/ETC/hosts",
                                                false},  // paths are case-sensitive
                                           Case{"/", "/", true}, Case{"/", "", false},
                                           Case{"", "", true}, Case{"", "/", false}));

INSTANTIATE_TEST_SUITE_P(
    SegmentStar, PathGlob,
    ::testing::Values(Case{"/tmp/*", "/tmp/a", true}, Case{"/tmp/*", "/tmp/", true},
                      Case{"/tmp/*", "/tmp/a/b", false}, Case{"/tmp/*", "/tmp", false},
                      Case{"/home/*/.ssh", "/home/u/.ssh", true},
                      Case{"/home/*/.ssh", "/home/u/v/.ssh", false}, Case{"*.c", "main.c", true},
                      Case{"*.c", "src/main.c", false}, Case{"/src/*.c", "/src/main.c", true},
                      Case{"/src/*.c", "/src/main.h", false}, Case{"/a*b*c", "/axxbyyc", true},
                      Case{"/a*b*c", "/axxb/yyc", false}, Case{"/a*", "/a", true},
                      Case{"*", "", true}, Case{"*", "/", false}, Case{"/*/*", "/x/y", true},
                      Case{"/*/*", "/x", false}));

INSTANTIATE_TEST_SUITE_P(
    GlobStar, PathGlob,
    ::testing::Values(
        // Trailing "/**": everything below, including the directory with its slash, but
        // not the directory name itself.
        Case{"/tmp/**", "/tmp/a/b", true}, Case{"/tmp/**", "/tmp/a", true},
        Case{"/tmp/**", "/tmp/", true}, Case{"/tmp/**", "/tmp", false},
        Case{"/tmp/**", "/tmpx/a", false}, Case{"/tmp/**", "/var/tmp/a", false},
        // Leading "**/": zero or more whole segments.
        Case{"**/.env", "/home/u/.env", true}, Case{"**/.env", "/.env", true},
        Case{"**/.env", ".env", true}, Case{"**/.env", "/home/u/x.env", false},
        Case{"**/.env", "/home/u/.envrc", false}, Case{"**/.env.*", "/p/.env.local", true},
        Case{"**/.env.*", "/p/.env", false}, Case{"**/.netrc", "/root/.netrc", true},
        // Inner "/**/": zero or more whole segments.
        Case{"/a/**/b", "/a/b", true}, Case{"/a/**/b", "/a/x/b", true},
        Case{"/a/**/b", "/a/x/y/b", true}, Case{"/a/**/b", "/a/xb", false},
        Case{"/a/**/b", "/a/x/yb", false}, Case{"/a/**/b", "/ab", false},
        Case{"/a/**/b", "/a/b/c", false}, Case{"/a/**/b/**", "/a/x/b/c/d", true},
        Case{"/a/**/b/*.c", "/a/b/m.c", true}, Case{"/a/**/b/*.c", "/a/1/2/b/m.c", true},
        Case{"/a/**/b/*.c", "/a/1/2/b/x/m.c", false}, Case{"/a/**/*.c", "/a/x/y/z.c", true},
        Case{"/a/**/*.c", "/a/z.c", true}, Case{"/a/**/*.c", "/a/x/y/z.h", false},
        // Two globstars: the later one must be able to take over.
        Case{"/**/x/**/y", "/a/x/b/x/c/y", true}, Case{"/**/x/**/y", "/x/y", true},
        Case{"/**/x/**/y", "/a/y", false},
        // "**" alone matches everything, the empty string too.
        Case{"**", "", true}, Case{"**", "/", true}, Case{"**", "/a/b/c", true},
        // "**" not forming a whole segment: any run, separators included.
        Case{"/a**b", "/ab", true}, Case{"/a**b", "/a/x/b", true}, Case{"/a**b", "/a/x/c", false},
        Case{"/usr/**.so", "/usr/lib/x/libc.so", true}, Case{"***", "/a/b", true},
        // A star after a globstar is still bounded by '/'.
        Case{"/**/*.txt", "/a/b/c.txt", true}, Case{"/**/*.txt", "/a/b/c.txt/d", false}));

INSTANTIATE_TEST_SUITE_P(
    QuestionAndClass, PathGlob,
    ::testing::Values(
        Case{"/a?c", "/abc", true}, Case{"/a?c", "/ac", false}, Case{"/a?c", "/a/c", false},
        Case{"/f[abc]", "/fb", true}, Case{"/f[abc]", "/fd", false}, Case{"/f[a-z]", "/fq", true},
        Case{"/f[a-z]", "/fQ", false}, Case{"/f[!x]", "/fy", true}, Case{"/f[!x]", "/fx", false},
        Case{"/f[^x]", "/fy", true}, Case{"/f[^x]", "/fx", false},
        Case{"/f[!x]", "/f", false},    // a negated class still needs one character
        Case{"/a[/]b", "/a/b", false},  // a class never matches the separator
        Case{"/a[!x]b", "/a/b", false}, Case{"/f[]]", "/f]", true},  // ']' first is a member
        Case{"/f[!]]", "/f]", false}, Case{"/f[!]]", "/fa", true},
        Case{"/f[a-]", "/f-", true},  // trailing '-' is literal
        Case{"/f[0-9a-f]x", "/fcx", true}, Case{"/f[0-9a-f]x", "/fgx", false},
        Case{"/f[\\]]", "/f]", true},  // escaped ']' inside a class
        Case{"/f[", "/f[", true},      // unterminated class: a literal '['
        Case{"/f[ab", "/f[ab", true}, Case{"/f[ab", "/fa", false}));

INSTANTIATE_TEST_SUITE_P(
    Escape, PathGlob,
    ::testing::Values(Case{"/a\\*b", "/a*b", true}, Case{"/a\\*b", "/axb", false},
                      Case{"/a\\?", "/a?", true}, Case{"/a\\?", "/ab", false},
                      Case{"/a\\[x]", "/a[x]", true}, Case{"/a\\[x]", "/ax", false},
                      Case{"/a\\\\b", "/a\\b", true}, Case{"/a\\b", "/ab", true},
                      Case{"/a\\", "/a\\", true}));  // trailing '\' is a literal

// Domains: sep '\0' so '*' crosses dots; case-insensitive.
class DomainGlob : public ::testing::TestWithParam<Case> {};

TEST_P(DomainGlob, Matches) {
  const Case& c = GetParam();
  EXPECT_EQ(match(c.pat, c.text, '\0', true), c.want);
}

INSTANTIATE_TEST_SUITE_P(
    Domains, DomainGlob,
    ::testing::Values(
        Case{"*.evil.com", "a.evil.com", true}, Case{"*.evil.com", "a.b.evil.com", true},
        Case{"*.evil.com", "evil.com", false}, Case{"*.evil.com", "notevil.com", false},
        Case{"*.evil.com", "evil.com.example", false}, Case{"evil.com", "EVIL.com", true},
        Case{"*.evil.com", "X.EVIL.COM", true}, Case{"*", "anything.example", true},
        Case{"*", "", true}, Case{"*.internal", "db.prod.internal", true},
        Case{"api.*.example", "api.x.y.example", true}, Case{"[a-c].example", "B.example", true},
        Case{"[!a-c].example", "B.example", false},
        Case{"registry.npm.example", "registry.npm.example", true},
        Case{"registry.npm.example", "registry.npm.example.evil", false}));

TEST(Glob, CaseSensitivityIsAnOption) {
  EXPECT_FALSE(match("ABC", "abc", '/', false));
  EXPECT_TRUE(match("ABC", "abc", '/', true));
  EXPECT_TRUE(match("a[B-D]c", "acc", '/', true));
  EXPECT_FALSE(match("a[B-D]c", "acc", '/', false));
}

TEST(Glob, EnvNameStyle) {
  // Env and command names use sep '\0' and case-sensitive matching.
  EXPECT_TRUE(match("*_TOKEN", "GITHUB_TOKEN", '\0', false));
  EXPECT_TRUE(match("OPENAI_*_KEY", "OPENAI_ORG_KEY", '\0', false));
  EXPECT_FALSE(match("OPENAI_*_KEY", "OPENAI_KEY", '\0', false));
  EXPECT_TRUE(match("*_SECRET*", "MY_SECRET_VALUE", '\0', false));
  EXPECT_FALSE(match("LC_*", "lc_all", '\0', false));
}

TEST(Glob, ExplicitLengthsAreHonoured) {
  // The pointer+length overload must not read past the given lengths.
  const char pat[] = "/a/*XXXX";
  const char text[] = "/a/bcYYYY";
  EXPECT_TRUE(match(pat, 4, text, 5, '/', false));   // "/a/*" vs "/a/bc"
  EXPECT_FALSE(match(pat, 5, text, 9, '/', false));  // "/a/*X" vs "/a/bcYYYY"
  EXPECT_FALSE(match(pat, 3, text, 5, '/', false));  // "/a/" vs "/a/bc"
  EXPECT_TRUE(match(pat, 0, text, 0, '/', false));
}

TEST(Glob, PathologicalPatternsFinish) {
  // Exponential in a naive recursive matcher; linear-ish here. Correctness only.
  std::string as(5000, 'a');
  EXPECT_FALSE(match("a*a*a*a*a*a*a*a*b", as, '/', false));
  EXPECT_FALSE(match("a*a*a*a*a*a*a*a*b", as, '\0', false));
  EXPECT_TRUE(match("a*a*a*a*a*a*a*a*a", as, '/', false));
  EXPECT_TRUE(match("a*a*a*a*a*a*a*a*", as + "b", '/', false));
  EXPECT_FALSE(match("**a**a**a**a**a**a**b", as, '/', false));
  EXPECT_TRUE(match("**a**a**a**a**a**a**a", as, '/', false));

  // Many segments.
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "/aaaa";
  EXPECT_FALSE(match("/**/a*a*a*a*b", deep, '/', false));
  EXPECT_TRUE(match("/**/a*a*a*a", deep, '/', false));
  EXPECT_FALSE(match("**/*a*/**/*a*/**/b", deep, '/', false));
  EXPECT_TRUE(match("**/*a*/**/*a*/**/aaaa", deep, '/', false));
  EXPECT_FALSE(match("/a*/a*/a*/a*/a*/b", deep, '/', false));

  std::string stars;
  for (int i = 0; i < 200; ++i) stars += "*?";
  EXPECT_FALSE(match(stars + "b", as, '\0', false));
  EXPECT_TRUE(match(stars, as, '\0', false));
}

// A deliberately naive recursive oracle for the documented semantics (exponential, so
// only for short inputs), to cross-check the iterative matcher's backtracking.
// Supports literals, '?', '*', '**' (segment form and any-run form).
bool oracle(std::string_view p, std::string_view t, bool at_seg_start) {
  if (p.empty()) return t.empty();
  if (p[0] == '*') {
    size_t q = 0;
    while (q < p.size() && p[q] == '*') ++q;
    if (q >= 2) {
      if (at_seg_start && q < p.size() && p[q] == '/') {
        // Zero or more whole segments: "" or any run ending with '/'.
        std::string_view rest = p.substr(q + 1);
        if (oracle(rest, t, true)) return true;
        for (size_t k = 0; k < t.size(); ++k) {
          if (t[k] == '/' && oracle(rest, t.substr(k + 1), true)) return true;
        }
        return false;
      }
      for (size_t k = 0; k <= t.size(); ++k) {
        if (oracle(p.substr(q), t.substr(k), false)) return true;
      }
      return false;
    }
    for (size_t k = 0; k <= t.size(); ++k) {
      if (oracle(p.substr(1), t.substr(k), false)) return true;
      if (k < t.size() && t[k] == '/') break;
    }
    return false;
  }
  if (t.empty()) return false;
  if (p[0] == '?') return t[0] != '/' && oracle(p.substr(1), t.substr(1), false);
  return p[0] == t[0] && oracle(p.substr(1), t.substr(1), p[0] == '/');
}

TEST(Glob, AgreesWithNaiveOracleOnRandomInputs) {
  std::mt19937 rng(12345);
  const std::vector<std::string> pat_atoms = {"a", "b", "/", "*", "**", "?", "**/", "/**/"};
  const std::string text_alpha = "ab/";
  int matches = 0;
  for (int iter = 0; iter < 100000; ++iter) {
    std::string pat, text;
    int np = static_cast<int>(rng() % 7), nt = static_cast<int>(rng() % 9);
    for (int i = 0; i < np; ++i) pat += pat_atoms[rng() % pat_atoms.size()];
    for (int i = 0; i < nt; ++i) text += text_alpha[rng() % text_alpha.size()];
    bool want = oracle(pat, text, true);
    matches += want;
    ASSERT_EQ(match(pat, text, '/', false), want)
        << "pattern '" << pat << "' text '" << text << "'";
  }
  EXPECT_GT(matches, 1000);  // the generator produces both outcomes
}

// The same cross-check without a separator (domains, env names): '*' crosses everything.
bool oracle_nosep(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p[0] == '*') {
    for (size_t k = 0; k <= t.size(); ++k) {
      if (oracle_nosep(p.substr(1), t.substr(k))) return true;
    }
    return false;
  }
  if (t.empty()) return false;
  if (p[0] == '?') return oracle_nosep(p.substr(1), t.substr(1));
  return p[0] == t[0] && oracle_nosep(p.substr(1), t.substr(1));
}

TEST(Glob, AgreesWithNaiveOracleWithoutSeparator) {
  std::mt19937 rng(678);
  const std::string pat_alpha = "ab.*?", text_alpha = "ab.";
  int matches = 0;
  for (int iter = 0; iter < 50000; ++iter) {
    std::string pat, text;
    int np = static_cast<int>(rng() % 8), nt = static_cast<int>(rng() % 9);
    for (int i = 0; i < np; ++i) pat += pat_alpha[rng() % pat_alpha.size()];
    for (int i = 0; i < nt; ++i) text += text_alpha[rng() % text_alpha.size()];
    bool want = oracle_nosep(pat, text);
    matches += want;
    ASSERT_EQ(match(pat, text, '\0', false), want)
        << "pattern '" << pat << "' text '" << text << "'";
  }
  EXPECT_GT(matches, 1000);
}

TEST(Glob, LiteralPrefix) {
  auto lp = [](std::string_view p) { return literal_prefix(p.data(), p.size()); };
  EXPECT_EQ(lp("/etc/hosts"), 10u);
  EXPECT_EQ(lp("/tmp/**"), 5u);
  EXPECT_EQ(lp("**/.env"), 0u);
  EXPECT_EQ(lp("/a/b?c"), 4u);
  EXPECT_EQ(lp("/a/[bc]"), 3u);
  EXPECT_EQ(lp("/a\\*"), 2u);  // stops at an escape: pattern bytes differ from text bytes
  EXPECT_EQ(lp(""), 0u);
}

TEST(Glob, HasMeta) {
  EXPECT_FALSE(has_meta("/etc/hosts"));
  EXPECT_FALSE(has_meta("/a{b,c}"));  // braces are expanded before matching
  EXPECT_TRUE(has_meta("/tmp/*"));
  EXPECT_TRUE(has_meta("/a?"));
  EXPECT_TRUE(has_meta("/a[b]"));
  EXPECT_TRUE(has_meta("/a\\b"));
}

TEST(Glob, Validate) {
  EXPECT_EQ(validate("/tmp/**"), nullptr);
  EXPECT_EQ(validate("/a/[a-z]/\\*"), nullptr);
  EXPECT_EQ(validate("/f[]]"), nullptr);
  EXPECT_EQ(validate("*"), nullptr);
  ASSERT_NE(validate(""), nullptr);
  EXPECT_NE(std::string(validate("")).find("empty"), std::string::npos);
  ASSERT_NE(validate("/a["), nullptr);
  EXPECT_NE(std::string(validate("/a[bc")).find("character class"), std::string::npos);
  EXPECT_NE(validate("/a[]"), nullptr);
  EXPECT_NE(validate("/a[!]"), nullptr);
  ASSERT_NE(validate("/a\\"), nullptr);
  EXPECT_NE(std::string(validate("/a\\")).find("backslash"), std::string::npos);
  EXPECT_NE(validate("/a[\\"), nullptr);
  ASSERT_NE(validate("/a[z-a]"), nullptr);
  EXPECT_NE(std::string(validate("/a[z-a]")).find("out of order"), std::string::npos);
  EXPECT_NE(validate("/a[!0-9b-a]"), nullptr);
  EXPECT_EQ(validate("/a[a-a]"), nullptr);
  EXPECT_EQ(validate("/a[-a]"), nullptr);  // leading '-' is a literal
  EXPECT_EQ(validate("/a[a-]"), nullptr);  // trailing '-' is a literal
}

}  // namespace
}  // namespace agentsh::glob
