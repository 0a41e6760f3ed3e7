// One seccomp notification as the handlers see it, and what they decide to answer.
#pragma once

#include <linux/seccomp.h>
#include <sys/types.h>

#include <cstdint>

#include "common/scoped_fd.h"
#include "tracer/process_table.h"
#include "tracer/syscall_table.h"

namespace agentsh::tracer {

// The thread whose syscall is being handled.
struct Caller {
  pid_t tid = 0;   // the notifying thread (seccomp_notif.pid)
  pid_t tgid = 0;  // its thread group
  ProcState state;
  uint64_t id = 0;  // notification id (check validity after reading /proc or memory)
  const seccomp_data* data = nullptr;
  const SyscallInfo* info = nullptr;
  uint64_t arg(int i) const { return data->args[i]; }
};

// The answer to one notification.
struct Outcome {
  enum class Kind { kContinue, kError, kValue, kFd };
  Kind kind = Kind::kError;
  int err = 0;
  int64_t value = 0;
  ScopedFd fd;  // kFd: installed in the caller
  bool cloexec = false;

  static Outcome proceed() {
    Outcome o;
    o.kind = Kind::kContinue;
    return o;
  }
  static Outcome error(int e) {
    Outcome o;
    o.kind = Kind::kError;
    o.err = e;
    return o;
  }
  static Outcome result(int64_t v) {
    Outcome o;
    o.kind = Kind::kValue;
    o.value = v;
    return o;
  }
  // A syscall-style return: >= 0 value, < 0 is -errno.
  static Outcome from_ret(int64_t r) { return r < 0 ? error(static_cast<int>(-r)) : result(r); }
  static Outcome install(ScopedFd f, bool cloexec) {
    Outcome o;
    o.kind = Kind::kFd;
    o.fd = std::move(f);
    o.cloexec = cloexec;
    return o;
  }
};

}  // namespace agentsh::tracer
