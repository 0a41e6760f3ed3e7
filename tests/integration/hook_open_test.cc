// Relative opens and the hook's cwd cache (preload/cwd_cache.h): after every way the
// current directory can change — chdir/fchdir, a vfork child's chdir, the directory
// renamed behind the hook's back, glibc's nftw(FTW_CHDIR) and fts, a thread with its own
// cwd (unshare(CLONE_FS)) — a relative open reaches, and is decided on, the file the
// kernel would open. tests/cases/hook_open_cwd.c prints what each open read.
#include <gtest/gtest.h>

#include "tests/integration/hook_harness.h"

namespace agentsh::hook_test {
namespace {

using policy::Decision;

class HookOpenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = world_.dir() / "w";
    for (const char* d : {"A", "B", "D", "tree/sub"}) fs::create_directories(w_ + "/" + d);
    write_file(w_ + "/A/f", "A-content\n");
    write_file(w_ + "/B/f", "B-content\n");
    write_file(w_ + "/D/f", "D-secret\n");
    // The same name at three levels: a stale cwd reads the wrong one (not ENOENT, which
    // the retry would repair).
    write_file(w_ + "/name", "home-level\n");
    write_file(w_ + "/tree/name", "tree-level\n");
    write_file(w_ + "/tree/sub/name", "sub-level\n");
    auto& b = world_.builder();
    b.add_file_rule("deny-d", "", "", policy::kAllOps, Decision::kDeny, {w_ + "/D/f"});
    b.add_file_rule("allow-all", "", "", policy::kAllOps, Decision::kAllow, {"/**", "/"});
    world_.write_snapshot();
  }
  RunResult cwd_case(const std::vector<std::string>& args) {
    std::vector<std::string> argv{case_bin("hook_open_cwd")};
    argv.insert(argv.end(), args.begin(), args.end());
    return world_.hooked(argv, w_);
  }
  using Lines = std::vector<std::string>;

  HookWorld world_;
  std::string w_;
};

TEST_F(HookOpenTest, RelativeOpenFollowsChdirAndFchdir) {
  RunResult r = cwd_case({"chdir", w_ + "/A", w_ + "/D"});
  EXPECT_EQ(r.lines(), (Lines{"A A-content", "B ERR EACCES", "A-again A-content"})) << r.err;
}

// The vfork child shares the cache's memory but not the cwd: its chdir and open must not
// leave the parent deciding in the child's directory.
TEST_F(HookOpenTest, VforkChildChdirDoesNotMoveTheParent) {
  RunResult r = cwd_case({"vfork", w_ + "/A", w_ + "/B"});
  EXPECT_EQ(r.lines(), (Lines{"parent A-content", "child read B", "parent-again A-content"}))
      << r.err;
}

// Renamed by a raw syscall the hook never sees: the cached path names nothing now, and
// the open is retried with a fresh getcwd.
TEST_F(HookOpenTest, DirectoryRenamedBehindTheCacheIsFoundAgain) {
  RunResult r = cwd_case({"rename", w_ + "/A", w_ + "/A2"});
  EXPECT_EQ(r.lines(), (Lines{"before A-content", "after A-content"})) << r.err;
}

TEST_F(HookOpenTest, NftwWithChdirOpensRelativeToWhereItIs) {
  RunResult r = cwd_case({"nftw", w_ + "/tree"});
  std::vector<std::string> lines = r.lines();
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (Lines{"home home-level", "nftw:name sub-level", "nftw:name tree-level"}))
      << r.err;
}

TEST_F(HookOpenTest, FtsOpensRelativeToWhereItIs) {
  RunResult r = cwd_case({"fts", w_ + "/tree"});
  EXPECT_EQ(r.lines(), (Lines{"fts:name tree-level", "fts:name sub-level", "home home-level"}))
      << r.err;
}

// A thread with its own cwd (unshare(CLONE_FS)): each thread's relative opens are its own.
TEST_F(HookOpenTest, ThreadWithItsOwnCwd) {
  RunResult r = cwd_case({"unshare", w_ + "/A", w_ + "/B"});
  EXPECT_EQ(r.lines(), (Lines{"main A-content", "thread B-content", "main-again A-content"}))
      << r.err;
}

// Relative and absolute spellings of the same files, through the allow cache: same
// answers every time (the cache keeps only plain allows; the denied file stays denied).
TEST_F(HookOpenTest, RepeatedOpensKeepTheirDecisions) {
  std::vector<std::string> args;
  for (int i = 0; i < 3; ++i) {
    for (const std::string p : {"A/f", "D/f", "./A/../D/f", "A//f"}) {
      args.push_back("read");
      args.push_back(p);
    }
  }
  std::vector<std::string> argv{case_bin("hook_fileops")};
  argv.insert(argv.end(), args.begin(), args.end());
  RunResult r = world_.hooked(argv, w_);
  Lines want;
  for (int i = 0; i < 3; ++i) {
    want.insert(want.end(),
                {"read OK A-content", "read ERR EACCES", "read ERR EACCES", "read OK A-content"});
  }
  std::vector<std::string> got;
  for (const auto& l : r.lines())
    if (!l.empty()) got.push_back(l);  // the file's own newline
  EXPECT_EQ(got, want) << r.err;
}

}  // namespace
}  // namespace agentsh::hook_test
