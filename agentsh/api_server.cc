#include "agentsh/api_server.h"
#include "common/fs_util.h"

#include <signal.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include "agentsh/api_json.h"
#include "agentsh/event_stream.h"

namespace agentsh {

namespace {

using Json = nlohmann::json;
using httplib::Request;
using httplib::Response;

constexpr int64_t kMaxTimeoutMs = 24LL * 3600 * 1000;

int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

std::string random_id(const char* prefix) {
  unsigned char b[8] = {};
  if (getrandom(b, sizeof b, 0) != static_cast<ssize_t>(sizeof b)) {
    uint64_t v =
        static_cast<uint64_t>(now_us()) * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(getpid());
    memcpy(b, &v, sizeof b);
  }
  static const char kHex[] = "0123456789abcdef";
  std::string id = prefix;
  for (unsigned char c : b) {
    id += kHex[c >> 4];
    id += kHex[c & 15];
  }
  return id;
}

bool is_dir(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool valid_env_name(const std::string& k) {
  if (k.empty() || !(isalpha(static_cast<unsigned char>(k[0])) || k[0] == '_')) return false;
  return std::all_of(k.begin(), k.end(),
                     [](char c) { return isalnum(static_cast<unsigned char>(c)) || c == '_'; });
}

// Optional string field: absent/null → def; wrong type → error.
bool opt_string(const Json& j, const char* key, std::string* out, std::string* error) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  if (!it->is_string()) {
    *error = std::string("'") + key + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  if (out->find('\0') != std::string::npos && std::string(key) != "stdin") {
    *error = std::string("'") + key + "' must not contain NUL bytes";
    return false;
  }
  return true;
}

// Pulls "rule=X command=Y" out of exec's one-line denial, for the (unexpected) case of a
// denial with no audit row.
Json blocked_from_stderr(const std::string& err) {
  static const std::string kTag = "blocked by policy: ";
  auto pos = err.find(kTag);
  if (pos == std::string::npos) return nullptr;
  std::string line = err.substr(pos + kTag.size(), err.find('\n', pos) - pos - kTag.size());
  auto field = [&](const char* name) {
    std::string key = std::string(name) + "=";
    auto p = line.find(key);
    if (p == std::string::npos) return std::string();
    auto e = line.find(' ', p);
    return line.substr(p + key.size(),
                       e == std::string::npos ? std::string::npos : e - p - key.size());
  };
  return Json{{"rule", field("rule")}, {"target", field("command")}, {"operation", "exec"}};
}

}  // namespace

ApiServer::ApiServer(Config cfg, Options opts)
    : cfg_(std::move(cfg)), opts_(std::move(opts)), sessions_(cfg_.sessions_dir) {}

ApiServer::~ApiServer() {
  stop();
  if (follower_.joinable()) follower_.join();
  if (janitor_.joinable()) janitor_.join();
}

bool ApiServer::start(std::string* error) {
  // A client that goes away mid-response, or a command that stops reading its stdin,
  // must be an error return (EPIPE), not the death of the whole server.
  signal(SIGPIPE, SIG_IGN);
  if (!fs_util::make_dirs(cfg_.sessions_dir, 0750) ||
      access(cfg_.sessions_dir.c_str(), W_OK) != 0) {
    *error = "sessions directory " + cfg_.sessions_dir + ": " + strerror(errno) +
             " (set sessions.base_dir in " + cfg_.source + " to a writable directory)";
    return false;
  }
  if (cfg_.audit_enabled) {
    audit_ = AuditStore::open(cfg_.audit_db, error);
    if (!audit_) {
      *error += " (set audit.storage.sqlite_path in " + cfg_.source + " to a writable path)";
      return false;
    }
  }
  approvals_ = std::make_unique<ApprovalQueue>(audit_.get(), &metrics_);
  HttpServer::Options ho;
  ho.addr = opts_.addr_override.empty() ? cfg_.http_addr : opts_.addr_override;
  ho.read_timeout_ms = cfg_.read_timeout_ms;
  ho.write_timeout_ms = cfg_.write_timeout_ms;
  ho.max_body_bytes = cfg_.max_request_bytes;
  http_ = std::make_unique<HttpServer>(ho);
  if (!http_->bind(error)) {
    http_.reset();
    return false;
  }
  ApiExec::Options eo;
  eo.agentsh = opts_.agentsh;
  eo.config_path = opts_.config_path;
  eo.server_url = http_->url();
  eo.output_cap = opts_.output_cap;
  exec_ = std::make_unique<ApiExec>(eo);
  register_routes();
  if (audit_) follower_ = std::thread([this] { follow_audit(); });
  janitor_ = std::thread([this] { janitor(); });
  return true;
}

bool ApiServer::run() {
  if (!http_) return false;
  bool ok = stopping_ || http_->run();
  stop();
  if (follower_.joinable()) follower_.join();
  if (janitor_.joinable()) janitor_.join();
  return ok;
}

void ApiServer::stop() {
  stopping_ = true;
  if (approvals_) approvals_->shutdown();
  if (http_) http_->stop();
  std::lock_guard<std::mutex> lk(bg_mu_);
  bg_cv_.notify_all();
}

void ApiServer::audit_session(const std::string& id, const std::string& what,
                              const std::string& message) {
  metrics_.count_session(what == "create"    ? "created"
                         : what == "destroy" ? "destroyed"
                                             : "expired");
  if (!audit_) return;
  AuditEvent ev;
  ev.session = id;
  ev.type = "session";
  ev.operation = what;
  ev.target = id;
  ev.decision = "allow";
  ev.effective = "allow";
  ev.message = message;
  ev.source = "server";
  audit_->record(std::move(ev));
}

void ApiServer::follow_audit() {
  int64_t last = 0;
  while (!stopping_) {
    AuditQuery q;
    q.after_id = last;
    q.limit = 5000;
    auto rows = audit_->query(q);
    for (const AuditRow& r : rows) metrics_.observe_audit(r.ev);
    if (!rows.empty()) last = rows.back().id;
    if (rows.size() == 5000) continue;  // catching up with an existing database
    std::unique_lock<std::mutex> lk(bg_mu_);
    bg_cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stopping_.load(); });
  }
}

