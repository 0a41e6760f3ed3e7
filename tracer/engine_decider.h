// The policy Engine as the tracer's Decider: exec -> Engine::check_command (wrappers
// unwrapped, `nested` passed through), file -> check_file, net -> check_network (by IP:
// the tracer sees addresses, not names).
//
// Effects: allow -> allowed (audited when the policy's decision was not a plain allow:
// audit, redirect, soft_delete, an approval); deny -> denied; ask (approve, and someone
// can approve) -> the `ask` callback decides, and without one it is denied — approvals
// fail closed. The tracer carries out no file or command redirects itself: a redirect
// decision lets the original call through (the hook performs redirects), and is audited
// as such; soft_delete moves deletes into the session trash (Verdict::soft_delete_dir).
//
// Thread-safety: the Engine is immutable and thread-safe; `ask` must be thread-safe and
// may block (the supervisor keeps other workers listening meanwhile).
#pragma once

#include <functional>
#include <string_view>

#include "policy/engine.h"
#include "tracer/decider.h"

namespace agentsh::tracer {

class EngineDecider : public Decider {
 public:
  // `kind`: "exec" | "file" | "network"; `target`: command line, path or ip:port.
  using AskFn = std::function<bool(std::string_view kind, std::string_view target,
                                   const policy::Verdict& verdict)>;

  // `trash_dir`: where soft_delete moves files (the session trash, created by the
  // integrator on the workspace's filesystem). Empty: soft_delete deletes for real.
  explicit EngineDecider(const policy::Engine& engine, AskFn ask = nullptr,
                         std::string trash_dir = {})
      : engine_(engine), ask_(std::move(ask)), trash_dir_(std::move(trash_dir)) {}

  Verdict exec(const std::vector<std::string>& argv, std::string_view path, bool nested) override;
  Verdict file(std::string_view path, policy::FileOp op) override;
  bool file_silently_allowed(std::string_view path, policy::FileOp op) override;
  Verdict net(std::string_view ip, uint16_t port) override;

  // The conversion, exposed for tests.
  Verdict convert(const policy::Verdict& v, std::string_view kind, std::string_view target);

 private:
  const policy::Engine& engine_;
  AskFn ask_;
  std::string trash_dir_;
};

}  // namespace agentsh::tracer
