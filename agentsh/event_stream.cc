#include "agentsh/event_stream.h"

#include <chrono>
#include <thread>

#include "agentsh/api_json.h"

namespace agentsh {

EventStream::EventStream(AuditStore* store, std::string session, int64_t after_id,
                         const std::atomic<bool>* stopping, int poll_ms, int keepalive_ms)
    : store_(store),
      session_(std::move(session)),
      last_id_(after_id),
      stopping_(stopping),
      poll_ms_(poll_ms),
      keepalive_ms_(keepalive_ms) {}

std::string EventStream::format(const AuditRow& row) {
  return "id: " + std::to_string(row.id) +
         "\nevent: audit\ndata: " + api_json::dump(api_json::event(row)) + "\n\n";
}

bool EventStream::pump(const Writer& write) {
  if (stopping_ && stopping_->load()) return false;
  if (!started_) {
    started_ = true;
    // Tells EventSource clients how soon to reconnect; also flushes the headers.
    if (!write("retry: 2000\n: agentsh events for " + session_ + "\n\n")) return false;
  }
  AuditQuery q;
  q.session = session_;
  q.after_id = last_id_;
  q.limit = 500;
  std::vector<AuditRow> rows = store_ ? store_->query(q) : std::vector<AuditRow>{};
  if (!rows.empty()) {
    std::string out;
    for (const AuditRow& r : rows) out += format(r);
    if (!write(out)) return false;
    last_id_ = rows.back().id;
    quiet_ms_ = 0;
    return true;
  }
  // Nothing new: wait in small steps so a stopping server is not held up.
  for (int waited = 0; waited < poll_ms_; waited += 50) {
    if (stopping_ && stopping_->load()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  quiet_ms_ += poll_ms_;
  if (quiet_ms_ >= keepalive_ms_) {
    quiet_ms_ = 0;
    if (!write(": keep-alive\n\n")) return false;
  }
  return true;
}

}  // namespace agentsh