void ApiServer::janitor() {
  // Often enough that a session never outlives its limits by more than half of the
  // shorter one; at least every second, at most every janitor_interval_ms.
  int64_t interval = opts_.janitor_interval_ms;
  for (int64_t limit : {cfg_.session_timeout_ms, cfg_.session_idle_timeout_ms})
    if (limit > 0) interval = std::min(interval, limit / 2);
  interval = std::max<int64_t>(interval, 1000);
  while (!stopping_) {
    {
      std::unique_lock<std::mutex> lk(bg_mu_);
      bg_cv_.wait_for(lk, std::chrono::milliseconds(interval), [&] { return stopping_.load(); });
    }
    if (stopping_) return;
    int64_t now = now_us();
    for (const SessionInfo& s : sessions_.list()) {
      std::string why;
      if (cfg_.session_timeout_ms > 0 && now - s.created_us > cfg_.session_timeout_ms * 1000) {
        why = "session older than sessions.default_timeout";
      } else if (cfg_.session_idle_timeout_ms > 0 &&
                 now - std::max(s.last_active_us, s.created_us) >
                     cfg_.session_idle_timeout_ms * 1000) {
        // `agentsh exec --session` does not go through us; its audit rows show the session
        // is in use even when nobody touched session.json.
        AuditQuery q;
        q.session = s.id;
        q.since_us = now - cfg_.session_idle_timeout_ms * 1000;
        q.limit = 1;
        q.newest_first = true;
        if (audit_ && !audit_->query(q).empty()) {
          sessions_.touch(s.id);
          continue;
        }
        why = "session idle longer than sessions.default_idle_timeout";
      }
      std::string err;
      if (!why.empty() && sessions_.destroy(s.id, &err)) audit_session(s.id, "expire", why);
    }
  }
}

