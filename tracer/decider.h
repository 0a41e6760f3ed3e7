// The tracer's question to the policy: may this process start this program, touch this
// file, reach this address? The supervisor asks; the integrator adapts the policy Engine
// to it (tracer/engine_decider.h), and the tests use a fixed rule table.
//
// Thread-safety: the supervisor calls a Decider concurrently from its worker threads;
// implementations must be thread-safe. A call may block (an approval prompt): the
// supervisor keeps another worker listening while one waits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "policy/decision.h"

namespace agentsh::tracer {

struct Verdict {
  bool allow = false;
  // Emit an audit record even though the call is allowed (the policy said "audit", or
  // an approval was granted). Denials are always audited.
  bool audit = false;
  std::string decision;  // what the policy said, for the audit record ("allow", "deny", ...)
  std::string rule;      // rule name, e.g. "block-shell-escape" or "default-deny-files"
  std::string message;   // human-readable reason
  std::string subject;   // exec: the command that decided (e.g. "sudo" for `env sudo id`)
  // file delete/rmdir: the policy says soft_delete — move the target into this directory
  // (the session's trash) instead of deleting it. Empty: delete for real.
  std::string soft_delete_dir;

  static Verdict allowed(std::string rule = {}) {
    Verdict v;
    v.allow = true;
    v.decision = "allow";
    v.rule = std::move(rule);
    return v;
  }
  static Verdict denied(std::string rule, std::string message = {}) {
    Verdict v;
    v.decision = "deny";
    v.rule = std::move(rule);
    v.message = std::move(message);
    return v;
  }
};

class Decider {
 public:
  virtual ~Decider() = default;
  // `argv` as the program passed it; `path` the resolved executable (absolute, symlinks
  // resolved) — for a #! script, the script itself (the interpreter is asked separately,
  // with the argv the kernel builds for it). `nested` is false only for the tree's first
  // exec (the command `agentsh exec` was asked to run); every exec inside the tree after
  // that is nested (policy rules with `context: [nested]`).
  virtual Verdict exec(const std::vector<std::string>& argv, std::string_view path,
                       bool nested) = 0;
  // `path` is absolute and normalised.
  virtual Verdict file(std::string_view path, policy::FileOp op) = 0;
  // True when file(path, op) would be a plain, silent allow (no audit, no approval, no
  // soft delete). Must have no side effect (never asks a person): the supervisor uses
  // it to take a fast path and asks file() when the answer is false. The default, false,
  // keeps every call on the general path.
  virtual bool file_silently_allowed(std::string_view /*path*/, policy::FileOp /*op*/) {
    return false;
  }
  // `ip` in text form ("127.0.0.1", "::1"); port in host order.
  virtual Verdict net(std::string_view ip, uint16_t port) = 0;
};

}  // namespace agentsh::tracer
