// Cost of libagentsh_hook.so on the allow path, measured on real processes: the same
// loop (tests/cases/hook_bench_loop.c) runs bare and with the hook preloaded, alternately,
// in the same benchmark run. Counters per benchmark:
//   bare_ns    ns per operation without the hook (best of the runs)
//   hooked_ns  ns per operation with the hook (best of the runs)
//   added_ns   hooked_ns - bare_ns          target for open(): < 150 ns
//   ratio      hooked_ns / bare_ns
// The Time column is hooked_ns (manual time). The snapshot carries the reference default
// policy's file rules (PROJECT_ROOT = a temp dir), so decisions walk a realistic rule list.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "tests/integration/hook_harness.h"

namespace {

using agentsh::hook_test::case_bin;
using agentsh::hook_test::HookWorld;
using agentsh::hook_test::ops;
using agentsh::hook_test::run;
using agentsh::policy::Decision;
using agentsh::policy::FileOp;
using agentsh::policy::kAllOps;
namespace snapshot = agentsh::snapshot;
namespace fs = std::filesystem;

// One world per snapshot flavour, kept for the whole run.
class BenchWorld {
 public:
  explicit BenchWorld(uint32_t flags) {
    proj_ = world_.dir() / "proj";
    fs::create_directories(proj_ + "/src");
    agentsh::hook_test::write_file(proj_ + "/src/main.c", "int main(void) { return 0; }\n");
    add_reference_rules();
    world_.write_snapshot(flags);
  }
  HookWorld& world() { return world_; }
  const std::string& proj() const { return proj_; }

 private:
  void add_reference_rules() {
    using F = FileOp;
    const auto read5 = ops({F::kRead, F::kOpen, F::kStat, F::kList, F::kReadlink});
    auto& b = world_.builder();
    const std::string p = proj_;
    b.add_protected(agentsh::hook_test::hook_lib(), snapshot::kProtectReadOnly);
    b.add_file_rule("allow-workspace-read", "", "", read5, Decision::kAllow, {p, p + "/**"});
    b.add_file_rule("allow-workspace-write", "", "",
                    ops({F::kWrite, F::kCreate, F::kMkdir, F::kChmod, F::kRename}),
                    Decision::kAllow, {p, p + "/**"});
    b.add_file_rule("soft-delete-workspace", "", "", ops({F::kDelete, F::kRmdir}),
                    Decision::kSoftDelete, {p, p + "/**"});
    b.add_file_rule("allow-tmp", "", "", kAllOps, Decision::kAllow, {"/tmp/**", "/var/tmp/**"});
    b.add_file_rule("allow-dev-nodes", "", "", kAllOps, Decision::kAllow,
                    {"/dev/null", "/dev/zero", "/dev/urandom", "/dev/stdin", "/dev/stdout",
                     "/dev/stderr", "/dev/fd/**", "/dev/pts/**", "/dev/tty"});
    b.add_file_rule("allow-sprite-folder-read", "", "", read5, Decision::kAllow,
                    {"/.sprite", "/.sprite/**"});
    b.add_file_rule("block-dangerous-binaries", "", "", kAllOps, Decision::kDeny,
                    {"/usr/bin/sudo", "/usr/bin/su", "/usr/bin/pkexec", "/usr/bin/doas", "/bin/su",
                     "/usr/sbin/chroot", "/usr/bin/nsenter", "/usr/bin/unshare"});
    b.add_file_rule("allow-system-read", "", "", read5, Decision::kAllow,
                    {"/usr/**", "/lib/**", "/lib64/**", "/bin/**", "/sbin/**"});
    b.add_file_rule("allow-etc-minimal", "", "", ops({F::kRead, F::kOpen, F::kStat}),
                    Decision::kAllow,
                    {"/etc/hosts", "/etc/resolv.conf", "/etc/ld.so.cache", "/etc/passwd",
                     "/etc/group", "/etc/localtime"});
    b.add_file_rule("approve-env-files", "", "", kAllOps, Decision::kApprove,
                    {"**/.env", "**/.env.*"});
    b.add_file_rule("deny-proc-sys", "", "", kAllOps, Decision::kDeny, {"/proc/**", "/sys/**"});
    b.add_file_rule("default-deny-files", "", "", kAllOps, Decision::kDeny, {"**"});
  }

