// The hook's one-name fast path for the stat family (preload/file_guard.cc one_name):
// a single name relative to a dirfd or the cwd is looked up without a strict O_PATH
// handle. These tests show that what the shortcut must not let through still fails:
// a symlink (absolute or relative) to a denied file or directory, a denied directory
// reached through its dirfd, "..", a dirfd opened through /proc/self/root or a symlink.
// Every answer is compared with the inode the kernel reports without the hook.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/hook_harness.h"

namespace agentsh::hook_test {
namespace {

using policy::Decision;
using policy::FileOp;

class HookPerfStatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = world_.dir() / "w";
    fs::create_directories(w_ + "/sub");
    fs::create_directories(w_ + "/secretdir");
    fs::create_directories(w_ + "/nostat");
    write_file(w_ + "/nostat/f", "f");
    write_file(w_ + "/ok", "ok");
    write_file(w_ + "/secret", "secret");
    write_file(w_ + "/secretdir/f", "f");
    fs::create_symlink(w_ + "/secret", w_ + "/link");
    fs::create_symlink("secret", w_ + "/rlink");
    fs::create_symlink("sub/../secret", w_ + "/dotlink");
    fs::create_symlink(w_ + "/secretdir", w_ + "/ldir");
    fs::create_symlink("/proc/self/root" + w_ + "/secret", w_ + "/proclink");
    fs::create_symlink("ok", w_ + "/oklink");
    fs::create_symlink(w_, world_.dir() / "wlink");
    auto& b = world_.builder();
    b.add_file_rule("deny-secret", "", "", policy::kAllOps, Decision::kDeny,
                    {w_ + "/secret", w_ + "/secretdir", w_ + "/secretdir/**"});
    // Listable (a dirfd can be opened) but nothing in it may be looked at.
    b.add_file_rule("deny-stat", "", "", ops({FileOp::kStat}), Decision::kDeny,
                    {w_ + "/nostat", w_ + "/nostat/**"});
    b.add_file_rule(
        "allow-w", "", "", policy::kAllOps, Decision::kAllow,
        {w_, w_ + "/**", world_.dir().path().string(), world_.dir().path().string() + "/**"});
    b.add_file_rule(
        "allow-system", "", "", policy::kAllOps, Decision::kAllow,
        {"/", "/usr/**", "/lib/**", "/lib64/**", "/etc/**", "/proc/**", "/dev/**", "/tmp"});
    world_.write_snapshot();
  }

  static std::string ino(const std::string& p, bool follow = true) {
    struct stat st {};
    int r = follow ? ::stat(p.c_str(), &st) : ::lstat(p.c_str(), &st);
    if (r != 0) return "ERR";
    return "OK " + std::to_string(st.st_ino);
  }

  // The five lines hookperf_stat prints for one (dir, name) pair.
  static std::vector<std::string> five(const std::string& follow, const std::string& nofollow) {
    return {"fstatat " + follow, "fstatat-nofollow " + nofollow, "statx " + follow,
            "statx-nofollow " + nofollow, "stat " + follow};
  }

  RunResult probe(const std::vector<std::string>& pairs, const std::string& cwd = "") {
    std::vector<std::string> argv{case_bin("hookperf_stat")};
    argv.insert(argv.end(), pairs.begin(), pairs.end());
    return world_.hooked(argv, cwd);
  }

  HookWorld world_;
  std::string w_;
};

TEST_F(HookPerfStatTest, SymlinksToDeniedObjectsAreDeniedWhenFollowed) {
  for (const char* name : {"link", "rlink", "dotlink", "ldir", "proclink"}) {
    SCOPED_TRACE(name);
    RunResult r = probe({w_, name});
    ASSERT_EQ(r.status, 0) << r.err;
    // Following: the target is denied. Not following: the link itself, in an allowed
    // directory, is what is looked at.
    EXPECT_EQ(r.lines(), five("ERR EACCES", ino(w_ + "/" + name, false)));
  }
}

TEST_F(HookPerfStatTest, SameThroughTheCwd) {
  RunResult r = probe({"-", "link", "-", "ldir", "-", "ok", "-", "oklink"}, w_);
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> want = five("ERR EACCES", ino(w_ + "/link", false));
  for (auto& l : five("ERR EACCES", ino(w_ + "/ldir", false))) want.push_back(l);
  for (auto& l : five(ino(w_ + "/ok"), ino(w_ + "/ok"))) want.push_back(l);
  for (auto& l : five(ino(w_ + "/ok"), ino(w_ + "/oklink", false))) want.push_back(l);
  EXPECT_EQ(r.lines(), want);
}

TEST_F(HookPerfStatTest, DeniedNamesAndDeniedDirectoriesStayDenied) {
  RunResult r = probe({w_, "secret", w_ + "/nostat", "f", w_ + "/nostat", ".", w_ + "/sub", "..",
                       w_ + "/sub", "missing"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> want = five("ERR EACCES", "ERR EACCES");
  for (auto& l : five("ERR EACCES", "ERR EACCES")) want.push_back(l);
  for (auto& l : five("ERR EACCES", "ERR EACCES")) want.push_back(l);
  for (auto& l : five(ino(w_), ino(w_))) want.push_back(l);
  for (auto& l : five("ERR ENOENT", "ERR ENOENT")) want.push_back(l);
  EXPECT_EQ(r.lines(), want);
}

TEST_F(HookPerfStatTest, DirfdOpenedThroughProcRootOrASymlinkIsDecidedOnItsRealPath) {
  std::string via_proc = "/proc/self/root" + w_;
  std::string via_link = world_.dir() / "wlink";
  RunResult r = probe({via_proc, "secret", via_proc, "link", via_link, "secret", via_link, "ok"});
  ASSERT_EQ(r.status, 0) << r.err;
  std::vector<std::string> want = five("ERR EACCES", "ERR EACCES");
  for (auto& l : five("ERR EACCES", ino(w_ + "/link", false))) want.push_back(l);
  for (auto& l : five("ERR EACCES", "ERR EACCES")) want.push_back(l);
  for (auto& l : five(ino(w_ + "/ok"), ino(w_ + "/ok"))) want.push_back(l);
  EXPECT_EQ(r.lines(), want);
}

}  // namespace
}  // namespace agentsh::hook_test
