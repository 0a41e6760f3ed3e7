// What `agentsh exec` costs on its own, measured on the real binary against the bare run
// in the same benchmark run (alternating, medians):
//   BM_ExecStartupTrue     `agentsh exec --no-tracer -- /bin/true` vs `/bin/true`
//                          counters: bare_us, exec_us, added_us   (goal: added well < 10 ms)
//   BM_HookOnlyPerExec     one more exec inside a hook-only session (sh loop of /bin/true;
//                          the slope between a 100- and a 400-exec loop, so start-up
//                          cancels out): bare_us, hooked_us, added_us per exec
//   BM_HookStartupTrue     a process that loads libagentsh_hook.so with a snapshot vs bare
//                          (/bin/true): added_us per process
// State (audit db, DLP cache, runtime dirs) lives in a temp dir, like scripts/bench.sh.
// The Time column is the agentsh/hooked figure (manual time).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/integration/hook_harness.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using agentsh::hook_test::build_dir;
using agentsh::hook_test::HookWorld;

// Runs argv (stdout/stderr to /dev/null) with `env` (empty = ours); microseconds, or -1
// if it did not exit 0.
double spawn_us(const std::vector<std::string>& argv, const std::vector<std::string>& env = {}) {
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid;
  int rc = posix_spawn(&pid, av[0], &fa, nullptr, av.data(), env.empty() ? environ : ev.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
  }
  auto t1 = std::chrono::steady_clock::now();
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return std::chrono::duration<double, std::micro>(t1 - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// A state directory and config like scripts/bench.sh's.
class BenchState {
 public:
  BenchState() {
    char t[] = "/tmp/agentsh-startup-bench-XXXXXX";
    dir_ = mkdtemp(t) ? t : "/tmp";
    fs::create_directories(dir_ + "/policies");
    config_ = dir_ + "/config.yaml";
    FILE* f = fopen(config_.c_str(), "w");
    if (f) {
      fprintf(f,
              "sessions:\n  base_dir: \"%s/state/sessions\"\naudit:\n  storage:\n"
              "    sqlite_path: \"%s/state/events.db\"\npolicies:\n  dir: \"%s/policies\"\n",
              dir_.c_str(), dir_.c_str(), dir_.c_str());
      fclose(f);
    }
  }
  ~BenchState() { fs::remove_all(dir_); }
  std::vector<std::string> exec(const std::vector<std::string>& cmd) const {
    std::vector<std::string> a = {(build_dir() / "bin/agentsh").string(),
                                  "exec",
                                  "--config",
                                  config_,
                                  "--workspace",
                                  dir_,
                                  "--no-tracer",
                                  "--"};
    a.insert(a.end(), cmd.begin(), cmd.end());
    return a;
  }

 private:
  std::string dir_, config_;
};

BenchState& state() {
  static BenchState s;
  return s;
}

void BM_ExecStartupTrue(benchmark::State& st) {
  BenchState& s = state();
  spawn_us(s.exec({"/bin/true"}));  // first run builds the DLP cache: not measured
  std::vector<double> bare, exec;
  for (auto _ : st) {
    double b = spawn_us({"/bin/true"});
    double e = spawn_us(s.exec({"/bin/true"}));
    if (b < 0 || e < 0) {
      st.SkipWithError("a run failed");
      return;
    }
    bare.push_back(b);
    exec.push_back(e);
    st.SetIterationTime(e * 1e-6);
  }
  st.counters["bare_us"] = median(bare);
  st.counters["exec_us"] = median(exec);
  st.counters["added_us"] = median(exec) - median(bare);
}

std::vector<std::string> loop(int n) {
  return {"/bin/sh", "-c",
          "i=0; while [ $i -lt " + std::to_string(n) + " ]; do /bin/true; i=$((i+1)); done"};
}

void BM_HookOnlyPerExec(benchmark::State& st) {
  BenchState& s = state();
  std::vector<double> bare, hooked;
  for (auto _ : st) {
    double b1 = spawn_us(loop(100)), b4 = spawn_us(loop(400));
    double h1 = spawn_us(s.exec(loop(100))), h4 = spawn_us(s.exec(loop(400)));
    if (b1 < 0 || b4 < 0 || h1 < 0 || h4 < 0) {
      st.SkipWithError("a run failed");
      return;
    }
    bare.push_back((b4 - b1) / 300);
    hooked.push_back((h4 - h1) / 300);
    st.SetIterationTime(hooked.back() * 1e-6);
  }
  st.counters["bare_us"] = median(bare);
  st.counters["hooked_us"] = median(hooked);
  st.counters["added_us"] = median(hooked) - median(bare);
}

void BM_HookStartupTrue(benchmark::State& st) {
  static HookWorld* w = [] {
    auto* hw = new HookWorld();
    hw->write_snapshot(agentsh::snapshot::kFlagEnforce);
    return hw;
  }();
  std::vector<std::string> hooked_env = w->env();
  std::vector<std::string> bare_env = {"PATH=/usr/bin:/bin", "LANG=C"};
  std::vector<double> bare, hooked;
  for (auto _ : st) {
    for (int i = 0; i < 50; ++i) {
      double b = spawn_us({"/bin/true"}, bare_env);
      double h = spawn_us({"/bin/true"}, hooked_env);
      if (b < 0 || h < 0) {
        st.SkipWithError("a run failed");
        return;
      }
      bare.push_back(b);
      hooked.push_back(h);
    }
    st.SetIterationTime(median(hooked) * 1e-6);
  }
  st.counters["bare_us"] = median(bare);
  st.counters["hooked_us"] = median(hooked);
  st.counters["added_us"] = median(hooked) - median(bare);
}

}  // namespace

BENCHMARK(BM_ExecStartupTrue)->UseManualTime()->Iterations(30)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_HookOnlyPerExec)->UseManualTime()->Iterations(3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HookStartupTrue)->UseManualTime()->Iterations(4)->Unit(benchmark::kMicrosecond);