void ApiServer::register_routes() {
  httplib::Server& r = http_->routes();
  bool debug = cfg_.log_level == "debug";
  r.set_logger([this, debug](const Request& req, const Response& res) {
    metrics_.count_http(res.status);
    if (debug)
      fprintf(stderr, "agentsh server: %s %s %s -> %d\n", req.remote_addr.c_str(),
              req.method.c_str(), req.path.c_str(), res.status);
  });

  r.Get(cfg_.health_path,
        [](const Request&, Response& res) { res.set_content("ok", "text/plain"); });
  r.Get(cfg_.ready_path, [this](const Request&, Response& res) {
    std::string why;
    if (stopping_)
      why = "shutting down";
    else if (cfg_.audit_enabled && !audit_)
      why = "audit store not open";
    else if (access(cfg_.sessions_dir.c_str(), W_OK) != 0)
      why = "sessions directory " + cfg_.sessions_dir + " not writable";
    if (why.empty()) {
      res.set_content("ready", "text/plain");
    } else {
      res.status = 503;
      res.set_content("not ready: " + why, "text/plain");
    }
  });
  if (cfg_.metrics_enabled) {
    r.Get(cfg_.metrics_path, [this](const Request&, Response& res) {
      res.set_content(metrics_.render(sessions_.list().size(), approvals_->pending_count()),
                      "text/plain; version=0.0.4");
    });
  }

  r.Post("/api/v1/sessions",
         [this](const Request& req, Response& res) { handle_create_session(req, res); });
  r.Get("/api/v1/sessions", [this](const Request&, Response& res) {
    Json list = Json::array();
    for (const SessionInfo& s : sessions_.list()) list.push_back(api_json::session(s));
    HttpServer::reply_json(res, 200, Json{{"sessions", list}});
  });
  r.Get(R"(/api/v1/sessions/([^/]+))", [this](const Request& req, Response& res) {
    std::string err;
    auto s = sessions_.load(req.matches[1], &err);
    if (!s)
      return HttpServer::reply_error(res, 404, "no session '" + std::string(req.matches[1]) + "'");
    HttpServer::reply_json(res, 200, api_json::session(*s));
  });
  r.Delete(R"(/api/v1/sessions/([^/]+))", [this](const Request& req, Response& res) {
    std::string id = req.matches[1], err;
    if (!sessions_.load(id, &err))
      return HttpServer::reply_error(res, 404, "no session '" + id + "'");
    if (!sessions_.destroy(id, &err)) return HttpServer::reply_error(res, 500, err);
    audit_session(id, "destroy", "destroyed through the API");
    HttpServer::reply_json(res, 200, Json{{"deleted", id}});
  });
  r.Post(R"(/api/v1/sessions/([^/]+)/exec)",
         [this](const Request& req, Response& res) { handle_exec(req, res); });
  r.Get(R"(/api/v1/sessions/([^/]+)/events)",
        [this](const Request& req, Response& res) { handle_events(req, res); });

  r.Get("/api/v1/approvals", [this](const Request&, Response& res) {
    Json list = Json::array();
    for (const PendingApproval& p : approvals_->pending()) {
      list.push_back(Json{{"id", p.id},
                          {"session", p.req.session},
                          {"kind", p.req.kind},
                          {"operation", p.req.operation},
                          {"target", p.req.target},
                          {"rule", p.req.rule},
                          {"message", p.req.message},
                          {"requester", p.requester},
                          {"created_at", api_json::rfc3339(p.created_us)},
                          {"expires_at", api_json::rfc3339(p.expires_us)},
                          {"created_us", p.created_us},
                          {"expires_us", p.expires_us}});
    }
    HttpServer::reply_json(res, 200, Json{{"approvals", list}});
  });
  r.Post(R"(/api/v1/approvals/([^/]+))",
         [this](const Request& req, Response& res) { handle_resolve_approval(req, res); });
  r.Post("/api/v1/internal/approvals",
         [this](const Request& req, Response& res) { handle_internal_approval(req, res); });
}

