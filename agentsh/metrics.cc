#include "agentsh/metrics.h"

#include <string_view>

namespace agentsh {

namespace {

// Label values: backslash, double quote and newline escaped (exposition format rules).
std::string esc(std::string_view v) {
  std::string o;
  for (char c : v) {
    if (c == '\\')
      o += "\\\\";
    else if (c == '"')
      o += "\\\"";
    else if (c == '\n')
      o += "\\n";
    else
      o += c;
  }
  return o;
}

void header(std::string* out, const char* name, const char* type, const char* help) {
  *out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

void labelled(std::string* out, const char* name, const char* label,
              const std::map<std::string, uint64_t>& m) {
  for (const auto& [k, v] : m)
    *out += std::string(name) + "{" + label + "=\"" + esc(k) + "\"} " + std::to_string(v) + "\n";
}

}  // namespace

void Metrics::count_http(int status) {
  std::lock_guard<std::mutex> lk(mu_);
  ++http_[std::to_string(status / 100) + "xx"];
}

void Metrics::count_api_exec(const std::string& result) {
  std::lock_guard<std::mutex> lk(mu_);
  ++api_exec_[result];
}

void Metrics::count_approval(const std::string& outcome) {
  std::lock_guard<std::mutex> lk(mu_);
  ++approvals_[outcome];
}

void Metrics::count_session(const std::string& what) {
  std::lock_guard<std::mutex> lk(mu_);
  ++sessions_[what];
}

void Metrics::observe_audit(const AuditEvent& ev) {
  std::lock_guard<std::mutex> lk(mu_);
  ++decisions_[{ev.type, ev.decision, ev.effective}];
  if (ev.type == "exec") ++commands_;
}

std::string Metrics::render(size_t sessions, size_t approvals_pending) const {
  std::lock_guard<std::mutex> lk(mu_);
  std::string out;
  header(&out, "agentsh_sessions", "gauge", "Sessions that exist now.");
  out += "agentsh_sessions " + std::to_string(sessions) + "\n";
  header(&out, "agentsh_sessions_total", "counter",
         "Session lifecycle events seen by this server.");
  labelled(&out, "agentsh_sessions_total", "event", sessions_);
  header(&out, "agentsh_commands_total", "counter",
         "Exec decisions recorded in the audit store (every command any session started).");
  out += "agentsh_commands_total " + std::to_string(commands_) + "\n";
  header(&out, "agentsh_api_exec_total", "counter",
         "Commands run through POST /api/v1/sessions/{id}/exec.");
  labelled(&out, "agentsh_api_exec_total", "result", api_exec_);
  header(&out, "agentsh_decisions_total", "counter",
         "Audited decisions by type, policy decision and outcome (effective).");
  for (const auto& [k, v] : decisions_) {
    const auto& [type, decision, outcome] = k;
    out += "agentsh_decisions_total{type=\"" + esc(type) + "\",decision=\"" + esc(decision) +
           "\",outcome=\"" + esc(outcome) + "\"} " + std::to_string(v) + "\n";
  }
  header(&out, "agentsh_approvals_pending", "gauge", "Approval requests waiting for a person.");
  out += "agentsh_approvals_pending " + std::to_string(approvals_pending) + "\n";
  header(&out, "agentsh_approvals_total", "counter", "Approval requests answered, by outcome.");
  labelled(&out, "agentsh_approvals_total", "outcome", approvals_);
  header(&out, "agentsh_http_responses_total", "counter", "HTTP responses by status class.");
  labelled(&out, "agentsh_http_responses_total", "code", http_);
  return out;
}

}  // namespace agentsh
