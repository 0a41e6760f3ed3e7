// HttpBodyFramer: finds where an HTTP/1.x message body ends while the bytes stream
// through, without buffering or decoding it — so the proxy can forward a body verbatim
// and know when the next message on a keep-alive connection starts.
//
// Chunked bodies are walked with a small state machine (chunk-size lines and trailer
// lines are length-limited); a malformed chunk stream is an error, not a guess.
// Not thread-safe; one framer per message direction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/http_head.h"

namespace agentsh::proxy {

class HttpBodyFramer {
 public:
  void reset(http_head::BodyKind kind, uint64_t length);
  // How many bytes at the front of `data` belong to the body. Stops at the end of the
  // body (done()) or at the first malformed byte (failed()). kUntilClose takes all.
  size_t consume(std::string_view data);
  bool done() const { return state_ == State::kDone; }
  bool failed() const { return state_ == State::kFailed; }
  bool until_close() const { return kind_ == http_head::BodyKind::kUntilClose; }
  const std::string& error() const { return error_; }

 private:
  enum class State : uint8_t {
    kLength,  // counting down remaining_
    kUntilClose,
    kSize,     // chunk-size hex digits
    kSizeExt,  // chunk extension, up to LF
    kSizeLf,   // after CR of the size line
    kData,     // remaining_ bytes of chunk data
    kDataCr,   // CR after chunk data
    kDataLf,   // LF after chunk data
    kTrailer,  // a trailer line (or the final blank line)
    kTrailerLf,
    kDone,
    kFailed,
  };
  void fail(const char* why);

  http_head::BodyKind kind_ = http_head::BodyKind::kNone;
  State state_ = State::kDone;
  uint64_t remaining_ = 0;
  size_t line_len_ = 0;     // bytes in the current size/trailer line
  size_t trailer_len_ = 0;  // bytes of trailers so far
  int size_digits_ = 0;
  std::string error_;
};

}  // namespace agentsh::proxy
