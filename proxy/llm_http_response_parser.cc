#include "proxy/llm_http_response_parser.h"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace agentsh::proxy {

namespace {

constexpr size_t kMaxHeaders = 256;

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || strchr("!#$%&'*+-.^_`|~", c) != nullptr;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  return out;
}

}  // namespace

std::string LlmHttpResponseParser::header(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k == name) return v;
  return "";
}

void LlmHttpResponseParser::reset(bool head_request) {
  head_request_ = head_request;
  state_ = State::kStatusLine;
  line_.clear();
  head_bytes_ = 0;
  status_ = 0;
  reason_.clear();
  headers_.clear();
  chunked_ = false;
  remaining_ = -1;
  chunk_left_ = 0;
  body_bytes_ = wire_bytes_ = 0;
  error_.clear();
}

bool LlmHttpResponseParser::fail(const std::string& message) {
  if (state_ == State::kError) return false;  // keep the first reason
  state_ = State::kError;
  error_ = "malformed upstream response: " + message;
  return false;
}

bool LlmHttpResponseParser::take_line(std::string_view data, size_t* pos, std::string* line) {
  const char* start = data.data() + *pos;
  size_t avail = data.size() - *pos;
  const void* nl = memchr(start, '\n', avail);
  if (nl == nullptr) {
    line_.append(start, avail);
    *pos = data.size();
    if (line_.size() > kMaxLineBytes) fail("a header or chunk-size line longer than 8 KiB");
    return false;
  }
  size_t len = size_t(static_cast<const char*>(nl) - start);
  *line = std::move(line_);
  line_.clear();
  line->append(start, len);
  *pos += len + 1;
  if (!line->empty() && line->back() == '\r') line->pop_back();
  if (line->size() > kMaxLineBytes) return fail("a header or chunk-size line longer than 8 KiB");
  return true;
}

void LlmHttpResponseParser::complete() {
  state_ = State::kDone;
  handler_->on_complete();
}

bool LlmHttpResponseParser::on_status_line(const std::string& line) {
  if (line.empty() && status_ == 0 && head_bytes_ <= 2) return true;  // stray CRLF
  // HTTP/1.1 200 OK
  if (line.size() < 12 || line.compare(0, 7, "HTTP/1.") != 0 || !std::isdigit(line[7]) ||
      line[8] != ' ' || !std::isdigit(line[9]) || !std::isdigit(line[10]) ||
      !std::isdigit(line[11]) || (line.size() > 12 && line[12] != ' '))
    return fail("bad status line '" + printable(line) + "'");
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  if (status_ < 100) return fail("bad status code in '" + printable(line) + "'");
  reason_ = line.size() > 13 ? line.substr(13) : "";
  state_ = State::kHeaders;
  return true;
}

bool LlmHttpResponseParser::on_header_line(const std::string& line) {
  if (line.empty()) return end_of_head();
  if (line[0] == ' ' || line[0] == '\t') return fail("folded header line (obsolete syntax)");
  size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0)
    return fail("header line without a name: '" + printable(line) + "'");
  for (size_t i = 0; i < colon; ++i)
    if (!is_token_char(line[i]))
      return fail("bad header name '" + printable(line.substr(0, colon)) + "'");
  if (headers_.size() >= kMaxHeaders) return fail("more than 256 header lines");
  headers_.emplace_back(lower(line.substr(0, colon)),
                        trim(std::string_view(line).substr(colon + 1)));
  return true;
}

