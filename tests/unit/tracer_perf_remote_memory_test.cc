// remote_memory::read_string_array reads argv heads in batches (one process_vm_readv per
// 64 strings): the copies must be exact whatever the lengths, and unreadable memory must
// still be an error. Read from our own process (process_vm_readv on oneself).
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "tracer/remote_memory.h"

namespace agentsh::tracer {
namespace {

uint64_t addr_of(const void* p) {
  return reinterpret_cast<uint64_t>(p);
}

TEST(TracerPerfRemoteMemory, ManyStringsOfMixedLengthsAreCopiedExactly) {
  std::vector<std::string> want;
  for (int i = 0; i < 3000; ++i) {
    // Short ones, ones just around the 256-byte head, long ones (several pages).
    size_t len = (i % 7 == 0) ? 255 + (i % 3) : (i % 101 == 0) ? 9000 + i : (i % 13);
    std::string s(len, static_cast<char>('a' + i % 26));
    want.push_back(s);
  }
  want.push_back("");
  std::vector<const char*> ptrs;
  for (const auto& s : want) ptrs.push_back(s.c_str());
  ptrs.push_back(nullptr);
  std::vector<std::string> got;
  ASSERT_EQ(
      remote_memory::read_string_array(getpid(), addr_of(ptrs.data()), 64 << 20, 1 << 20, &got), 0);
  EXPECT_EQ(got, want);
}

TEST(TracerPerfRemoteMemory, StringEndingAtAnUnmappedPageIsRead) {
  const long page = sysconf(_SC_PAGESIZE);
  char* m = static_cast<char*>(
      mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  ASSERT_EQ(munmap(m + page, page), 0);
  char* s = m + page - 4;  // "abc\0" is the last 4 bytes before the hole
  memcpy(s, "abc", 4);
  const char* argv[] = {"x", s, "y", nullptr};
  std::vector<std::string> got;
  EXPECT_EQ(remote_memory::read_string_array(getpid(), addr_of(argv), 1 << 20, 100, &got), 0);
  EXPECT_EQ(got, (std::vector<std::string>{"x", "abc", "y"}));
  // A string running into the hole has no end: EFAULT, as the kernel's execve says.
  memset(m + page - 4, 'z', 4);
  EXPECT_EQ(remote_memory::read_string_array(getpid(), addr_of(argv), 1 << 20, 100, &got), -EFAULT);
  // A pointer into the hole: EFAULT.
  const char* bad[] = {"x", m + page, nullptr};
  EXPECT_EQ(remote_memory::read_string_array(getpid(), addr_of(bad), 1 << 20, 100, &got), -EFAULT);
  munmap(m, page);
}

TEST(TracerPerfRemoteMemory, LimitsGiveE2BIG) {
  std::string big(5000, 'q');
  const char* argv[] = {"a", big.c_str(), nullptr};
  std::vector<std::string> got;
  EXPECT_EQ(remote_memory::read_string_array(getpid(), addr_of(argv), 4000, 100, &got), -E2BIG);
  EXPECT_EQ(remote_memory::read_string_array(getpid(), addr_of(argv), 1 << 20, 1, &got), -E2BIG);
  const char* small[] = {"abcdef", "gh", nullptr};
  EXPECT_EQ(remote_memory::read_string_array(getpid(), addr_of(small), 5, 100, &got), -E2BIG);
  EXPECT_EQ(remote_memory::read_string_array(getpid(), addr_of(small), 100, 100, &got), 0);
  EXPECT_EQ(got, (std::vector<std::string>{"abcdef", "gh"}));
}

}  // namespace
}  // namespace agentsh::tracer