  HookWorld world_;
  std::string proj_;
};

BenchWorld& tracer_mode() {
  static BenchWorld w(snapshot::kFlagEnforce);
  return w;
}
BenchWorld& broker_mode() {
  static BenchWorld w(snapshot::kFlagEnforce | snapshot::kFlagHookExecViaBroker);
  return w;
}

// Runs the loop once; returns ns per operation (or a negative value on failure).
double loop_ns(const std::vector<std::string>& env, const std::string& cwd, const char* mode,
               const std::string& target, long n, int rounds) {
  auto r =
      run({case_bin("hook_bench_loop"), mode, target, std::to_string(n), std::to_string(rounds)},
          env, cwd);
  if (r.status != 0) {
    fprintf(stderr, "hook_bench_loop %s %s: status %d: %s\n", mode, target.c_str(), r.status,
            r.err.c_str());
    return -1;
  }
  return std::stod(r.out);
}

void hook_vs_bare(benchmark::State& state, BenchWorld& w, const char* mode, std::string target,
                  bool in_project, long n, int rounds) {
  std::vector<std::string> hooked_env = w.world().env();
  std::vector<std::string> bare_env{"PATH=/usr/bin:/bin", "LANG=C"};
  const std::string cwd = in_project ? w.proj() : "";
  double best_bare = 1e30, best_hooked = 1e30;
  bool hooked_first = false;
  for (auto _ : state) {
    // Alternate which variant runs first, so neither always gets the warmer caches.
    double h = hooked_first ? loop_ns(hooked_env, cwd, mode, target, n, rounds) : 0;
    double b = loop_ns(bare_env, cwd, mode, target, n, rounds);
    if (!hooked_first) h = loop_ns(hooked_env, cwd, mode, target, n, rounds);
    hooked_first = !hooked_first;
    if (b < 0 || h < 0) {
      state.SkipWithError("the loop failed (is the target allowed by the policy?)");
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

void BM_HookOpenAbsolute(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "open", "/usr/include/stdio.h", false, 100000, 7);
}
void BM_HookOpenRelative(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "open", "src/main.c", true, 100000, 7);
}
void BM_HookOpenViaMergedUsrSymlink(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "open", "/lib/x86_64-linux-gnu/libc.so.6", false, 100000, 7);
}
void BM_HookFopen(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "fopen", "/usr/include/stdio.h", false, 100000, 7);
}
void BM_HookStat(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "stat", "/usr/include/stdio.h", false, 100000, 7);
}
// One name relative to a directory fd, not followed: what find/fts do per entry.
void BM_HookLstatAtOneName(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "lstatat", "/usr/include/stdio.h", false, 100000, 7);
}
void BM_HookLoopOverhead(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "close", "-", false, 1000000, 3);  // not interposed: ratio ~1
}
void BM_HookExecTrueTracerMode(benchmark::State& s) {
  hook_vs_bare(s, tracer_mode(), "exec", "/bin/true", false, 300, 3);
}
void BM_HookExecTrueBrokerMode(benchmark::State& s) {
  hook_vs_bare(s, broker_mode(), "exec", "/bin/true", false, 300, 3);
}

BENCHMARK(BM_HookOpenAbsolute)->UseManualTime()->Iterations(8)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_HookOpenRelative)->UseManualTime()->Iterations(8)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_HookOpenViaMergedUsrSymlink)
    ->UseManualTime()
    ->Iterations(8)
    ->Unit(benchmark::kNanosecond);
BENCHMARK(BM_HookFopen)->UseManualTime()->Iterations(8)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_HookStat)->UseManualTime()->Iterations(8)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_HookLstatAtOneName)->UseManualTime()->Iterations(8)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_HookLoopOverhead)->UseManualTime()->Iterations(8)->Unit(benchmark::kNanosecond);
BENCHMARK(BM_HookExecTrueTracerMode)->UseManualTime()->Iterations(3)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_HookExecTrueBrokerMode)->UseManualTime()->Iterations(3)->Unit(benchmark::kMicrosecond);

}  // namespace
