// The audit store: SQLite in WAL mode, one row per decision.
// Writes are queued and committed in batches by a background thread (off the hot path);
// flush() and the destructor drain the queue, so nothing is lost on a clean exit or
// SIGTERM (callers route SIGTERM to an orderly shutdown that destroys the store).
// Thread-safe: record() may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agentsh/audit_event.h"

namespace agentsh {

struct AuditQuery {
  std::string decision;  // matches decision or effective
  std::string type;
  std::string session;
  int64_t since_us = 0;  // 0 = no lower bound
  int64_t after_id = 0;  // rows with id > after_id (for following)
  int limit = 100;       // 0 = no limit
  bool newest_first = false;
};

struct AuditRow {
  int64_t id = 0;
  AuditEvent ev;
};

class AuditStore {
 public:
  // Opens (creating parent directories and the schema if needed). Returns null with
  // `error` set if the database cannot be opened.
  static std::unique_ptr<AuditStore> open(const std::string& path, std::string* error);
  // The same without waiting: the database is opened by the writer thread (start-up of
  // `agentsh exec` does not wait for SQLite). Records queue meanwhile. If the open fails,
  // one warning goes to stderr and every record of this store is dropped. `redact`
  // (optional) rewrites each event on the writer thread before it is stored — callers use
  // it for DLP, so that neither they nor the hook's broker wait for redaction. It must
  // stay callable until the store is destroyed.
  static std::unique_ptr<AuditStore> open_deferred(const std::string& path,
                                                   std::function<void(AuditEvent&)> redact);
  ~AuditStore();  // flushes
  AuditStore(const AuditStore&) = delete;
  AuditStore& operator=(const AuditStore&) = delete;

  void record(AuditEvent ev);  // never blocks on disk
  void flush();                // waits until everything recorded so far is committed
  std::vector<AuditRow> query(const AuditQuery& q, std::string* error = nullptr);
  const std::string& path() const;

 private:
  AuditStore() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace agentsh
