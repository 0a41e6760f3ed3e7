// Cost of an exec in broker mode (hook-only), with and without the snapshot's exec fast
// table: the same loop (tests/cases/hook_bench_loop.c, fork + exec /bin/true) runs bare
// and hooked, alternately, in the same run. Without the table every exec is one datagram
// round trip to the (fake) broker; with it the hook decides in-process and only sends
// the audit datagram. Counters as in hook_bench.cc: bare_ns, hooked_ns, added_ns, ratio.
// Also the in-process parts alone, on the shipped default policy: View::exec_fast_allow
// for a few commands, and View::attach (every hooked process validates the table once).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "policy/command_unwrap.h"
#include "policy/engine.h"
#include "policy/loader.h"
#include "tests/integration/hook_harness.h"

namespace {

using agentsh::hook_test::case_bin;
using agentsh::hook_test::HookWorld;
using agentsh::hook_test::run;
using agentsh::policy::Decision;
using agentsh::policy::kAllOps;
namespace snapshot = agentsh::snapshot;

class ExecWorld {
 public:
  explicit ExecWorld(bool fast_table) {
    auto& b = world_.builder();
    b.add_file_rule("allow-all", "", "", kAllOps, Decision::kAllow, {"/", "/**"});
    if (fast_table) {
      b.enable_exec_fast();
      b.add_exec_rule(Decision::kDeny, false, {{"sudo", false, false}});
      b.add_exec_rule(Decision::kAllow, false, {{"*", false, false}});
      for (const std::string& w : agentsh::command_unwrap::wrapper_names()) b.add_exec_wrapper(w);
    }
    world_.write_snapshot(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  }
  HookWorld& world() { return world_; }

 private:
  HookWorld world_;
};

ExecWorld& with_table() {
  static ExecWorld w(true);
  return w;
}
ExecWorld& without_table() {
  static ExecWorld w(false);
  return w;
}

double loop_ns(const std::vector<std::string>& env, long n, int rounds) {
  auto r = run(
      {case_bin("hook_bench_loop"), "exec", "/bin/true", std::to_string(n), std::to_string(rounds)},
      env, "");
  if (r.status != 0) {
    fprintf(stderr, "hook_bench_loop exec: status %d: %s\n", r.status, r.err.c_str());
    return -1;
  }
  return std::stod(r.out);
}

void exec_vs_bare(benchmark::State& state, ExecWorld& w) {
  std::vector<std::string> hooked_env = w.world().env();
  std::vector<std::string> bare_env{"PATH=/usr/bin:/bin", "LANG=C"};
  double best_bare = 1e30, best_hooked = 1e30;
  bool hooked_first = false;
  for (auto _ : state) {
    double h = hooked_first ? loop_ns(hooked_env, 300, 3) : 0;
    double b = loop_ns(bare_env, 300, 3);
    if (!hooked_first) h = loop_ns(hooked_env, 300, 3);
    hooked_first = !hooked_first;
    if (b < 0 || h < 0) {
      state.SkipWithError("the loop failed");
      return;
    }
    best_bare = std::min(best_bare, b);
    best_hooked = std::min(best_hooked, h);
    state.SetIterationTime(h * 1e-9);
  }
  state.counters["bare_ns"] = best_bare;
  state.counters["hooked_ns"] = best_hooked;
  state.counters["added_ns"] = best_hooked - best_bare;
  state.counters["ratio"] = best_hooked / best_bare;
}

void BM_HookExecBrokerModeRoundTrip(benchmark::State& s) {
  exec_vs_bare(s, without_table());
}
void BM_HookExecBrokerModeFastTable(benchmark::State& s) {
  exec_vs_bare(s, with_table());
}

// The shipped default policy, compiled once (with or without the exec fast table).
std::unique_ptr<agentsh::policy::Engine> compile_default(bool table) {
  std::string here = __FILE__;  // tests/bench/hook_exec_fast_bench.cc
  std::string path = here.substr(0, here.rfind('/') + 1) + "../../conf/policies/default.yaml";
  agentsh::policy::LoadResult r = agentsh::policy::load_policy_file(path);
  agentsh::policy::Variables vars = {{"HOME", "/root"}, {"PROJECT_ROOT", "/root/proj"}};
  agentsh::policy::EngineOptions eo;
  eo.exec_fast_table = table;
  std::string err;
  auto eng = agentsh::policy::Engine::compile(r.policy, vars, eo, &err);
  if (!eng) {
    fprintf(stderr, "cannot compile %s: %s\n", path.c_str(), err.c_str());
    abort();
  }
  return eng;
}
const agentsh::policy::Engine& shipped_default() {
  static std::unique_ptr<agentsh::policy::Engine> e = compile_default(true);
  return *e;
}
const agentsh::policy::Engine& shipped_default_no_table() {
  static std::unique_ptr<agentsh::policy::Engine> e = compile_default(false);
  return *e;
}

void BM_ExecFastLookup(benchmark::State& state, const char* argv0, const char* resolved,
                       bool want) {
  const snapshot::View& v = shipped_default().view();
  if (v.exec_fast_allow(argv0, resolved) != want) {
    state.SkipWithError("unexpected answer");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(v.exec_fast_allow(argv0, resolved));
}
BENCHMARK_CAPTURE(BM_ExecFastLookup, bin_true, "/bin/true", "/usr/bin/true", true);
BENCHMARK_CAPTURE(BM_ExecFastLookup, cc1, "/usr/lib/gcc/x86_64-linux-gnu/12/cc1",
                  "/usr/lib/gcc/x86_64-linux-gnu/12/cc1", true);
BENCHMARK_CAPTURE(BM_ExecFastLookup, git_asks, "git", "/usr/bin/git", false);
BENCHMARK_CAPTURE(BM_ExecFastLookup, sh_asks, "sh", "/usr/bin/dash", false);

void BM_SnapshotAttachShippedDefault(benchmark::State& state, bool table) {
  const std::string& blob =
      (table ? shipped_default() : shipped_default_no_table()).snapshot_bytes();
  for (auto _ : state) {
    snapshot::View v;
    benchmark::DoNotOptimize(v.attach(blob.data(), blob.size()));
  }
  state.counters["bytes"] = static_cast<double>(blob.size());
}
BENCHMARK_CAPTURE(BM_SnapshotAttachShippedDefault, with_exec_table, true);
BENCHMARK_CAPTURE(BM_SnapshotAttachShippedDefault, without_exec_table, false);

BENCHMARK(BM_HookExecBrokerModeRoundTrip)
    ->UseManualTime()
    ->Iterations(6)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HookExecBrokerModeFastTable)
    ->UseManualTime()
    ->Iterations(6)
    ->Unit(benchmark::kMicrosecond);

}  // namespace
