// SQLite audit store. One writer thread owns the write connection and commits queued
// events in batches (one transaction per batch), so callers never wait on the disk.
// Queries open their own read connection (WAL lets them run beside the writer).
#include "agentsh/audit_store.h"

#include "agentsh/sqlite_init.h"
#include "common/fs_util.h"

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace agentsh {

namespace {

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS events (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  ts_us      INTEGER NOT NULL,
  session    TEXT NOT NULL DEFAULT '',
  command_id TEXT NOT NULL DEFAULT '',
  pid        INTEGER NOT NULL DEFAULT 0,
  type       TEXT NOT NULL,
  operation  TEXT NOT NULL DEFAULT '',
  target     TEXT NOT NULL DEFAULT '',
  decision   TEXT NOT NULL DEFAULT '',
  effective  TEXT NOT NULL DEFAULT '',
  rule       TEXT NOT NULL DEFAULT '',
  message    TEXT NOT NULL DEFAULT '',
  source     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS events_session_ts ON events(session, ts_us);
CREATE INDEX IF NOT EXISTS events_decision ON events(effective, decision);
)sql";

constexpr auto kLinger = std::chrono::milliseconds(5);
constexpr size_t kMaxBatch = 512;
constexpr int kBusyTimeoutMs = 5000;  // every connection: writers queue behind each other

int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

Db open_db(const std::string& path, int flags, std::string* error) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    if (error)
      *error = "audit database " + path + ": " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc));
    return nullptr;
  }
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
  return db;
}

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

}  // namespace

struct AuditStore::Impl {
  std::string path;
  Db db;  // writer connection, used only by the writer thread after open()
  Stmt insert;
  std::mutex mu;
  std::condition_variable cv, done_cv;
  std::deque<AuditEvent> queue;
  uint64_t enqueued = 0, committed = 0;
  int flushers = 0;  // threads waiting in flush(): commit now, no lingering
  bool stop = false;
  // open_deferred(): after the first queued event, wait up to kLinger for more before
  // committing, so a burst (a build's execs and opens) costs one transaction, not one
  // per event. A crash loses at most the same as before: what is still queued.
  bool linger = false;
  bool opened = false;  // the writer connection is usable (or open_writer() failed: db null)
  std::function<void(AuditEvent&)> redact;  // applied on the writer thread; may be empty
  std::thread writer;

  // Creates the directory, opens the writer connection, prepares schema and statement.
  bool open_writer(std::string* error) {
    auto slash = path.find_last_of('/');
    if (slash != std::string::npos && slash > 0 &&
        !fs_util::make_dirs(path.substr(0, slash), 0750)) {
      if (error)
        *error =
            "audit database " + path + ": cannot create its directory (" + strerror(errno) + ")";
      return false;
    }
    db = open_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, error);
    if (!db) return false;
    std::string init_err;
    if (!sqlite_init::prepare(db.get(), kSchema, &init_err)) {
      if (error) *error = "audit database " + path + ": " + init_err;
      return false;
    }
    chmod(path.c_str(), 0640);
    // No checkpoint when the last connection closes: every `agentsh exec` is such a last
    // connection, and the checkpoint (with its fsyncs, and deleting/recreating the -wal
    // and -shm files) cost a few ms at the end of each run. The price: the next first
    // connection rebuilds the WAL index by reading the WAL, so the WAL is kept short —
    // once a commit leaves it past 128 pages (512 KiB), i.e. every few dozen runs, it is
    // checkpointed and truncated.
    //
    // Not sqlite3_wal_autocheckpoint: its PASSIVE checkpoint backfills the frames, but
    // only a later write by the same connection restarts the WAL from its start; an
    // exec writes once and exits, and the next one's index rebuild forgets what was
    // backfilled. The WAL then only grew (16 MB read back at every start, ~7 ms, after a
    // few thousand runs). TRUNCATE leaves an empty file. If another connection holds
    // the WAL (a reader, a concurrent exec) it returns SQLITE_BUSY at once — the busy
    // timeout is off around it, so an exit never waits for someone else's reader — and
    // the next commit past the threshold tries again. (While another connection is open
    // the shared index survives and needs no rebuild anyway.)
    sqlite3_db_config(db.get(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
    sqlite3_wal_hook(
        db.get(),
        [](void*, sqlite3* h, const char* name, int pages) -> int {
          if (pages >= 128) {
            sqlite3_busy_timeout(h, 0);
            sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
            sqlite3_busy_timeout(h, kBusyTimeoutMs);
          }
          return SQLITE_OK;
        },
        nullptr);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(),
                           "INSERT INTO events(ts_us,session,command_id,pid,type,operation,"
                           "target,decision,effective,rule,message,source) "
                           "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &raw, nullptr) != SQLITE_OK) {
      if (error) *error = "audit database " + path + ": " + sqlite3_errmsg(db.get());
      return false;
    }
    insert.reset(raw);
    return true;
  }

  void run() {
    if (!opened) {
      // open_deferred(): the open happens here, off the caller's start-up path.
      std::string err;
      opened = open_writer(&err);
      if (!opened) {
        fprintf(stderr, "agentsh: WARNING: audit disabled for this run: %s\n", err.c_str());
        insert.reset();
        db.reset();
      }
    }
    std::unique_lock<std::mutex> lk(mu);
    for (;;) {
      cv.wait(lk, [&] { return stop || !queue.empty(); });
      if (queue.empty() && stop) return;
      if (linger)
        cv.wait_for(lk, kLinger, [&] { return stop || flushers > 0 || queue.size() >= kMaxBatch; });
      std::deque<AuditEvent> batch;
      batch.swap(queue);
      lk.unlock();
      write_batch(batch);
      lk.lock();
      committed += batch.size();
      done_cv.notify_all();
    }
  }

