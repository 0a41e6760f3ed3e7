// LlmSseParser: incremental text/event-stream parser (WHATWG "server-sent events"):
// feed body bytes in pieces of any size; each complete event (ended by a blank line)
// is handed to the callback as soon as its blank line arrives. Handles CRLF, LF and CR
// line ends (also split across pieces), a leading BOM, comments, multi-line data, and
// field lines without a colon. Only the event being built is buffered; an event larger
// than kMaxEventBytes is dropped and counted instead of growing without bound.
// Thread-safety: one parser per stream.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace agentsh::proxy {

class LlmSseParser {
 public:
  struct Event {
    std::string type;  // "event:" field; "" means the default "message"
    std::string data;  // "data:" lines joined with '\n'
    std::string id;
  };
  using Callback = std::function<void(const Event&)>;

  static constexpr size_t kMaxEventBytes = 16 << 20;

  void feed(std::string_view bytes, const Callback& on_event);
  // End of stream. An event without its closing blank line is discarded (as the
  // standard says) and counted in truncated_events().
  void finish();

  uint64_t events() const { return events_; }
  uint64_t dropped_events() const { return dropped_; }
  uint64_t truncated_events() const { return truncated_; }

 private:
  void line(std::string_view l, const Callback& on_event);

  std::string partial_;  // an incomplete line
  bool after_cr_ = false;
  bool started_ = false;
  bool has_data_ = false, oversized_ = false, pending_ = false;
  Event cur_;
  uint64_t events_ = 0, dropped_ = 0, truncated_ = 0;
};

}  // namespace agentsh::proxy
