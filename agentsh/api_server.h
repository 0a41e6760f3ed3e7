// `agentsh server`: the HTTP API over sessions, commands, audit events and approvals.
//
//   GET    <health_path>                    "ok"
//   GET    <ready_path>                     "ready" (200) | "not ready: why" (503)
//   GET    <metrics_path>                   Prometheus text (metrics.h)
//   POST   /api/v1/sessions                 {"workspace","policy"?} → 201 session
//   GET    /api/v1/sessions                 {"sessions":[…]}
//   GET    /api/v1/sessions/{id}            session | 404
//   DELETE /api/v1/sessions/{id}            {"deleted":id} | 404
//   POST   /api/v1/sessions/{id}/exec       {"command","args","env","working_dir","stdin",
//                                            "timeout"} → {"result":{…},"events":[…]}
//   GET    /api/v1/sessions/{id}/events     server-sent events following the audit store
//                                            (?after=ID or Last-Event-ID resumes;
//                                            ?follow=0 returns {"events":[…]} instead)
//   GET    /api/v1/approvals                {"approvals":[pending…]}
//   POST   /api/v1/approvals/{id}           {"decision":"approve"|"deny","reason"?,"who"?}
//   POST   /api/v1/internal/approvals       a supervisor's request; long-polls until answered
//                                            (approval_client.h)
//
// Errors are JSON {"error": "...", "status": N}: 400 malformed JSON / missing or wrongly
// typed fields, 404 unknown session or approval, 413 body over max_request_size, 429
// max_sessions reached, 500 when a command cannot be started.
//
// Sessions live in the SessionStore (so the CLI and `agentsh exec --session` see the
// same ones); a janitor removes sessions past sessions.default_timeout or idle past
// default_idle_timeout (activity = API use, or audit rows of the session from any
// `agentsh exec --session`). A follower thread feeds the audit store's new rows into the
// metrics.
//
// Thread-safety: start() then run() on one thread; stop() from any thread (e.g. a
// signal-handling thread). Handlers run concurrently, one thread per connection.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agentsh/api_exec.h"
#include "agentsh/approval_queue.h"
#include "agentsh/audit_store.h"
#include "agentsh/config.h"
#include "agentsh/http_server.h"
#include "agentsh/metrics.h"
#include "agentsh/session_store.h"

namespace agentsh {

class ApiServer {
 public:
  struct Options {
    std::string config_path;    // absolute path passed to `agentsh exec --config` ("" = none)
    std::string addr_override;  // replaces cfg.http_addr when set
    std::string agentsh = "/proc/self/exe";
    size_t output_cap = 1u << 20;  // per stream, per API exec
    int64_t janitor_interval_ms = 60000;
  };

  ApiServer(Config cfg, Options opts);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Opens the stores and binds the listener. False with `error` set (and nothing left
  // running) if any of it fails.
  bool start(std::string* error);
  std::string url() const { return http_ ? http_->url() : ""; }
  bool run();   // serves until stop()
  void stop();  // idempotent, any thread

 private:
  void register_routes();
  void handle_create_session(const httplib::Request& req, httplib::Response& res);
  void handle_exec(const httplib::Request& req, httplib::Response& res);
  void handle_events(const httplib::Request& req, httplib::Response& res);
  void handle_resolve_approval(const httplib::Request& req, httplib::Response& res);
  void handle_internal_approval(const httplib::Request& req, httplib::Response& res);
  void follow_audit();
  void janitor();
  void audit_session(const std::string& id, const std::string& what, const std::string& message);

  Config cfg_;
  Options opts_;
  SessionStore sessions_;
  std::unique_ptr<AuditStore> audit_;
  Metrics metrics_;
  std::unique_ptr<ApprovalQueue> approvals_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<ApiExec> exec_;
  std::atomic<bool> stopping_{false};
  std::mutex create_mu_;  // max_sessions is checked and enforced under it
  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  std::thread follower_, janitor_;
};

}  // namespace agentsh
