#include "tracer/supervisor_context.h"

#include <fcntl.h>
#include <unistd.h>

namespace agentsh::tracer {

void SupervisorContext::audit(pid_t pid, std::string_view type, std::string_view operation,
                              std::string_view target, const Verdict& v,
                              bool effective_allow) const {
  if (!audit_fn) return;
  AuditEvent e;
  e.session = session_id;
  e.pid = pid;
  e.type = type;
  e.operation = operation;
  e.target = target;
  e.decision = v.decision.empty() ? (v.allow ? "allow" : "deny") : v.decision;
  e.effective = effective_allow ? "allow" : "deny";
  e.rule = v.rule;
  e.message = v.message;
  e.source = "tracer";
  audit_queue.push(std::move(e));
}

void SupervisorContext::audit_builtin(pid_t pid, std::string_view type, std::string_view operation,
                                      std::string_view target, std::string_view rule,
                                      std::string_view message) const {
  Verdict v = Verdict::denied(std::string(rule), std::string(message));
  audit(pid, type, operation, target, v, false);
}

std::string SupervisorContext::fd_path(int fd) const {
  char buf[4096];
  ssize_t n = readlinkat(proc_self_fd.get(), std::to_string(fd).c_str(), buf, sizeof buf);
  if (n <= 0 || static_cast<size_t>(n) >= sizeof buf) return {};
  return std::string(buf, static_cast<size_t>(n));
}

ScopedFd SupervisorContext::reopen(int fd, int flags) const {
  return ScopedFd(openat(proc_self_fd.get(), std::to_string(fd).c_str(), flags | O_CLOEXEC));
}

}  // namespace agentsh::tracer
