// Tests for common/path_util: lexical normalisation, joining and containment.
#include "common/path_util.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <string_view>

namespace agentsh::path_util {
namespace {

std::string norm(std::string_view p, size_t cap = 4096) {
  std::string out(cap, '\xAA');
  size_t n = normalize(p.data(), p.size(), out.data(), cap);
  if (n == 0) return "<fail>";
  EXPECT_EQ(out[n], '\0') << "not NUL-terminated: " << p;
  EXPECT_EQ(strlen(out.c_str()), n);
  return out.substr(0, n);
}

std::string join(std::string_view base, std::string_view rel, size_t cap = 4096) {
  std::string out(cap, '\xAA');
  size_t n = join_normalize(base.data(), base.size(), rel.data(), rel.size(), out.data(), cap);
  if (n == 0) return "<fail>";
  EXPECT_EQ(out[n], '\0');
  return out.substr(0, n);
}

struct NormCase {
  const char* in;
  const char* want;
};

class Normalize : public ::testing::TestWithParam<NormCase> {};

TEST_P(Normalize, Works) {
  EXPECT_EQ(norm(GetParam().in), GetParam().want) << GetParam().in;
}

INSTANTIATE_TEST_SUITE_P(
    All, Normalize,
    ::testing::Values(NormCase{"/", "/"}, NormCase{"//", "/"}, NormCase{"///a//b//", "/a/b"},
                      NormCase{"/a/b/", "/a/b"}, NormCase{"/a/./b/.", "/a/b"}, NormCase{"/./", "/"},
                      NormCase{"/a/../b", "/b"}, NormCase{"/a/b/..", "/a"},
                      NormCase{"/a/b/../..", "/"}, NormCase{"/..", "/"},
                      NormCase{"/../../etc/passwd", "/etc/passwd"}, NormCase{"/a/../../../b", "/b"},
                      NormCase{"/a/..b/c", "/a/..b/c"}, NormCase{"/a/.b/c", "/a/.b/c"},
                      NormCase{"/a/.../c", "/a/.../c"},
                      NormCase{"/tmp/../etc/shadow", "/etc/shadow"},
                      NormCase{"/a/b/../../c/./d/../e", "/c/e"},
                      // Relative or empty input: refused, never guessed.
                      NormCase{"", "<fail>"}, NormCase{"a/b", "<fail>"}, NormCase{"./a", "<fail>"},
                      NormCase{"../a", "<fail>"}));

TEST(PathUtil, JoinRelative) {
  EXPECT_EQ(join("/home/u", "src/main.c"), "/home/u/src/main.c");
  EXPECT_EQ(join("/home/u/", "./src//main.c"), "/home/u/src/main.c");
  EXPECT_EQ(join("/home/u", "../v/x"), "/home/v/x");
  EXPECT_EQ(join("/home/u", "../../../../x"), "/x");
  EXPECT_EQ(join("/home/u", ""), "/home/u");
  EXPECT_EQ(join("/home/u", "."), "/home/u");
  EXPECT_EQ(join("/home/u", ".."), "/home");
  EXPECT_EQ(join("/", "a"), "/a");
  EXPECT_EQ(join("/a/./b/../c", "d"), "/a/c/d");  // the base is normalised too
}

TEST(PathUtil, JoinAbsoluteIgnoresBase) {
  EXPECT_EQ(join("/home/u", "/etc/hosts"), "/etc/hosts");
  EXPECT_EQ(join("/home/u", "//etc/../etc/hosts"), "/etc/hosts");
}

TEST(PathUtil, BufferTooSmall) {
  // "/a/b" needs 5 bytes with its NUL.
  EXPECT_EQ(norm("/a/b", 5), "/a/b");
  EXPECT_EQ(norm("/a/b", 4), "<fail>");
  EXPECT_EQ(norm("/", 2), "/");
  EXPECT_EQ(norm("/", 1), "<fail>");
  char c;
  EXPECT_EQ(normalize("/", 1, &c, 0), 0u);
  // Only the final result has to fit, not a longer intermediate.
  EXPECT_EQ(norm("/aaaaaaaa/../b", 3), "/b");
  EXPECT_EQ(norm("/x/aaaaaaaa/bbbbbbbb/../../y", 5), "/x/y");
  EXPECT_EQ(norm("/x/aaaaaaaa/bbbbbbbb/../y", 5), "<fail>");
  EXPECT_EQ(join("/x/aaaaaaaa", "../y", 5), "/x/y");
  EXPECT_EQ(join("/home/user", "x", 12), "<fail>");  // "/home/user/x" is 12 chars
  EXPECT_EQ(join("/home/user", "x", 13), "/home/user/x");
}

TEST(PathUtil, NeverWritesPastCapacity) {
  char buf[8];
  memset(buf, 'Z', sizeof buf);
  EXPECT_EQ(normalize("/abcdefghij", 11, buf, 6), 0u);
  // Bytes beyond the capacity are untouched.
  EXPECT_EQ(buf[6], 'Z');
  EXPECT_EQ(buf[7], 'Z');
}

struct UnderCase {
  const char* path;
  const char* dir;
  bool want;
};

class IsUnder : public ::testing::TestWithParam<UnderCase> {};

TEST_P(IsUnder, Works) {
  const UnderCase& c = GetParam();
  EXPECT_EQ(is_under(c.path, strlen(c.path), c.dir, strlen(c.dir)), c.want)
      << c.path << " under " << c.dir;
}

INSTANTIATE_TEST_SUITE_P(
    All, IsUnder,
    ::testing::Values(UnderCase{"/a", "/a", true}, UnderCase{"/a/b", "/a", true},
                      UnderCase{"/a/b/c", "/a", true}, UnderCase{"/ab", "/a", false},
                      UnderCase{"/a", "/a/b", false}, UnderCase{"/a/b", "/a/", true},
                      UnderCase{"/a", "/a/", true}, UnderCase{"/anything", "/", true},
                      UnderCase{"/", "/", true}, UnderCase{"/a/b", "//", true},
                      UnderCase{"/b", "/a", false}, UnderCase{"", "/a", false},
                      UnderCase{"/a", "", false}, UnderCase{"", "", false},
                      UnderCase{"relative", "/", false}));

}  // namespace
}  // namespace agentsh::path_util
