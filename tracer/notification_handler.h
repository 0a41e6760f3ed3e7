// Answers one seccomp notification: finds the syscall in the table, identifies the
// caller, dispatches on SyscallInfo::handler, and sends the answer (continue, error,
// value, or an injected fd). Unknown or foreign calls are refused.
// Thread-safety: handle() runs concurrently on every worker.
#pragma once

#include <linux/seccomp.h>

#include "tracer/exec_checker.h"
#include "tracer/fs_emulator.h"
#include "tracer/gate_guard.h"
#include "tracer/net_emulator.h"
#include "tracer/process_guard.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class NotificationHandler {
 public:
  explicit NotificationHandler(SupervisorContext& ctx)
      : ctx_(ctx), fs_(ctx), net_(ctx), proc_(ctx), gate_(ctx), exec_(ctx, fs_) {}

  void handle(const seccomp_notif& n);
  ExecChecker& exec() { return exec_; }

 private:
  Outcome decide(const seccomp_notif& n);
  void respond(const seccomp_notif& n, Outcome& o);
  Outcome dispatch(const Caller& c);
  Outcome taint(const Caller& c);
  bool changes_nothing(const Caller& c);
  Outcome prctl(const Caller& c);
  Outcome always_deny(const Caller& c);

  SupervisorContext& ctx_;
  FsEmulator fs_;
  NetEmulator net_;
  ProcessGuard proc_;
  GateGuard gate_;
  ExecChecker exec_;
};

}  // namespace agentsh::tracer