void ApiServer::handle_create_session(const Request& req, Response& res) {
  Json body;
  std::string err, workspace, policy;
  if (!api_json::parse_object(req.body, &body, &err)) return HttpServer::reply_error(res, 400, err);
  if (!opt_string(body, "workspace", &workspace, &err) ||
      !opt_string(body, "policy", &policy, &err))
    return HttpServer::reply_error(res, 400, err);
  if (workspace.empty()) return HttpServer::reply_error(res, 400, "missing 'workspace'");
  if (workspace[0] != '/')
    return HttpServer::reply_error(res, 400, "'workspace' must be an absolute path");
  if (!is_dir(workspace))
    return HttpServer::reply_error(res, 400,
                                   "workspace " + workspace + " is not an existing directory");
  std::unique_lock<std::mutex> lk(create_mu_);  // count + create as one step
  if (cfg_.max_sessions > 0 && sessions_.list().size() >= static_cast<size_t>(cfg_.max_sessions))
    return HttpServer::reply_error(res, 429,
                                   "too many sessions (sessions.max_sessions = " +
                                       std::to_string(cfg_.max_sessions) + "); destroy one first");
  auto s = sessions_.create(workspace, policy, &err);
  lk.unlock();
  if (!s) return HttpServer::reply_error(res, 500, err);
  audit_session(s->id, "create", "created through the API for " + s->workspace);
  HttpServer::reply_json(res, 201, api_json::session(*s));
}