bool LlmHttpResponseParser::end_of_head() {
  if (status_ >= 100 && status_ < 200 && status_ != 101) {
    // Interim response (100 Continue, 103 Early Hints): the real one follows.
    status_ = 0;
    reason_.clear();
    headers_.clear();
    state_ = State::kStatusLine;
    return true;
  }
  handler_->on_head(status_, reason_, headers_);
  if (state_ == State::kError) return false;
  if (head_request_ || status_ == 101 || status_ == 204 || status_ == 304) {
    remaining_ = 0;
    complete();
    return true;
  }
  std::string te;
  for (const auto& [k, v] : headers_)
    if (k == "transfer-encoding") te += (te.empty() ? "" : ",") + lower(v);
  if (!te.empty()) {
    // Content-Length is ignored when a transfer coding is present (RFC 9112 6.3); the
    // body is chunked only if chunked is the last coding applied.
    std::string final_coding;
    size_t p = 0;
    while (p <= te.size()) {
      size_t comma = te.find(',', p);
      std::string item = trim(std::string_view(te).substr(
          p, comma == std::string::npos ? std::string::npos : comma - p));
      if (!item.empty()) final_coding = item;
      if (comma == std::string::npos) break;
      p = comma + 1;
    }
    if (final_coding == "chunked") {
      chunked_ = true;
      state_ = State::kChunkSize;
    } else {
      state_ = State::kUntilClose;
    }
    return true;
  }
  bool have_length = false;
  uint64_t length = 0;
  for (const auto& [k, v] : headers_) {
    if (k != "content-length") continue;
    // "12, 12" is allowed (identical values), anything else is an error.
    size_t p = 0;
    while (p <= v.size()) {
      size_t comma = v.find(',', p);
      std::string item = trim(std::string_view(v).substr(
          p, comma == std::string::npos ? std::string::npos : comma - p));
      if (item.empty() || item.size() > 18 ||
          !std::all_of(item.begin(), item.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return fail("bad Content-Length '" + printable(v) + "'");
      uint64_t n = std::stoull(item);
      if (have_length && n != length) return fail("conflicting Content-Length values");
      have_length = true;
      length = n;
      if (comma == std::string::npos) break;
      p = comma + 1;
    }
  }
  if (have_length) {
    remaining_ = int64_t(length);
    if (length == 0)
      complete();
    else
      state_ = State::kBody;
    return true;
  }
  state_ = State::kUntilClose;
  return true;
}

size_t LlmHttpResponseParser::feed(std::string_view data) {
  size_t pos = 0;
  std::string line;
  while (pos < data.size() && state_ != State::kDone && state_ != State::kError) {
    switch (state_) {
      case State::kStatusLine:
      case State::kHeaders:
      case State::kTrailers: {
        size_t before = pos;
        bool whole = take_line(data, &pos, &line);
        if (state_ == State::kError) break;
        head_bytes_ += pos - before;
        if (head_bytes_ > kMaxHeadBytes) {
          fail("response head larger than 64 KiB");
          break;
        }
        if (!whole) break;
        if (state_ == State::kStatusLine)
          on_status_line(line);
        else if (state_ == State::kHeaders)
          on_header_line(line);
        else if (line.empty())
          complete();  // trailer fields are ignored
        break;
      }
      case State::kBody: {
        size_t n = std::min<uint64_t>(uint64_t(remaining_), data.size() - pos);
        body_bytes_ += n;
        remaining_ -= int64_t(n);
        handler_->on_body(data.substr(pos, n));
        pos += n;
        if (remaining_ == 0) complete();
        break;
      }
      case State::kUntilClose: {
        size_t n = data.size() - pos;
        body_bytes_ += n;
        handler_->on_body(data.substr(pos));
        pos += n;
        break;
      }
      case State::kChunkSize: {
        if (!take_line(data, &pos, &line)) break;
        size_t i = 0;
        uint64_t size = 0;
        while (i < line.size() && std::isxdigit(static_cast<unsigned char>(line[i]))) {
          if (i >= 15) {
            fail("chunk size too large");
            break;
          }
          char c = char(std::tolower(static_cast<unsigned char>(line[i])));
          size = size * 16 + uint64_t(c <= '9' ? c - '0' : c - 'a' + 10);
          ++i;
        }
        if (state_ == State::kError) break;
        std::string_view rest = std::string_view(line).substr(i);
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
          rest.remove_prefix(1);
        if (i == 0 || (!rest.empty() && rest.front() != ';')) {
          fail("bad chunk size line '" + printable(line) + "'");
          break;
        }
        if (size == 0) {
          state_ = State::kTrailers;
        } else {
          chunk_left_ = size;
          state_ = State::kChunkData;
        }
        break;
      }
      case State::kChunkData: {
        size_t n = std::min<uint64_t>(chunk_left_, data.size() - pos);
        body_bytes_ += n;
        chunk_left_ -= n;
        handler_->on_body(data.substr(pos, n));
        pos += n;
        if (chunk_left_ == 0) state_ = State::kChunkDataEnd;
        break;
      }
      case State::kChunkDataEnd: {
        if (!take_line(data, &pos, &line)) break;
        if (!line.empty())
          fail("chunk data longer than its declared size");
        else
          state_ = State::kChunkSize;
        break;
      }
      case State::kDone:
      case State::kError:
        break;
    }
  }
  wire_bytes_ += pos;
  return pos;
}

void LlmHttpResponseParser::finish() {
  switch (state_) {
    case State::kUntilClose:
      complete();
      return;
    case State::kDone:
    case State::kError:
      return;
    case State::kStatusLine:
      fail(status_ == 0 && head_bytes_ == 0
               ? "upstream closed the connection without a response"
               : "upstream closed the connection inside the status line");
      return;
    case State::kHeaders:
      fail("upstream closed the connection inside the response headers");
      return;
    case State::kBody:
      fail("upstream closed the connection after " + std::to_string(body_bytes_) + " of " +
           std::to_string(body_bytes_ + uint64_t(remaining_)) + " body bytes");
      return;
    default:
      fail("upstream closed the connection inside the chunked body");
      return;
  }
}

}  // namespace agentsh::proxy
