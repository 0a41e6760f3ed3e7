// `agentsh exec` start-up work that moved: the DLP database is compiled once and then
// loaded from <state>/cache (a corrupt file is replaced, redaction never changes), the
// cache is out of the agent's reach under either layer, and hook-only execs inside a
// session still get exactly one audit row each, redacted, with the broker's new loop.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "tests/integration/exec_support.h"

namespace agentsh {
namespace {

namespace fs = std::filesystem;
using testing_support::agentsh_bin;
using testing_support::base_env;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;
using testing_support::write_test_config;

constexpr const char* kPolicy = R"(version: 1
name: t
file_rules:
  - name: soft-delete-keep
    paths: ["**/keep/**"]
    operations: [delete]
    decision: soft_delete
  - name: all
    paths: ["/**"]
    operations: ["*"]
    decision: allow
command_rules:
  - name: no-sudo
    commands: [sudo]
    decision: deny
  - name: rest
    commands: ["*"]
    decision: allow
)";

class StartupExec : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("policies/default.yaml", kPolicy);
    config_ = write_test_config(dir_);
    cache_ = dir_.file("state/cache");
  }
  RunResult exec(const std::vector<std::string>& cmd, const char* layer = "--no-tracer") {
    std::vector<std::string> argv = {agentsh_bin(), "exec", "--config", config_, layer, "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv, base_env(dir_));
  }
  std::vector<std::string> cache_files() {
    std::vector<std::string> v;
    if (fs::exists(cache_))
      for (const auto& e : fs::directory_iterator(cache_)) v.push_back(e.path());
    return v;
  }
  RunResult events() {
    return run({agentsh_bin(), "events", "query", "--config", config_, "--json"}, base_env(dir_));
  }
  TempDir dir_;
  std::string config_, cache_;
};

TEST_F(StartupExec, DlpDatabaseIsCompiledOnceThenLoaded) {
  RunResult r = exec({"/bin/sh", "-c", "echo key=AKIAIOSFODNN7EXAMPLE"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "key=[REDACTED:AWS_KEY]\n");
  auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  struct stat st, dst;
  ASSERT_EQ(stat(files[0].c_str(), &st), 0);
  ASSERT_EQ(stat(cache_.c_str(), &dst), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(dst.st_mode & 0777, 0700u);
  // The second run loads it: same file, not rewritten, same redaction.
  ino_t ino = st.st_ino;
  r = exec({"/bin/sh", "-c", "echo key=AKIAIOSFODNN7EXAMPLE"});
  EXPECT_EQ(r.out, "key=[REDACTED:AWS_KEY]\n");
  ASSERT_EQ(stat(files[0].c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, ino);
  EXPECT_EQ(cache_files().size(), 1u);
}

TEST_F(StartupExec, CorruptCacheIsReplacedAndRedactionHolds) {
  exec({"/bin/true"});
  auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  std::ofstream(files[0], std::ios::trunc) << std::string(4096, 'x');
  RunResult r = exec({"/bin/sh", "-c", "echo mail bob@example.com"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "mail [REDACTED:EMAIL]\n");
  EXPECT_GT(fs::file_size(files[0]), 4096u);  // rebuilt: a real database again
}

TEST_F(StartupExec, TheAgentCannotReadOrWriteTheCache) {
  exec({"/bin/true"});
  auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  std::string before;
  {
    std::ifstream in(files[0], std::ios::binary);
    before.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  for (const char* layer : {"--no-tracer", "--no-hook"}) {
    RunResult r = exec({"/bin/sh", "-c",
                        "cat '" + files[0] +
                            "' >/dev/null 2>&1 || echo read-denied; "
                            "echo x 2>/dev/null > '" +
                            files[0] +
                            "' || echo write-denied; "
                            "echo x 2>/dev/null > '" +
                            cache_ + "/planted' || echo plant-denied"},
                       layer);
    EXPECT_EQ(r.status, 0) << layer << ": " << r.err;
    EXPECT_EQ(r.out, "read-denied\nwrite-denied\nplant-denied\n") << layer;
  }
  std::ifstream in(files[0], std::ios::binary);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(after == before);
  EXPECT_FALSE(fs::exists(cache_ + "/planted"));
}

TEST_F(StartupExec, EveryHookOnlyExecIsDecidedAndAuditedOnce) {
  // 30 nested execs through the broker, then a denied one; each leaves one row. (A
  // script: the top-level check would see `sudo` inside an `sh -c` string.)
  testing_support::make_fake_tool(dir_, "sudo");
  dir_.write("loop.sh",
             "i=0; while [ $i -lt 30 ]; do /bin/echo AKIAIOSFODNN7EXAMPLE $i >/dev/null; "
             "i=$((i+1)); done; sudo true 2>/dev/null; echo sudo=$?\n");
  RunResult r = exec({"/bin/sh", dir_.file("loop.sh")});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "sudo=126\n");
  EXPECT_FALSE(dir_.exists("ran-sudo"));
  RunResult q = events();
  ASSERT_EQ(q.status, 0) << q.err;
  size_t rows = 0;
  for (size_t p = q.out.find("/bin/echo [REDACTED:"); p != std::string::npos;
       p = q.out.find("/bin/echo [REDACTED:", p + 1))
    ++rows;
  EXPECT_EQ(rows, 30u) << q.out;
  EXPECT_EQ(q.out.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  EXPECT_NE(q.out.find("no-sudo"), std::string::npos) << q.out;
}

TEST_F(StartupExec, EmptyTrashGoesAwaySoftDeletedFilesStay) {
  for (int i = 0; i < 3; ++i) EXPECT_EQ(exec({"/bin/true"}).status, 0);
  std::string trash = dir_.file("state/trash");
  size_t dirs = 0;
  if (fs::exists(trash))
    for (const auto& e : fs::directory_iterator(trash)) dirs += e.is_directory() ? 1 : 0;
  EXPECT_EQ(dirs, 0u);  // three runs, nothing deleted: no trash left behind
  dir_.write("keep/x.txt", "precious\n");
  for (const char* layer : {"--no-tracer", "--no-hook"}) {
    dir_.write("keep/x.txt", "precious\n");
    RunResult r = exec({"/bin/rm", dir_.file("keep/x.txt")}, layer);
    EXPECT_EQ(r.status, 0) << layer << ": " << r.err;
    EXPECT_FALSE(dir_.exists("keep/x.txt")) << layer;
  }
  size_t kept = 0;
  for (const auto& d : fs::directory_iterator(trash))
    for (const auto& f : fs::directory_iterator(d.path())) {
      std::ifstream in(f.path());
      std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(body, "precious\n");
      ++kept;
    }
  EXPECT_EQ(kept, 2u);
}

}  // namespace
}  // namespace agentsh
