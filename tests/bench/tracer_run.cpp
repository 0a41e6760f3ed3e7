// tracer_run: runs one command under the tracer alone (no hook), the way `agentsh exec`
// will, with an allow-everything policy unless told otherwise. Used by
// tests/bench/tracer_bench.sh ("tracer-only" column) and for trying real workloads.
// Not a .cc on purpose: the bench Makefile rule links every tests/bench/*.cc into one
// Google Benchmark binary; tracer_bench.sh compiles this file itself.
//
//   tracer_run [--deny-command NAME]... [--deny-path DIR]... [--audit] [--gate HEX]
//              -- CMD [ARGS...]
//   tracer_run --probe      (what Availability::probe() finds here)
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "tracer/static_decider.h"
#include "tracer/supervisor.h"

using agentsh::tracer::Options;
using agentsh::tracer::StaticDecider;
using agentsh::tracer::Supervisor;

int main(int argc, char** argv) {
  StaticDecider decider;
  bool audit = false;
  uint64_t gate = 0;
  int i = 1;
  for (; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a == "--deny-command" && i + 1 < argc) {
      decider.deny_command("deny-" + std::string(argv[i + 1]), argv[i + 1]);
      ++i;
    } else if (a == "--deny-path" && i + 1 < argc) {
      decider.deny_path("deny-path", argv[i + 1], agentsh::policy::kAllOps);
      ++i;
    } else if (a == "--gate" && i + 1 < argc) {
      gate = strtoull(argv[i + 1], nullptr, 16);
      ++i;
    } else if (a == "--audit") {
      audit = true;
    } else if (a == "--probe") {
      auto av = agentsh::tracer::Availability::probe();
      printf("ptrace=%d seccomp=%d user_notif=%d sync_wakeup=%d why_not=%s\n", av.ptrace,
             av.seccomp, av.user_notif, av.sync_wakeup, av.why_not.c_str());
      return 0;
    } else {
      fprintf(stderr, "usage: %s [--deny-command N] [--deny-path D] [--audit] -- CMD...\n",
              argv[0]);
      return 2;
    }
  }
  if (i >= argc) {
    fprintf(stderr, "tracer_run: no command\n");
    return 2;
  }
  static std::mutex mu;
  Options o;
  o.decider = &decider;
  o.session_id = "tracer-run";
  if (gate != 0) {  // a hook (or a stand-in) maps the gate in every dynamic process
    o.gate_addr = gate;
    o.hook_present = true;
  }
  if (audit) {
    o.audit = [](const agentsh::AuditEvent& e) {
      std::lock_guard lock(mu);
      fprintf(stderr, "audit: %s %s %s -> %s (%s)\n", e.type.c_str(), e.operation.c_str(),
              e.target.c_str(), e.effective.c_str(), e.rule.c_str());
    };
  }
  Supervisor sup(o);
  std::string err;
  if (!sup.prepare(&err)) {
    fprintf(stderr, "%s\n", err.c_str());
    return 2;
  }
  pid_t pid = fork();
  if (pid == 0) {
    if (sup.in_child() != 0) _exit(126);
    execvp(argv[i], argv + i);
    _exit(127);
  }
  int st = sup.run(pid);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return WEXITSTATUS(st);
}