void ApiServer::handle_exec(const Request& req, Response& res) {
  std::string sid = req.matches[1], err;
  auto session = sessions_.load(sid, &err);
  if (!session) return HttpServer::reply_error(res, 404, "no session '" + sid + "'");
  Json body;
  if (!api_json::parse_object(req.body, &body, &err)) return HttpServer::reply_error(res, 400, err);

  ApiExecRequest x;
  x.session_id = sid;
  x.workspace = session->workspace;
  x.policy = session->policy;
  if (!opt_string(body, "command", &x.command, &err) ||
      !opt_string(body, "working_dir", &x.working_dir, &err) ||
      !opt_string(body, "stdin", &x.stdin_data, &err))
    return HttpServer::reply_error(res, 400, err);
  if (x.command.empty()) return HttpServer::reply_error(res, 400, "missing 'command'");
  if (auto it = body.find("args"); it != body.end() && !it->is_null()) {
    if (!it->is_array())
      return HttpServer::reply_error(res, 400, "'args' must be an array of strings");
    for (const Json& a : *it) {
      if (!a.is_string())
        return HttpServer::reply_error(res, 400, "'args' must be an array of strings");
      std::string s = a.get<std::string>();
      if (s.find('\0') != std::string::npos)
        return HttpServer::reply_error(res, 400, "'args' must not contain NUL bytes");
      x.args.push_back(std::move(s));
    }
  }
  if (auto it = body.find("env"); it != body.end() && !it->is_null()) {
    if (!it->is_object())
      return HttpServer::reply_error(res, 400, "'env' must be an object of strings");
    for (auto& [k, v] : it->items()) {
      if (!v.is_string()) return HttpServer::reply_error(res, 400, "'env' values must be strings");
      if (!valid_env_name(k))
        return HttpServer::reply_error(res, 400, "'env' has an invalid variable name '" + k + "'");
      std::string val = v.get<std::string>();
      if (val.find('\0') != std::string::npos)
        return HttpServer::reply_error(res, 400, "'env' values must not contain NUL bytes");
      x.env.emplace_back(k, std::move(val));
    }
  }
  if (auto it = body.find("timeout"); it != body.end() && !it->is_null()) {
    int64_t ms = -1;
    if (it->is_string()) {
      if (!parse_duration_ms(it->get<std::string>(), &ms)) ms = -1;
    } else if (it->is_number()) {
      double secs = it->get<double>();
      ms = std::isfinite(secs) && secs > 0 ? static_cast<int64_t>(secs * 1000) : -1;
    }
    if (ms <= 0 || ms > kMaxTimeoutMs)
      return HttpServer::reply_error(
          res, 400,
          "'timeout' must be a duration (\"30s\", \"500ms\") or seconds, above 0 and at most 24h");
    x.timeout_ms = ms;
  }
  if (!x.working_dir.empty()) {
    if (x.working_dir[0] != '/') x.working_dir = session->workspace + "/" + x.working_dir;
    if (!is_dir(x.working_dir))
      return HttpServer::reply_error(
          res, 400, "working_dir " + x.working_dir + " is not an existing directory");
  }
  x.command_id = random_id("cmd-");
  sessions_.touch(sid);

  ApiExecResult r = exec_->run(x, &stopping_);
  sessions_.touch(sid);
  if (!r.started) {
    metrics_.count_api_exec("error");
    return HttpServer::reply_error(res, 500, r.error);
  }

  // The command's audit rows: tagged with our command id; if exec tagged none, the
  // session's untagged rows recorded while it ran.
  Json events = Json::array(), blocked = Json::array();
  if (audit_) {
    AuditQuery q;
    q.session = sid;
    q.since_us = r.start_us;
    q.limit = 0;
    auto rows = audit_->query(q);
    bool tagged = std::any_of(rows.begin(), rows.end(), [&](const AuditRow& row) {
      return row.ev.command_id == x.command_id;
    });
    for (const AuditRow& row : rows) {
      bool mine = tagged ? row.ev.command_id == x.command_id
                         : row.ev.command_id.empty() && row.ev.ts_us <= r.end_us;
      if (!mine) continue;
      events.push_back(api_json::event(row));
      if (row.ev.effective == "deny")
        blocked.push_back(Json{{"rule", row.ev.rule},
                               {"target", row.ev.target},
                               {"operation", row.ev.operation},
                               {"type", row.ev.type}});
    }
  }
  if (blocked.empty() && r.exit_code == 126) {
    Json b = blocked_from_stderr(r.err);
    if (!b.is_null()) blocked.push_back(b);
  }
  metrics_.count_api_exec(r.timed_out                              ? "timeout"
                          : !blocked.empty() || r.exit_code == 126 ? "blocked"
                          : r.exit_code == 0                       ? "ok"
                                                                   : "failed");
  Json result = {{"exit_code", r.exit_code},
                 {"stdout", r.out},
                 {"stderr", r.err},
                 {"stdout_truncated", r.out_truncated},
                 {"stderr_truncated", r.err_truncated},
                 {"duration_ms", r.duration_ms},
                 {"timed_out", r.timed_out},
                 {"command_id", x.command_id},
                 {"blocked", blocked}};
  HttpServer::reply_json(res, 200, Json{{"result", result}, {"events", events}});
}

