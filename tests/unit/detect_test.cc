// agentsh detect: the probes agree with independent checks made here, the score is the
// documented weighting of what is available, and the report says how to raise it.
#include "agentsh/detect.h"

#include <gtest/gtest.h>
#include <linux/landlock.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <regex>

namespace agentsh {
namespace {

const DetectProbe* find(const DetectReport& r, const std::string& id) {
  for (const auto& p : r.probes)
    if (p.id == id) return &p;
  return nullptr;
}

TEST(DetectTest, ReportsEveryProbeOnce) {
  DetectReport r = detect::run();
  std::map<std::string, int> seen;
  for (const auto& p : r.probes) ++seen[p.id];
  for (const char* id : {"hook", "ptrace", "seccomp", "user_notif", "sync_wakeup", "landlock",
                         "ebpf", "cgroup2", "userns", "mountns", "netns", "pidns", "fuse"})
    EXPECT_EQ(seen[id], 1) << id;
  EXPECT_EQ(seen.size(), 13u);
}

TEST(DetectTest, WeightsAreTheDocumentedOnesAndSumTo100) {
  DetectReport r = detect::run();
  std::map<std::string, int> want = {
      {"hook", 25}, {"ptrace", 35}, {"seccomp", 25}, {"user_notif", 15}};
  int total = 0;
  for (const auto& p : r.probes) {
    EXPECT_EQ(p.weight, want.count(p.id) ? want[p.id] : 0) << p.id;
    EXPECT_EQ(!p.use.empty(), want.count(p.id) > 0) << p.id << ": only used layers score";
    total += p.weight;
  }
  EXPECT_EQ(total, 100);
}

TEST(DetectTest, ScoreIsTheSumOfAvailableWeightsAndIsPrinted) {
  DetectReport r = detect::run();
  int sum = 0;
  for (const auto& p : r.probes) sum += p.available ? p.weight : 0;
  EXPECT_EQ(r.score, sum);
  std::string text = detect::render_text(r);
  EXPECT_NE(text.find("Protection Score: " + std::to_string(sum) + "/100\n"), std::string::npos)
      << text;
  auto j = detect::render_json(r);
  EXPECT_EQ(j["score"], sum);
}

TEST(DetectTest, PtraceProbeMatchesAnIndependentCheck) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(1);
    raise(SIGSTOP);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  bool works = WIFSTOPPED(st);
  if (works) {
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
  }
  EXPECT_EQ(find(detect::run(), "ptrace")->available, works);
}

TEST(DetectTest, LandlockProbeMatchesTheSyscall) {
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  const DetectProbe* p = find(detect::run(), "landlock");
  EXPECT_EQ(p->available, abi > 0);
  if (abi > 0) {
    EXPECT_EQ(p->detail, "ABI version " + std::to_string(abi));
  }
}

TEST(DetectTest, MissingHookLowersTheScoreAndSaysWhatToDo) {
  DetectReport with = detect::run({"/proc/self/exe"});  // any ELF file stands in for the hook
  DetectReport without = detect::run({"/nonexistent/libagentsh_hook.so"});
  const DetectProbe* h = find(without, "hook");
  EXPECT_TRUE(find(with, "hook")->available);
  EXPECT_FALSE(h->available);
  EXPECT_NE(h->detail.find("/nonexistent/libagentsh_hook.so"), std::string::npos) << h->detail;
  EXPECT_EQ(with.score - without.score, 25);
  std::string text = detect::render_text(without);
  EXPECT_NE(text.find("To raise it:\n  - LD_PRELOAD hook (+25): build it"), std::string::npos)
      << text;
  auto j = detect::render_json(without);
  bool listed = false;
  for (const auto& a : j["raise"]) listed = listed || (a["probe"] == "hook" && a["points"] == 25);
  EXPECT_TRUE(listed);
  // A file that is not ELF is not a hook.
  EXPECT_FALSE(find(detect::run({"/etc/hostname"}), "hook")->available);
}

TEST(DetectTest, ProbesLeaveThisProcessAlone) {
  detect::run();
  // Not traced, no seccomp filter, same namespaces: everything ran in children.
  FILE* f = fopen("/proc/self/status", "r");
  ASSERT_NE(f, nullptr);
  char line[256];
  std::string tracer, seccomp;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "TracerPid:", 10) == 0) tracer = line;
    if (strncmp(line, "Seccomp:", 8) == 0) seccomp = line;
  }
  fclose(f);
  EXPECT_TRUE(std::regex_search(tracer, std::regex("TracerPid:\\s+0\\b"))) << tracer;
  EXPECT_TRUE(std::regex_search(seccomp, std::regex("Seccomp:\\s+0\\b"))) << seccomp;
}

}  // namespace
}  // namespace agentsh
