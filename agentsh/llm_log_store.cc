#include "agentsh/llm_log_store.h"

#include "agentsh/sqlite_init.h"

#include <sqlite3.h>
#include <sys/time.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/fs_util.h"

namespace agentsh {
namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS llm_requests (
  id             INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_us          INTEGER NOT NULL,
  session        TEXT NOT NULL DEFAULT '',
  command_id     TEXT NOT NULL DEFAULT '',
  provider       TEXT NOT NULL DEFAULT '',
  endpoint       TEXT NOT NULL DEFAULT '',
  model          TEXT NOT NULL DEFAULT '',
  stream         INTEGER NOT NULL DEFAULT 0,
  messages       INTEGER NOT NULL DEFAULT 0,
  tools          INTEGER NOT NULL DEFAULT 0,
  status         INTEGER NOT NULL DEFAULT 0,
  input_tokens   INTEGER,
  output_tokens  INTEGER,
  ttfb_ms        INTEGER,
  duration_ms    INTEGER,
  request_bytes  INTEGER NOT NULL DEFAULT 0,
  response_bytes INTEGER NOT NULL DEFAULT 0,
  redactions     TEXT NOT NULL DEFAULT '{}',
  excerpt        TEXT NOT NULL DEFAULT '',
  error          TEXT NOT NULL DEFAULT '',
  record         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS llm_requests_session_ts ON llm_requests(session, ts_us);
)sql";

int64_t wall_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;
struct DbCloser {
  void operator()(sqlite3* d) const { sqlite3_close_v2(d); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;

Db open_db(const std::string& path, int flags, std::string* error) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    if (error)
      *error = "audit database " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3_busy_timeout(db.get(), 5000);
  return db;
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void bind_opt(sqlite3_stmt* s, int i, int64_t v) {
  if (v < 0) {
    sqlite3_bind_null(s, i);
  } else {
    sqlite3_bind_int64(s, i, v);
  }
}
int64_t col_opt(sqlite3_stmt* s, int i) {
  return sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
}
std::string col_text(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

std::unique_ptr<LlmLogStore> LlmLogStore::open(const std::string& path, std::string* error) {
  std::unique_ptr<LlmLogStore> st(new LlmLogStore());
  st->path_ = path;
  size_t slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0 && !fs_util::make_dirs(path.substr(0, slash), 0750)) {
    *error = "cannot create the directory of " + path +
             " (check permissions or set "
             "audit.storage.sqlite_path)";
    return nullptr;
  }
  Db db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, error);
  if (!db) return nullptr;
  std::string init_err;
  if (!sqlite_init::prepare(db.get(), kSchema, &init_err)) {
    *error = "audit database " + path + ": " + init_err;
    return nullptr;
  }
  st->db_ = db.release();
  st->thread_ = std::thread([p = st.get()] { p->writer(); });
  return st;
}

LlmLogStore::~LlmLogStore() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Db close(db_);
}

void LlmLogStore::record(const proxy::LlmRecord& rec, const std::string& session,
                         const std::string& command_id) {
  LlmLogRow row;
  row.ts_us = wall_us();
  row.session = session;
  row.command_id = command_id;
  row.rec = rec;
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(row));
    ++queued_;
  }
  cv_.notify_all();
}

void LlmLogStore::flush() {
  std::unique_lock<std::mutex> lk(mu_);
  const uint64_t target = queued_;
  drained_.wait(lk, [&] { return written_ >= target || !thread_.joinable(); });
}

void LlmLogStore::writer() {
  std::unique_lock<std::mutex> lk(mu_);
  while (true) {
    cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) break;
    std::vector<LlmLogRow> batch(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.end()));
    queue_.clear();
    lk.unlock();
    write_batch(batch);
    lk.lock();
    written_ += batch.size();
    drained_.notify_all();
  }
}

