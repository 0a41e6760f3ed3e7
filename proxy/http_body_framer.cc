#include "proxy/http_body_framer.h"

namespace agentsh::proxy {
namespace {
constexpr size_t kMaxSizeLine = 4096;
constexpr size_t kMaxTrailers = 16 * 1024;
}  // namespace

void HttpBodyFramer::reset(http_head::BodyKind kind, uint64_t length) {
  kind_ = kind;
  remaining_ = length;
  line_len_ = trailer_len_ = 0;
  size_digits_ = 0;
  error_.clear();
  switch (kind) {
    case http_head::BodyKind::kNone:
      state_ = State::kDone;
      break;
    case http_head::BodyKind::kLength:
      state_ = length ? State::kLength : State::kDone;
      break;
    case http_head::BodyKind::kChunked:
      state_ = State::kSize;
      break;
    case http_head::BodyKind::kUntilClose:
      state_ = State::kUntilClose;
      break;
  }
}

void HttpBodyFramer::fail(const char* why) {
  state_ = State::kFailed;
  error_ = why;
}

size_t HttpBodyFramer::consume(std::string_view data) {
  size_t i = 0;
  while (i < data.size()) {
    switch (state_) {
      case State::kDone:
      case State::kFailed:
        return i;
      case State::kUntilClose:
        return data.size();
      case State::kLength:
      case State::kData: {
        const uint64_t n = std::min<uint64_t>(remaining_, data.size() - i);
        i += n;
        remaining_ -= n;
        if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kDataCr;
        break;
      }
      case State::kSize: {
        const char c = data[i];
        int d = -1;
        if (c >= '0' && c <= '9')
          d = c - '0';
        else if (c >= 'a' && c <= 'f')
          d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
          d = c - 'A' + 10;
        if (d >= 0) {
          if (++size_digits_ > 15) {
            fail("chunk size too large");
            return i;
          }
          remaining_ = remaining_ * 16 + d;
          ++i;
          ++line_len_;
          break;
        }
        if (size_digits_ == 0) {
          fail("malformed chunk size");
          return i;
        }
        if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kSizeExt;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
        } else if (c == '\n') {
          ++i;
          line_len_ = 0;
          size_digits_ = 0;
          state_ = remaining_ ? State::kData : State::kTrailer;
        } else {
          {
            fail("malformed chunk size");
            return i;
          }
        }
        break;
      }
      case State::kSizeExt: {
        const char c = data[i];
        if (c == '\n') {
          state_ = State::kSizeLf;
          break;  // handled as LF below
        }
        if (c == '\r') {
          state_ = State::kSizeLf;
          ++i;
          break;
        }
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
          fail("control character in chunk extension");
          return i;
        }
        if (++line_len_ > kMaxSizeLine) {
          fail("chunk size line too long");
          return i;
        }
        ++i;
        break;
      }
      case State::kSizeLf:
        if (data[i] != '\n') {
          fail("malformed chunk size line");
          return i;
        }
        ++i;
        line_len_ = 0;
        size_digits_ = 0;
        state_ = remaining_ ? State::kData : State::kTrailer;
        break;
      case State::kDataCr:
        if (data[i] == '\r') {
          state_ = State::kDataLf;
          ++i;
        } else if (data[i] == '\n') {
          state_ = State::kSize;
          ++i;
        } else {
          {
            fail("missing CRLF after chunk data");
            return i;
          }
        }
        break;
      case State::kDataLf:
        if (data[i] != '\n') {
          fail("missing CRLF after chunk data");
          return i;
        }
        state_ = State::kSize;
        ++i;
        break;
      case State::kTrailer: {
        const char c = data[i];
        if (c == '\r') {
          state_ = State::kTrailerLf;
          ++i;
          break;
        }
        ++i;
        if (c == '\n') {
          if (line_len_ == 0) {
            state_ = State::kDone;
            return i;
          }
          line_len_ = 0;
          break;
        }
        ++line_len_;
        if (++trailer_len_ > kMaxTrailers) {
          fail("trailers too large");
          return i;
        }
        break;
      }
      case State::kTrailerLf:
        if (data[i] != '\n') {
          fail("bare CR in trailer");
          return i;
        }
        ++i;
        if (line_len_ == 0) {
          state_ = State::kDone;
          return i;
        }
        line_len_ = 0;
        state_ = State::kTrailer;
        break;
    }
  }
  return i;
}

}  // namespace agentsh::proxy
