// One client's server-sent-events stream of a session's audit events.
//
// Follows the audit store: every pump() sends the rows recorded since the last one (by
// row id, so nothing is missed or repeated, and a reconnecting client resumes with
// Last-Event-ID), or — when there is nothing new — waits a little and, every
// `keepalive_ms`, sends an SSE comment so dead clients are noticed (the write fails)
// and proxies keep the connection open. Ends when `stopping` becomes true.
//
// Wire format per event:  id: <row id>\nevent: audit\ndata: <event JSON>\n\n
//
// Thread-safety: one EventStream per connection, used by that connection's thread only.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "agentsh/audit_store.h"

namespace agentsh {

class EventStream {
 public:
  // `write` sends bytes to the client and returns false once the client is gone.
  using Writer = std::function<bool(const std::string&)>;

  EventStream(AuditStore* store, std::string session, int64_t after_id,
              const std::atomic<bool>* stopping, int poll_ms = 200, int keepalive_ms = 15000);

  // Sends what is new (or waits up to poll_ms). Returns false when the stream is over:
  // the client went away or the server is stopping.
  bool pump(const Writer& write);

  int64_t last_id() const { return last_id_; }

  static std::string format(const AuditRow& row);

 private:
  AuditStore* store_;
  std::string session_;
  int64_t last_id_;
  const std::atomic<bool>* stopping_;
  int poll_ms_, keepalive_ms_;
  int64_t quiet_ms_ = 0;
  bool started_ = false;
};

}  // namespace agentsh
