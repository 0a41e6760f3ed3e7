// LlmHttpResponseParser: an incremental HTTP/1.1 response parser. Feed it bytes as they
// arrive from upstream, in pieces of any size; it reports the head, then the body
// (de-chunked) piece by piece as it arrives — nothing is buffered beyond the current
// line — then completion. Handles Content-Length, chunked transfer coding (extensions,
// trailers), bodies delimited by connection close, 1xx interim responses (skipped),
// and responses without a body (HEAD, 204, 304).
//
//   struct H : LlmHttpResponseParser::Handler { … };
//   LlmHttpResponseParser p(&h);
//   size_t used = p.feed(bytes);   // < bytes.size() once done(): the rest is the next
//                                  // response on a keep-alive connection (reset() first)
//   p.finish();                    // upstream closed: ends a close-delimited body, or
//                                  // records the truncation
//
// Malformed input (bad status line, conflicting Content-Length, bad chunk size, head
// over 64 KiB) stops the parser: failed() and error() say what was wrong.
// Thread-safety: one parser per connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace agentsh::proxy {

class LlmHttpResponseParser {
 public:
  using Headers = std::vector<std::pair<std::string, std::string>>;  // names lower-cased

  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void on_head(int status, const std::string& reason, const Headers& headers) = 0;
    virtual void on_body(std::string_view data) = 0;
    virtual void on_complete() = 0;
  };

  static constexpr size_t kMaxHeadBytes = 64 << 10;
  static constexpr size_t kMaxLineBytes = 8 << 10;

  // `head_request`: the request was HEAD, so the response has no body whatever it says.
  explicit LlmHttpResponseParser(Handler* handler, bool head_request = false)
      : handler_(handler), head_request_(head_request) {}

  size_t feed(std::string_view data);
  void finish();
  // Ready for the next response on the same connection.
  void reset(bool head_request = false);

  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kError; }
  bool head_seen() const { return status_ != 0; }
  const std::string& error() const { return error_; }
  int status() const { return status_; }
  bool chunked() const { return chunked_; }
  uint64_t body_bytes() const { return body_bytes_; }
  uint64_t wire_bytes() const { return wire_bytes_; }
  // Body bytes still expected with Content-Length (-1: chunked or until close).
  int64_t remaining() const { return remaining_; }

  // Header value (first occurrence) from a parsed header list; "" if absent.
  static std::string header(const Headers& h, std::string_view name);

 private:
  enum class State {
    kStatusLine,
    kHeaders,
    kBody,        // Content-Length
    kUntilClose,  // neither length nor chunked
    kChunkSize,
    kChunkData,
    kChunkDataEnd,  // the CRLF after a chunk's data
    kTrailers,
    kDone,
    kError,
  };

  // Takes one line (without its line ending) from line_ + data; false if incomplete.
  bool take_line(std::string_view data, size_t* pos, std::string* line);
  bool fail(const std::string& message);
  bool on_status_line(const std::string& line);
  bool on_header_line(const std::string& line);
  bool end_of_head();
  void complete();

  Handler* handler_;
  bool head_request_;
  State state_ = State::kStatusLine;
  std::string line_;  // partial line carried between feeds
  size_t head_bytes_ = 0;
  int status_ = 0;
  std::string reason_;
  Headers headers_;
  bool chunked_ = false;
  int64_t remaining_ = -1;
  uint64_t chunk_left_ = 0;
  uint64_t body_bytes_ = 0, wire_bytes_ = 0;
  std::string error_;
};

}  // namespace agentsh::proxy
