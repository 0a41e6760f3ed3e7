// What the hook's start-up costs per process, by how it finds the snapshot, measured on
// /bin/true in the same run (alternating, so load on a shared machine hits all alike):
//   BM_HookStartupSnapshotFd   bare vs hooked with the snapshot opened by path
//                              (AGENTSH_SNAPSHOT) vs handed over as an inherited sealed
//                              memfd (AGENTSH_SNAPSHOT_FD, what agentsh exec does)
// Counters: the children's CPU time (user + system, from RUSAGE_CHILDREN: the exec, the
// dynamic loading, the hook's constructor), median per process — bare_us, path_us, fd_us,
// and path_added_us / fd_added_us over bare. The Time column is fd_us (manual time).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/integration/hook_harness.h"

namespace {

using agentsh::hook_test::HookWorld;

double child_cpu_us() {
  struct rusage ru;
  getrusage(RUSAGE_CHILDREN, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
         ru.ru_stime.tv_usec;
}

// Runs /bin/true with `env`; the child's CPU microseconds, or -1.
double true_cpu_us(const std::vector<std::string>& env) {
  std::vector<char*> ev;
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  char* av[] = {const_cast<char*>("/bin/true"), nullptr};
  double before = child_cpu_us();
  pid_t pid;
  if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, av, ev.data()) != 0) return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
  }
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return -1;
  return child_cpu_us() - before;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// The snapshot as agentsh exec hands it over: a sealed memfd at fd >= 100, inherited.
std::string make_handoff(const std::string& snap) {
  std::ifstream in(snap, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string bytes = ss.str();
  int mfd = memfd_create("bench-snapshot", MFD_ALLOW_SEALING);
  if (mfd < 0 || write(mfd, bytes.data(), bytes.size()) != static_cast<ssize_t>(bytes.size()))
    return "";
  fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL);
  int fd = fcntl(mfd, F_DUPFD, 100);  // inheritable, like agentsh's child gets it
  close(mfd);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) return "";
  return std::to_string(fd) + ":" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

void BM_HookStartupSnapshotFd(benchmark::State& state) {
  static HookWorld* w = [] {
    auto* hw = new HookWorld();
    hw->write_snapshot(agentsh::snapshot::kFlagEnforce);
    return hw;
  }();
  static const std::string handoff = make_handoff(w->snapshot_path());
  if (handoff.empty()) {
    state.SkipWithError("cannot create the memfd");
    return;
  }
  std::vector<std::string> bare_env = {"PATH=/usr/bin:/bin", "LANG=C"};
  std::vector<std::string> path_env = w->env();
  std::vector<std::string> fd_env = w->env();
  fd_env.push_back("AGENTSH_SNAPSHOT_FD=" + handoff);
  std::vector<double> bare, by_path, by_fd;
  for (auto _ : state) {
    for (int i = 0; i < 100; ++i) {
      double b = true_cpu_us(bare_env), p = true_cpu_us(path_env), f = true_cpu_us(fd_env);
      if (b < 0 || p < 0 || f < 0) {
        state.SkipWithError("a run failed");
        return;
      }
      bare.push_back(b);
      by_path.push_back(p);
      by_fd.push_back(f);
    }
    state.SetIterationTime(median(by_fd) * 1e-6);
  }
  state.counters["bare_us"] = median(bare);
  state.counters["path_us"] = median(by_path);
  state.counters["fd_us"] = median(by_fd);
  state.counters["path_added_us"] = median(by_path) - median(bare);
  state.counters["fd_added_us"] = median(by_fd) - median(bare);
}

}  // namespace

BENCHMARK(BM_HookStartupSnapshotFd)->UseManualTime()->Iterations(5)->Unit(benchmark::kMicrosecond);
