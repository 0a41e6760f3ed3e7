// open(O_CREAT) means the same to both layers: on an existing file it creates nothing and
// is decided as the read/write it asks for; on a missing file it is a create. The same
// program (tests/cases/ocreat_probe.c) runs under `agentsh exec --no-tracer` (the hook
// alone) and `agentsh exec --no-hook` (the tracer alone, dynamic and static builds), and
// every run must give the same answer — checked against the file system too.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/integration/exec_support.h"

namespace agentsh {
namespace {

using testing_support::agentsh_bin;
using testing_support::base_env;
using testing_support::repo_root;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;
using testing_support::write_test_config;

std::string probe(bool static_build) {
  return repo_root() + "/build/tests/cases/ocreat_probe" + (static_build ? ".static" : "");
}

class OcreatLayers : public ::testing::Test {
 protected:
  void SetUp() override {
    wo_ = dir_.file("wo");
    // In wo/: everything but create. Elsewhere: everything.
    dir_.write("policies/default.yaml", R"(version: 1
name: ocreat
file_rules:
  - name: no-create-in-wo
    paths: [")" + wo_ + R"(/**"]
    operations: [create]
    decision: deny
  - name: all
    paths: ["/**"]
    operations: ["*"]
    decision: allow
command_rules:
  - name: all
    commands: ["*"]
    decision: allow
)");
    dir_.write("wo/existing", "keep me\n");
    config_ = write_test_config(dir_);
  }

  // The probe's answer under one layer: "hook", "tracer" or "tracer-static".
  std::string answer(const std::string& layer, const std::string& mode, const std::string& path) {
    std::vector<std::string> argv = {agentsh_bin(), "exec", "--config", config_};
    argv.push_back(layer == "hook" ? "--no-tracer" : "--no-hook");
    argv.push_back("--");
    argv.push_back(probe(layer == "tracer-static"));
    argv.push_back(mode);
    argv.push_back(path);
    RunResult r = run(argv, base_env(dir_));
    EXPECT_EQ(r.status, 0) << layer << " " << mode << " " << path << ": " << r.err;
    return r.out;
  }

  // Runs the probe under every layer; each must print `want`. `reset` runs before each.
  void expect_all(const std::string& mode, const std::string& path, const std::string& want,
                  const std::function<void()>& reset = {}) {
    for (const char* layer : {"hook", "tracer", "tracer-static"}) {
      if (reset) reset();
      EXPECT_EQ(answer(layer, mode, path), want)
          << "layer " << layer << ", " << mode << " " << path;
    }
  }

  TempDir dir_;
  std::string wo_, config_;
};

TEST_F(OcreatLayers, ExistingFileIsAWriteNotACreate) {
  expect_all("creat", wo_ + "/existing", "ok\n");
  EXPECT_EQ(dir_.read("wo/existing"), "keep me\n");  // O_CREAT without O_TRUNC: untouched
  expect_all("rdonly", wo_ + "/existing", "ok\n");
}

TEST_F(OcreatLayers, TruncOfAnExistingFileTruncates) {
  expect_all("trunc", wo_ + "/existing", "ok\n", [&] { dir_.write("wo/existing", "data\n"); });
  EXPECT_EQ(dir_.read("wo/existing"), "");
}

TEST_F(OcreatLayers, MissingFileIsACreate) {
  expect_all("creat", wo_ + "/new", "errno=EACCES\n");
  EXPECT_FALSE(dir_.exists("wo/new"));
  expect_all("rdonly", wo_ + "/new", "errno=EACCES\n");
  EXPECT_FALSE(dir_.exists("wo/new"));
}

TEST_F(OcreatLayers, ExclusiveCreate) {
  expect_all("excl", wo_ + "/existing", "errno=EEXIST\n");
  expect_all("excl", wo_ + "/new", "errno=EACCES\n");
  EXPECT_FALSE(dir_.exists("wo/new"));
}

TEST_F(OcreatLayers, CreateAllowedElsewhere) {
  expect_all("creat", dir_.file("made"), "ok\n", [&] { unlink(dir_.file("made").c_str()); });
  struct stat st;
  EXPECT_EQ(stat(dir_.file("made").c_str(), &st), 0);
}

// The shipped default policy: `> /dev/null` (O_CREAT|O_TRUNC on a device node) works
// under both layers.
TEST(OcreatDefaultPolicy, RedirectToDevNull) {
  TempDir dir;
  std::string config = write_test_config(dir);
  std::string policy = repo_root() + "/conf/policies/default.yaml";
  for (const char* layer : {"--no-tracer", "--no-hook"}) {
    RunResult r = run({agentsh_bin(), "exec", "--config", config, "--policy", policy, "--workspace",
                       dir.path(), layer, "--", probe(false), "trunc", "/dev/null"},
                      base_env(dir));
    EXPECT_EQ(r.status, 0) << layer << ": " << r.err;
    EXPECT_EQ(r.out, "ok\n") << layer;
  }
}

}  // namespace
}  // namespace agentsh
