// Helpers for integration tests that drive the built agentsh binary.
#pragma once

#include <string>
#include <vector>

namespace agentsh::testing_support {

struct RunResult {
  int status = -1;  // exit code, or 128+signal
  std::string out, err;
};

// Runs argv with `env` (a full environment: nothing inherited) and `input` on stdin.
// Times out (kills the process group) after `timeout_s` and reports status -1.
// `cwd` empty = inherit.
RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              const std::string& input = "", int timeout_s = 60, const std::string& cwd = "");

// build/bin/agentsh as an absolute path (tests run from the repository root).
std::string agentsh_bin();
std::string repo_root();

// A scratch directory removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  void write(const std::string& name, const std::string& content, int mode = 0644) const;
  std::string read(const std::string& name) const;
  bool exists(const std::string& name) const;

 private:
  std::string path_;
};

// Writes a config.yaml into `dir` whose state (audit db, sessions) and policies dir live
// under `dir`, and returns its path. `extra` is appended (YAML).
std::string write_test_config(const TempDir& dir, const std::string& extra = "");

// A fake tool: a shell script at dir/bin/NAME that records that it ran (touches
// dir/ran-NAME) and prints EXECUTED-NAME.
void make_fake_tool(const TempDir& dir, const std::string& name);

// The default environment for a run: PATH (fake bin dir first), HOME, LANG.
std::vector<std::string> base_env(const TempDir& dir);

}  // namespace agentsh::testing_support
