// LlmLogStore: the `llm_requests` table of the audit database (audit.storage.sqlite_path),
// one row per intercepted LLM request (proxy/llm_record.h), for `agentsh llm log`.
//
// Own SQLite connection (WAL, busy timeout: it shares the file with AuditStore), table
// created if missing. record() only queues: a background thread commits in batches, so
// the proxy's loop thread never waits for the disk. flush() and the destructor drain
// the queue. Thread-safe: record() and flush() from any thread; query() opens its own
// read connection.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "proxy/llm_record.h"

struct sqlite3;

namespace agentsh {

struct LlmLogRow {
  int64_t id = 0;
  int64_t ts_us = 0;  // wall clock when recorded
  std::string session, command_id;
  proxy::LlmRecord rec;
};

class LlmLogStore {
 public:
  static std::unique_ptr<LlmLogStore> open(const std::string& path, std::string* error);
  ~LlmLogStore();
  LlmLogStore(const LlmLogStore&) = delete;
  LlmLogStore& operator=(const LlmLogStore&) = delete;

  void record(const proxy::LlmRecord& rec, const std::string& session,
              const std::string& command_id);  // never blocks on disk
  void flush();
  // The last `limit` rows (0 = all), oldest first; `session` "" = every session.
  std::vector<LlmLogRow> query(const std::string& session, int limit, std::string* error);

 private:
  LlmLogStore() = default;
  void writer();
  bool write_batch(std::vector<LlmLogRow>& batch);

  std::string path_;
  sqlite3* db_ = nullptr;  // writer connection (closed in the destructor)
  std::mutex mu_;
  std::condition_variable cv_, drained_;
  std::deque<LlmLogRow> queue_;
  uint64_t queued_ = 0, written_ = 0;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace agentsh