  void write_batch(std::deque<AuditEvent>& batch) {
    if (!db) return;  // a deferred open failed: the records are dropped (warned once)
    if (redact)
      for (AuditEvent& e : batch) redact(e);
    sqlite3_exec(db.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
    for (const AuditEvent& e : batch) {
      sqlite3_stmt* s = insert.get();
      sqlite3_reset(s);
      sqlite3_bind_int64(s, 1, e.ts_us ? e.ts_us : now_us());
      bind_text(s, 2, e.session);
      bind_text(s, 3, e.command_id);
      sqlite3_bind_int64(s, 4, e.pid);
      bind_text(s, 5, e.type);
      bind_text(s, 6, e.operation);
      bind_text(s, 7, e.target);
      bind_text(s, 8, e.decision);
      bind_text(s, 9, e.effective);
      bind_text(s, 10, e.rule);
      bind_text(s, 11, e.message);
      bind_text(s, 12, e.source);
      if (sqlite3_step(s) != SQLITE_DONE) {
        // Nothing sensible to do from the writer thread but say so once per failure.
        fprintf(stderr, "agentsh: audit write failed: %s\n", sqlite3_errmsg(db.get()));
      }
    }
    sqlite3_exec(db.get(), "COMMIT", nullptr, nullptr, nullptr);
  }
};

std::unique_ptr<AuditStore> AuditStore::open(const std::string& path, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  if (!impl->open_writer(error)) return nullptr;
  impl->opened = true;
  std::unique_ptr<AuditStore> store(new AuditStore());
  store->impl_ = std::move(impl);
  Impl* p = store->impl_.get();
  p->writer = std::thread([p] { p->run(); });
  return store;
}

std::unique_ptr<AuditStore> AuditStore::open_deferred(const std::string& path,
                                                      std::function<void(AuditEvent&)> redact) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  impl->redact = std::move(redact);
  impl->linger = true;
  std::unique_ptr<AuditStore> store(new AuditStore());
  store->impl_ = std::move(impl);
  Impl* p = store->impl_.get();
  p->writer = std::thread([p] { p->run(); });
  return store;
}

AuditStore::~AuditStore() {
  if (!impl_) return;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
}

void AuditStore::record(AuditEvent ev) {
  if (ev.ts_us == 0) ev.ts_us = now_us();
  size_t queued;
  {
    std::lock_guard<std::mutex> lk(impl_->mu);
    impl_->queue.push_back(std::move(ev));
    ++impl_->enqueued;
    queued = impl_->queue.size();
  }
  // The writer waits for the first event, or (lingering) for a full batch: other events
  // need no wake-up — each one would cost a context switch.
  if (queued == 1 || queued >= kMaxBatch || !impl_->linger) impl_->cv.notify_one();
}

void AuditStore::flush() {
  std::unique_lock<std::mutex> lk(impl_->mu);
  uint64_t target = impl_->enqueued;
  ++impl_->flushers;
  impl_->cv.notify_one();
  impl_->done_cv.wait(lk, [&] { return impl_->committed >= target; });
  --impl_->flushers;
}

const std::string& AuditStore::path() const {
  return impl_->path;
}

std::vector<AuditRow> AuditStore::query(const AuditQuery& q, std::string* error) {
  std::vector<AuditRow> rows;
  Db db = open_db(impl_->path, SQLITE_OPEN_READONLY, error);
  if (!db) return rows;
  std::string sql =
      "SELECT id,ts_us,session,command_id,pid,type,operation,target,decision,effective,rule,"
      "message,source FROM events WHERE id > ?1";
  if (!q.decision.empty()) sql += " AND (decision = ?2 OR effective = ?2)";
  if (!q.type.empty()) sql += " AND type = ?3";
  if (!q.session.empty()) sql += " AND session = ?4";
  if (q.since_us > 0) sql += " AND ts_us >= ?5";
  sql += q.newest_first ? " ORDER BY id DESC" : " ORDER BY id ASC";
  if (q.limit > 0) sql += " LIMIT ?6";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    if (error) *error = sqlite3_errmsg(db.get());
    return rows;
  }
  Stmt st(raw);
  sqlite3_bind_int64(raw, 1, q.after_id);
  if (!q.decision.empty()) bind_text(raw, 2, q.decision);
  if (!q.type.empty()) bind_text(raw, 3, q.type);
  if (!q.session.empty()) bind_text(raw, 4, q.session);
  if (q.since_us > 0) sqlite3_bind_int64(raw, 5, q.since_us);
  if (q.limit > 0) sqlite3_bind_int(raw, 6, q.limit);
  auto col = [&](int i) {
    const unsigned char* t = sqlite3_column_text(raw, i);
    return t ? std::string(reinterpret_cast<const char*>(t)) : std::string();
  };
  int rc;
  while ((rc = sqlite3_step(raw)) == SQLITE_ROW) {
    AuditRow r;
    r.id = sqlite3_column_int64(raw, 0);
    r.ev.ts_us = sqlite3_column_int64(raw, 1);
    r.ev.session = col(2);
    r.ev.command_id = col(3);
    r.ev.pid = sqlite3_column_int64(raw, 4);
    r.ev.type = col(5);
    r.ev.operation = col(6);
    r.ev.target = col(7);
    r.ev.decision = col(8);
    r.ev.effective = col(9);
    r.ev.rule = col(10);
    r.ev.message = col(11);
    r.ev.source = col(12);
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE && error) *error = sqlite3_errmsg(db.get());
  if (q.newest_first) std::reverse(rows.begin(), rows.end());
  return rows;
}

}  // namespace agentsh