void ApiServer::handle_events(const Request& req, Response& res) {
  std::string sid = req.matches[1], err;
  if (!sessions_.load(sid, &err))
    return HttpServer::reply_error(res, 404, "no session '" + sid + "'");
  if (!audit_) return HttpServer::reply_error(res, 503, "audit is disabled (audit.enabled: false)");
  int64_t after = 0;
  std::string a =
      req.has_param("after") ? req.get_param_value("after") : req.get_header_value("Last-Event-ID");
  if (!a.empty()) {
    char* end = nullptr;
    after = strtoll(a.c_str(), &end, 10);
    if (*end != '\0' || after < 0)
      return HttpServer::reply_error(res, 400, "'after' must be an event id");
  }
  std::string follow = req.get_param_value("follow");
  if (follow == "0" || follow == "false") {
    AuditQuery q;
    q.session = sid;
    q.after_id = after;
    q.limit = 1000;
    Json list = Json::array();
    for (const AuditRow& row : audit_->query(q)) list.push_back(api_json::event(row));
    return HttpServer::reply_json(res, 200, Json{{"events", list}});
  }
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto stream = std::make_shared<EventStream>(audit_.get(), sid, after, &stopping_);
  res.set_chunked_content_provider(
      "text/event-stream", [this, stream](size_t, httplib::DataSink& sink) {
        bool more =
            stream->pump([&sink](const std::string& s) { return sink.write(s.data(), s.size()); });
        if (!more && stopping_) {
          sink.done();  // an orderly end of the stream
          return true;
        }
        return more;  // false: the client is gone
      });
}

void ApiServer::handle_resolve_approval(const Request& req, Response& res) {
  std::string id = req.matches[1], err, decision, who, reason;
  Json body;
  if (!api_json::parse_object(req.body, &body, &err)) return HttpServer::reply_error(res, 400, err);
  if (!opt_string(body, "decision", &decision, &err) || !opt_string(body, "who", &who, &err) ||
      !opt_string(body, "reason", &reason, &err))
    return HttpServer::reply_error(res, 400, err);
  if (decision != "approve" && decision != "deny")
    return HttpServer::reply_error(res, 400, "'decision' must be \"approve\" or \"deny\"");
  if (who.size() > 128) who.resize(128);
  if (reason.size() > 1024) reason.resize(1024);
  std::string by = (who.empty() ? std::string("api") : who) + " from " + req.remote_addr;
  if (!approvals_->resolve(id, decision == "approve", by, reason))
    return HttpServer::reply_error(
        res, 404, "no pending approval '" + id + "' (unknown, already answered, or timed out)");
  HttpServer::reply_json(res, 200, Json{{"id", id}, {"decision", decision}, {"who", by}});
}

void ApiServer::handle_internal_approval(const Request& req, Response& res) {
  Json body;
  std::string err;
  if (!api_json::parse_object(req.body, &body, &err)) return HttpServer::reply_error(res, 400, err);
  ApprovalRequest ar;
  if (!opt_string(body, "session", &ar.session, &err) ||
      !opt_string(body, "kind", &ar.kind, &err) ||
      !opt_string(body, "operation", &ar.operation, &err) ||
      !opt_string(body, "target", &ar.target, &err) || !opt_string(body, "rule", &ar.rule, &err) ||
      !opt_string(body, "message", &ar.message, &err))
    return HttpServer::reply_error(res, 400, err);
  if (ar.operation.empty() && ar.target.empty())
    return HttpServer::reply_error(res, 400,
                                   "an approval request needs an 'operation' or a 'target'");
  int64_t timeout = cfg_.approvals_timeout_ms;
  if (auto it = body.find("timeout_ms"); it != body.end() && !it->is_null()) {
    if (!it->is_number_integer() || it->get<int64_t>() <= 0)
      return HttpServer::reply_error(res, 400, "'timeout_ms' must be a positive integer");
    timeout = std::min(it->get<int64_t>(), kMaxTimeoutMs);
  }
  if (!cfg_.approvals_enabled) {
    return HttpServer::reply_json(
        res, 200,
        Json{{"id", ""},
             {"approved", false},
             {"who", ""},
             {"reason", "approvals are disabled on the server (approvals.enabled: false in " +
                            cfg_.source + "); nobody can approve"}});
  }
  std::string id;
  ApprovalOutcome out = approvals_->submit_and_wait(ar, timeout, req.remote_addr,
                                                    [&id](const std::string& qid) { id = qid; });
  HttpServer::reply_json(
      res, 200,
      Json{{"id", id}, {"approved", out.approved}, {"who", out.who}, {"reason", out.reason}});
}

}  // namespace agentsh