bool LlmLogStore::write_batch(std::vector<LlmLogRow>& batch) {
  sqlite3_stmt* raw = nullptr;
  const char* sql =
      "INSERT INTO llm_requests (ts_us, session, command_id, provider, endpoint, model, stream, "
      "messages, tools, status, input_tokens, output_tokens, ttfb_ms, duration_ms, "
      "request_bytes, response_bytes, redactions, excerpt, error, record) VALUES "
      "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  if (sqlite3_prepare_v2(db_, sql, -1, &raw, nullptr) != SQLITE_OK) return false;
  Stmt st(raw);
  sqlite3_exec(db_, "BEGIN", nullptr, nullptr, nullptr);
  for (const LlmLogRow& r : batch) {
    const proxy::LlmRecord& x = r.rec;
    nlohmann::json red = nlohmann::json::object();
    for (const auto& [k, v] : x.redactions) red[k] = v;
    // Response findings under one nested key: old readers skip non-numbers.
    if (!x.response_redactions.empty()) {
      nlohmann::json resp = nlohmann::json::object();
      for (const auto& [k, v] : x.response_redactions) resp[k] = v;
      red["response"] = resp;
    }
    sqlite3_reset(st.get());
    sqlite3_bind_int64(st.get(), 1, r.ts_us);
    bind_text(st.get(), 2, r.session);
    bind_text(st.get(), 3, r.command_id);
    bind_text(st.get(), 4, x.provider);
    bind_text(st.get(), 5, x.endpoint);
    bind_text(st.get(), 6, x.model);
    sqlite3_bind_int(st.get(), 7, x.stream ? 1 : 0);
    sqlite3_bind_int64(st.get(), 8, x.messages);
    sqlite3_bind_int64(st.get(), 9, x.tools);
    sqlite3_bind_int(st.get(), 10, x.http_status);
    bind_opt(st.get(), 11, x.input_tokens);
    bind_opt(st.get(), 12, x.output_tokens);
    bind_opt(st.get(), 13, x.ttfb_ms);
    bind_opt(st.get(), 14, x.total_ms);
    sqlite3_bind_int64(st.get(), 15, static_cast<int64_t>(x.request_bytes));
    sqlite3_bind_int64(st.get(), 16, static_cast<int64_t>(x.response_bytes));
    bind_text(st.get(), 17, red.dump());
    bind_text(st.get(), 18, x.prompt_excerpt);
    bind_text(st.get(), 19, x.error);
    bind_text(st.get(), 20, x.to_json());
    sqlite3_step(st.get());
  }
  return sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK;
}

std::vector<LlmLogRow> LlmLogStore::query(const std::string& session, int limit,
                                          std::string* error) {
  std::vector<LlmLogRow> rows;
  Db db = open_db(path_, SQLITE_OPEN_READONLY, error);
  if (!db) return rows;
  std::string sql =
      "SELECT id, ts_us, session, command_id, provider, endpoint, model, stream, messages, "
      "tools, status, input_tokens, output_tokens, ttfb_ms, duration_ms, request_bytes, "
      "response_bytes, redactions, excerpt, error FROM llm_requests";
  if (!session.empty()) sql += " WHERE session = ?";
  sql += " ORDER BY id DESC";
  if (limit > 0) sql += " LIMIT " + std::to_string(limit);
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    if (error) *error = std::string("audit database: ") + sqlite3_errmsg(db.get());
    return rows;
  }
  Stmt st(raw);
  if (!session.empty()) bind_text(st.get(), 1, session);
  while (sqlite3_step(st.get()) == SQLITE_ROW) {
    LlmLogRow r;
    sqlite3_stmt* s = st.get();
    r.id = sqlite3_column_int64(s, 0);
    r.ts_us = sqlite3_column_int64(s, 1);
    r.session = col_text(s, 2);
    r.command_id = col_text(s, 3);
    r.rec.provider = col_text(s, 4);
    r.rec.endpoint = col_text(s, 5);
    r.rec.model = col_text(s, 6);
    r.rec.stream = sqlite3_column_int(s, 7) != 0;
    r.rec.messages = sqlite3_column_int64(s, 8);
    r.rec.tools = sqlite3_column_int64(s, 9);
    r.rec.http_status = sqlite3_column_int(s, 10);
    r.rec.input_tokens = col_opt(s, 11);
    r.rec.output_tokens = col_opt(s, 12);
    r.rec.ttfb_ms = col_opt(s, 13);
    r.rec.total_ms = col_opt(s, 14);
    r.rec.request_bytes = static_cast<uint64_t>(sqlite3_column_int64(s, 15));
    r.rec.response_bytes = static_cast<uint64_t>(sqlite3_column_int64(s, 16));
    auto red = nlohmann::json::parse(col_text(s, 17), nullptr, false);
    if (red.is_object()) {
      for (auto& [k, v] : red.items()) {
        if (v.is_number_integer()) {
          r.rec.redactions[k] = v.get<int64_t>();
        } else if (k == "response" && v.is_object()) {
          for (auto& [rk, rv] : v.items())
            if (rv.is_number_integer()) r.rec.response_redactions[rk] = rv.get<int64_t>();
        }
      }
    }
    r.rec.prompt_excerpt = col_text(s, 18);
    r.rec.error = col_text(s, 19);
    rows.push_back(std::move(r));
  }
  if (error) error->clear();
  std::reverse(rows.begin(), rows.end());
  return rows;
}

}  // namespace agentsh
