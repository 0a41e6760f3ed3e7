// `agentsh exec` reads validated policies back from <state>/policy-cache
// (policy/loader_cache.h). What must hold: an edited policy file takes effect on the
// very next run (the key is the content), a corrupt cache file changes nothing and is
// rewritten, a broken policy reports the same file:line:col every time and is never
// cached, and the agent can neither read nor plant cache files.
#include <gtest/gtest.h>

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

std::string policy_denying(const std::string& cmd) {
  return "version: 1\nname: t\nfile_rules:\n  - name: all\n    paths: [\"/**\"]\n"
         "    operations: [\"*\"]\n    decision: allow\ncommand_rules:\n  - name: no-" +
         cmd + "\n    commands: [" + cmd +
         "]\n    decision: deny\n  - name: rest\n    commands: [\"*\"]\n    decision: allow\n";
}

class Startup2PolicyCache : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_.write("policies/default.yaml", policy_denying("sudo"));
    config_ = write_test_config(dir_);
    cache_ = dir_.file("state/policy-cache");
    testing_support::make_fake_tool(dir_, "sudo");
    testing_support::make_fake_tool(dir_, "doas");
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
  TempDir dir_;
  std::string config_, cache_;
};

TEST_F(Startup2PolicyCache, EditedPolicyTakesEffectOnTheNextRun) {
  // Two runs: the first may find no state directory yet; the second stores the entry.
  EXPECT_EQ(exec({"sudo", "true"}).status, 126);
  RunResult r = exec({"sudo", "true"});
  EXPECT_EQ(r.status, 126);
  EXPECT_NE(r.err.find("rule=no-sudo"), std::string::npos) << r.err;
  EXPECT_FALSE(dir_.exists("ran-sudo"));
  ASSERT_EQ(cache_files().size(), 1u);
  r = exec({"doas", "x"});  // served from the cache
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "EXECUTED-doas x\n");

  // Same length, same directory, right away: only the content differs.
  dir_.write("policies/default.yaml", policy_denying("doas"));
  r = exec({"doas", "x"});
  EXPECT_EQ(r.status, 126) << r.out;
  EXPECT_NE(r.err.find("rule=no-doas"), std::string::npos) << r.err;
  r = exec({"sudo", "true"});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.out, "EXECUTED-sudo true\n");
  EXPECT_EQ(cache_files().size(), 2u);  // one entry per content
}

TEST_F(Startup2PolicyCache, CorruptEntryIsIgnoredAndRewritten) {
  exec({"/bin/true"});
  exec({"/bin/true"});
  auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  uintmax_t good_size = fs::file_size(files[0]);
  // Garbage that still starts like a cache file would, and a truncated one.
  for (const std::string& junk : {std::string("AGSHPOLC") + std::string(500, '\x01'),
                                  std::string(4096, 'x'), std::string()}) {
    std::ofstream(files[0], std::ios::binary | std::ios::trunc) << junk;
    RunResult r = exec({"sudo", "true"});
    EXPECT_EQ(r.status, 126) << r.err;
    EXPECT_NE(r.err.find("rule=no-sudo"), std::string::npos) << r.err;
    EXPECT_FALSE(dir_.exists("ran-sudo"));
    EXPECT_EQ(fs::file_size(files[0]), good_size);  // a valid entry again
  }
}

TEST_F(Startup2PolicyCache, BrokenPolicyNamesFileLineColumnEveryTimeAndIsNotCached) {
  exec({"/bin/true"});
  exec({"/bin/true"});
  ASSERT_EQ(cache_files().size(), 1u);
  dir_.write("policies/default.yaml",
             "version: 1\nname: t\ncommand_rules:\n  - name: x\n    commands: [a]\n"
             "    decison: deny\n");
  std::string first;
  for (int i = 0; i < 2; ++i) {
    RunResult r = exec({"/bin/true"});
    EXPECT_EQ(r.status, 2);
    EXPECT_NE(r.err.find(dir_.file("policies/default.yaml") + ":6:5"), std::string::npos) << r.err;
    if (i == 0) first = r.err;
    EXPECT_EQ(r.err, first);
  }
  EXPECT_EQ(cache_files().size(), 1u);
}

TEST_F(Startup2PolicyCache, TheAgentCannotReadOrPlantCacheFiles) {
  exec({"/bin/true"});
  exec({"/bin/true"});
  auto files = cache_files();
  ASSERT_EQ(files.size(), 1u);
  for (const char* layer : {"--no-tracer", "--no-hook"}) {
    RunResult r = exec({"/bin/sh", "-c",
                        "cat '" + files[0] + "' >/dev/null 2>&1 || echo read-denied; " +
                            "echo x 2>/dev/null > '" + cache_ + "/planted' || echo plant-denied"},
                       layer);
    EXPECT_EQ(r.status, 0) << layer << ": " << r.err;
    EXPECT_EQ(r.out, "read-denied\nplant-denied\n") << layer;
  }
  EXPECT_FALSE(fs::exists(cache_ + "/planted"));
}

}  // namespace
}  // namespace agentsh
