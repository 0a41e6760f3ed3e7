// ImageHeaderCache: an entry is found only for the very file version it was stored for.
#include "tracer/image_header_cache.h"

#include <gtest/gtest.h>

namespace agentsh::tracer {
namespace {

struct stat version(ino_t ino) {
  struct stat st {};
  st.st_dev = 0x801;
  st.st_ino = ino;
  st.st_size = 100;
  st.st_mtim = {1700000000, 5};
  st.st_ctim = {1700000000, 7};
  return st;
}

TEST(ImageHeaderCacheTest, FindsTheStoredVersionOnly) {
  ImageHeaderCache c;
  ImageHeaderCache::Header h{"#!/bin/sh\n", false}, got;
  struct stat st = version(42);
  EXPECT_FALSE(c.find(st, &got));
  c.put(st, h);
  ASSERT_TRUE(c.find(st, &got));
  EXPECT_EQ(got.head, "#!/bin/sh\n");
  EXPECT_FALSE(got.dynamic);

  struct stat other = st;
  other.st_ctim.tv_nsec = 8;  // rewritten: a new change time
  EXPECT_FALSE(c.find(other, &got));
  other = st;
  other.st_mtim.tv_sec += 1;
  EXPECT_FALSE(c.find(other, &got));
  other = st;
  other.st_size = 101;
  EXPECT_FALSE(c.find(other, &got));
  other = st;
  other.st_dev = 0x802;  // same inode number on another filesystem
  EXPECT_FALSE(c.find(other, &got));
  EXPECT_FALSE(c.find(version(43), &got));

  // A new version replaces nothing of the old one's answer for its own key.
  c.put(other, ImageHeaderCache::Header{"\x7f"
                                        "ELF",
                                        true});
  ASSERT_TRUE(c.find(other, &got));
  EXPECT_TRUE(got.dynamic);
  ASSERT_TRUE(c.find(st, &got));
  EXPECT_EQ(got.head, "#!/bin/sh\n");
}

TEST(ImageHeaderCacheTest, StaysBounded) {
  ImageHeaderCache c;
  ImageHeaderCache::Header h{"x", true}, got;
  for (size_t i = 0; i < ImageHeaderCache::kMaxEntries; ++i) c.put(version(1000 + i), h);
  EXPECT_TRUE(c.find(version(1000), &got));
  c.put(version(1), h);  // full: cleared, then stored
  EXPECT_FALSE(c.find(version(1000), &got));
  EXPECT_TRUE(c.find(version(1), &got));
}

}  // namespace
}  // namespace agentsh::tracer
