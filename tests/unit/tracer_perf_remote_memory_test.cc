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

// read_exec_args = read_string + read_string_array, in fewer syscalls: same results and
// the same errors wherever the path and the pointer array lie relative to page ends and
// holes.
TEST(TracerPerfRemoteMemory, ExecArgsReadLikeTheTwoSeparateReads) {
  const long page = sysconf(_SC_PAGESIZE);
  char* m = static_cast<char*>(
      mmap(nullptr, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(m, MAP_FAILED);
  ASSERT_EQ(munmap(m + 2 * page, page), 0);  // a hole after two pages
  std::string long_path(3000, 'p');
  const char* strs[] = {"/bin/true", "", "a b"};
  auto check = [&](uint64_t path, uint64_t argv, const char* what) {
    SCOPED_TRACE(what);
    std::string p1, p2;
    std::vector<std::string> a1, a2;
    int r1 = remote_memory::read_string(getpid(), path, 4095, &p1);
    if (r1 == 0) r1 = remote_memory::read_string_array(getpid(), argv, 1 << 20, 1000, &a1);
    int r2 = remote_memory::read_exec_args(getpid(), path, 4095, argv, 1 << 20, 1000, &p2, &a2);
    EXPECT_EQ(r2, r1);
    if (r1 == 0) {
      EXPECT_EQ(p2, p1);
      EXPECT_EQ(a2, a1);
    }
  };
  // The pointer array at the very end of the mapped part (NULL its last word), and one
  // whose NULL would lie in the hole.
  const char** tail = reinterpret_cast<const char**>(m + 2 * page - 4 * sizeof(char*));
  for (int i = 0; i < 3; ++i) tail[i] = strs[i];
  tail[3] = nullptr;
  const char** no_end = reinterpret_cast<const char**>(m + 2 * page - 2 * sizeof(char*));
  no_end[0] = strs[0];
  no_end[1] = strs[1];
  // A pointer array spanning two pages.
  const char** across = reinterpret_cast<const char**>(m + page - 2 * sizeof(char*));
  across[0] = strs[0];
  across[1] = strs[2];
  across[2] = strs[1];
  across[3] = nullptr;
  // A path ending right before the hole, and one running into it.
  char* edge = m + 2 * page - 40;
  memcpy(edge, "/usr/bin/at-the-edge", 21);
  char* open_end = m + 2 * page - 8;
  memset(open_end, 'x', 8);

  check(addr_of(strs[0]), addr_of(tail), "plain, array ends at a hole");
  check(addr_of(long_path.c_str()), addr_of(tail), "path longer than the first chunk");
  check(addr_of(edge), addr_of(across), "path at a page end, array across pages");
  check(addr_of(strs[0]), 0, "NULL argv");
  check(addr_of(strs[0]), addr_of(no_end), "array without NULL before the hole");
  check(addr_of(open_end), addr_of(tail), "path without NUL before the hole");
  check(addr_of(m + 2 * page), addr_of(tail), "path in the hole");
  check(0, addr_of(tail), "NULL path");
  check(addr_of(strs[0]), addr_of(m + 2 * page), "array in the hole");
  std::string too_long(5000, 'l');
  check(addr_of(too_long.c_str()), addr_of(tail), "path too long");
  munmap(m, 2 * page);
}

}  // namespace
}  // namespace agentsh::tracer
