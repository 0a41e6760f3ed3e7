// Counters of what the supervisor did for one tree, for measuring where governance
// costs time (AGENTSH_TRACER_STATS=1 prints them on stderr when the tree is gone).
//
// Thread-safety: every counter is a relaxed atomic; workers and the ptrace thread add
// concurrently. Costs nothing measurable when disabled (one predictable branch).
#pragma once

#include <sys/types.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>

namespace agentsh::tracer {

class Stats {
 public:
  static constexpr int kMaxNr = 512;
  static constexpr int kMaxEvent = 16;
  static constexpr int kEventStop = 128;

  bool enabled() const { return enabled_; }
  void enable() { enabled_ = true; }

  // One notification of syscall `nr` handled in `ns` nanoseconds (receive to answer).
  void notification(int nr, uint64_t ns) {
    if (nr < 0 || nr >= kMaxNr) return;
    notif_[nr].fetch_add(1, std::memory_order_relaxed);
    notif_ns_[nr].fetch_add(ns, std::memory_order_relaxed);
  }
  // One ptrace stop (PTRACE_EVENT_* number, 0 for a signal-delivery stop).
  void stop(int event) {
    if (event == kEventStop) event = kMaxEvent - 2;  // PTRACE_EVENT_STOP is 128
    if (event < 0 || event >= kMaxEvent) event = kMaxEvent - 1;
    stops_[event].fetch_add(1, std::memory_order_relaxed);
  }
  void exit_reaped() { exits_.fetch_add(1, std::memory_order_relaxed); }

  // Steps inside a handler, timed separately to show where a call's handling goes.
  enum Phase : int {
    kExecReadArgs,  // path + argv out of the caller's memory
    kExecLookup,    // resolving the path (O_PATH lookup, readlink, fstat)
    kExecDecide,    // the Decider (policy engine)
    kExecInspect,   // reading the image's header (#!, PT_INTERP)
    kExecRecord,    // audit record + approval
    kExecVerify,    // at PTRACE_EVENT_EXEC: exe identity + argv comparison
    kOpenReadPath,  // the path out of the caller's memory
    kOpenBase,      // the base directory (cwd or dirfd) and the lexical join
    kOpenDecide,    // file_silently_allowed
    kOpenOpen,      // strict openat2 (+ readlink for a first-component symlink)
    kOpenCheck,     // fstat / fstatfs of the result
    kPhaseCount
  };
  void phase(Phase p, uint64_t ns) {
    phase_n_[p].fetch_add(1, std::memory_order_relaxed);
    phase_ns_[p].fetch_add(ns, std::memory_order_relaxed);
  }
  // Monotonic nanoseconds, 0 when disabled (so a disabled timer costs one branch).
  uint64_t now() const { return enabled_ ? now_ns() : 0; }
  // Adds the time since `*t0` to `p` and restarts the clock (no-op when disabled).
  void lap(Phase p, uint64_t* t0) {
    if (*t0 == 0) return;
    uint64_t t = now_ns();
    phase(p, t - *t0);
    *t0 = t;
  }
  static uint64_t now_ns();

  // One line per syscall and per stop kind.
  void print(FILE* out) const;

 private:
  bool enabled_ = false;
  std::array<std::atomic<uint64_t>, kMaxNr> notif_{};
  std::array<std::atomic<uint64_t>, kMaxNr> notif_ns_{};
  std::array<std::atomic<uint64_t>, kMaxEvent> stops_{};
  std::atomic<uint64_t> exits_{0};
  std::array<std::atomic<uint64_t>, kPhaseCount> phase_n_{};
  std::array<std::atomic<uint64_t>, kPhaseCount> phase_ns_{};
};

}  // namespace agentsh::tracer
