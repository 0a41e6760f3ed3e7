#include "agentsh/startup_trace.h"

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

namespace agentsh {

namespace {

double now_ms(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

// When this process started, on CLOCK_BOOTTIME (field 22 of /proc/self/stat, in clock
// ticks: a coarse 10 ms; good enough to see the cost before main()).
double process_start_ms() {
  std::ifstream f("/proc/self/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto rp = s.rfind(')');
  if (rp == std::string::npos) return now_ms(CLOCK_BOOTTIME);
  std::istringstream in(s.substr(rp + 2));
  std::string field;
  for (int i = 3; i <= 22 && (in >> field); ++i) {
  }
  return std::strtod(field.c_str(), nullptr) * 1e3 / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

StartupTrace::StartupTrace() {
  const char* e = getenv("AGENTSH_TRACE_STARTUP");
  on_ = e != nullptr && *e != '\0' && *e != '0';
  if (!on_) return;
  start_ms_ = process_start_ms();
  last_ms_ = now_ms(CLOCK_BOOTTIME);
  fprintf(stderr, "agentsh: startup: %8.2f ms  (+%6.2f)  main\n", last_ms_ - start_ms_,
          last_ms_ - start_ms_);
}

void StartupTrace::mark(const char* phase) {
  if (!on_) return;
  double t = now_ms(CLOCK_BOOTTIME);
  fprintf(stderr, "agentsh: startup: %8.2f ms  (+%6.2f)  %s\n", t - start_ms_, t - last_ms_, phase);
  last_ms_ = t;
}

}  // namespace agentsh
