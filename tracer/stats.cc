#include "tracer/stats.h"

#include <sys/ptrace.h>
#include <sys/resource.h>
#include <time.h>

#include "tracer/syscall_table.h"

namespace agentsh::tracer {

namespace {
const char* event_name(int e) {
  switch (e) {
    case 0:
      return "signal-delivery";
    case PTRACE_EVENT_FORK:
      return "fork";
    case PTRACE_EVENT_VFORK:
      return "vfork";
    case PTRACE_EVENT_CLONE:
      return "clone";
    case PTRACE_EVENT_EXEC:
      return "exec";
    case Stats::kMaxEvent - 2:
      return "new-task/interrupt";
    default:
      return "other";
  }
}
const char* phase_name(int p) {
  static const char* const kNames[] = {
      "exec.read-args", "exec.lookup", "exec.decide", "exec.inspect", "exec.record", "exec.verify",
      "open.read-path", "open.base",   "open.decide", "open.open",    "open.check"};
  static_assert(sizeof kNames / sizeof kNames[0] == Stats::kPhaseCount);
  return kNames[p];
}

}  // namespace

uint64_t Stats::now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void Stats::print(FILE* out) const {
  uint64_t total = 0, total_ns = 0;
  for (int nr = 0; nr < kMaxNr; ++nr) {
    uint64_t n = notif_[nr].load(std::memory_order_relaxed);
    if (n == 0) continue;
    uint64_t ns = notif_ns_[nr].load(std::memory_order_relaxed);
    total += n;
    total_ns += ns;
    const SyscallInfo* s = syscall_table::find(nr);
    fprintf(out, "agentsh: tracer stats: notify %-16s %8llu  %7.1f us/call\n", s ? s->name : "?",
            static_cast<unsigned long long>(n),
            static_cast<double>(ns) / 1000.0 / static_cast<double>(n));
  }
  fprintf(out, "agentsh: tracer stats: notify %-16s %8llu  %7.1f ms handling\n", "TOTAL",
          static_cast<unsigned long long>(total), static_cast<double>(total_ns) / 1e6);
  uint64_t stops = 0;
  for (int e = 0; e < kMaxEvent; ++e) {
    uint64_t n = stops_[e].load(std::memory_order_relaxed);
    if (n == 0) continue;
    stops += n;
    fprintf(out, "agentsh: tracer stats: ptrace %-16s %8llu\n", event_name(e),
            static_cast<unsigned long long>(n));
  }
  fprintf(out, "agentsh: tracer stats: ptrace %-16s %8llu\n", "exit",
          static_cast<unsigned long long>(exits_.load(std::memory_order_relaxed)));
  fprintf(out, "agentsh: tracer stats: ptrace %-16s %8llu\n", "TOTAL-stops",
          static_cast<unsigned long long>(stops));
  for (int p = 0; p < kPhaseCount; ++p) {
    uint64_t n = phase_n_[p].load(std::memory_order_relaxed);
    if (n == 0) continue;
    fprintf(out, "agentsh: tracer stats: phase  %-16s %8llu  %7.2f us/call\n", phase_name(p),
            static_cast<unsigned long long>(n),
            static_cast<double>(phase_ns_[p].load(std::memory_order_relaxed)) / 1000.0 /
                static_cast<double>(n));
  }
  // The whole agentsh process (every thread: supervisor, proxy, broker, audit writer).
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  fprintf(out,
          "agentsh: tracer stats: cpu agentsh user %.3f s sys %.3f s, switches %ld vol %ld invol\n",
          static_cast<double>(ru.ru_utime.tv_sec) + static_cast<double>(ru.ru_utime.tv_usec) / 1e6,
          static_cast<double>(ru.ru_stime.tv_sec) + static_cast<double>(ru.ru_stime.tv_usec) / 1e6,
          ru.ru_nvcsw, ru.ru_nivcsw);
}

}  // namespace agentsh::tracer
