#include "agentsh/approval_client.h"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "agentsh/approval_tty.h"
#include "agentsh/audit_store.h"
#include "agentsh/http_server_lib.h"

namespace agentsh::approval_client {

namespace {

// The record for outcomes decided here (tty mode, and api-mode failures where the
// server never saw the request). The server records the ones it answers.
void audit_locally(const Config& cfg, const ApprovalRequest& req, const ApprovalOutcome& out) {
  if (!cfg.audit_enabled) return;
  std::string err;
  auto store = AuditStore::open(cfg.audit_db, &err);
  if (!store) return;  // nothing better to do: the caller still gets (and logs) the denial
  AuditEvent ev;
  ev.session = req.session;
  ev.type = "approval";
  ev.operation = req.operation;
  ev.target = req.target;
  ev.decision = "approve";
  ev.effective = out.approved ? "allow" : "deny";
  ev.rule = req.rule;
  ev.message = (req.kind.empty() ? "" : req.kind + " ") + req.operation + ": " +
               (out.approved ? "approved" : "denied") +
               (out.who.empty() || out.who == "timeout" ? "" : " by " + out.who) +
               (out.reason.empty() ? "" : ": " + out.reason);
  ev.source = "approval";
  store->record(std::move(ev));
}  // the store's destructor flushes

}  // namespace

std::string server_url(const Config& cfg) {
  if (const char* env = getenv("AGENTSH_SERVER"); env && *env) {
    std::string u = env;
    while (!u.empty() && u.back() == '/') u.pop_back();
    return u;
  }
  std::string addr = cfg.http_addr;
  auto colon = addr.rfind(':');
  std::string host = colon == std::string::npos ? addr : addr.substr(0, colon);
  std::string port = colon == std::string::npos ? "18080" : addr.substr(colon + 1);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "[::]") host = "[::1]";
  return "http://" + host + ":" + port;
}

ApprovalOutcome request_approval(const Config& cfg, const ApprovalRequest& req) {
  int64_t timeout = req.timeout_ms > 0             ? req.timeout_ms
                    : cfg.approvals_timeout_ms > 0 ? cfg.approvals_timeout_ms
                                                   : 300000;
  if (cfg.approvals_mode == "shadow")
    return {true, "shadow-mode", "approvals.mode: shadow (approve = allow + audit)"};
  ApprovalOutcome out;
  if (!cfg.approvals_enabled) {
    out = {false, "",
           "approval required, but approvals are disabled (approvals.enabled: false); denied"};
    audit_locally(cfg, req, out);
    return out;
  }
  if (cfg.approvals_mode == "tty") {
    out = approval_tty::ask(req, timeout);
    audit_locally(cfg, req, out);
    return out;
  }

  std::string url = server_url(cfg);
  nlohmann::json body = {{"session", req.session}, {"kind", req.kind}, {"operation", req.operation},
                         {"target", req.target},   {"rule", req.rule}, {"message", req.message},
                         {"timeout_ms", timeout}};
  httplib::Client cli(url);
  if (!cli.is_valid()) {
    out = {false, "", "approval server address '" + url + "' is not valid; denied"};
    audit_locally(cfg, req, out);
    return out;
  }
  cli.set_connection_timeout(3, 0);
  int64_t read_ms = timeout + 10000;  // the server answers at its own timeout; this is slack
  cli.set_read_timeout(static_cast<time_t>(read_ms / 1000),
                       static_cast<time_t>((read_ms % 1000) * 1000));
  cli.set_write_timeout(10, 0);
  auto res = cli.Post("/api/v1/internal/approvals",
                      body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      "application/json");
  if (!res) {
    out = {false, "",
           "no approval server reachable at " + url + " (" + httplib::to_string(res.error()) +
               "); nobody can approve; denied (start `agentsh server` or use approvals.mode: tty)"};
    audit_locally(cfg, req, out);
    return out;
  }
  nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200 || !j.is_object() || !j.contains("approved") ||
      !j["approved"].is_boolean()) {
    std::string why = j.is_object() && j.contains("error") && j["error"].is_string()
                          ? j["error"].get<std::string>()
                          : "unexpected answer";
    out = {false, "",
           "approval server at " + url + " answered HTTP " + std::to_string(res->status) + ": " +
               why + "; denied"};
    audit_locally(cfg, req, out);
    return out;
  }
  out.approved = j["approved"].get<bool>();
  out.who = j.value("who", "");
  out.reason = j.value("reason", "");
  return out;
}

}  // namespace agentsh::approval_client
