// StartupTrace: where `agentsh exec` spends its start-up, phase by phase. Enabled by
// AGENTSH_TRACE_STARTUP=1 (one line per phase on stderr: milliseconds since the process
// started and since the previous mark); otherwise every call is one branch. For
// measuring start-up work (tests/bench, scripts/bench.sh), not for production logs.
// Not thread-safe: marks come from the main thread.
#pragma once

namespace agentsh {

class StartupTrace {
 public:
  // Reads the environment once.
  StartupTrace();
  void mark(const char* phase);

 private:
  bool on_ = false;
  double start_ms_ = 0, last_ms_ = 0;
};

}  // namespace agentsh
