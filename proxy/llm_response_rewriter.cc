#include "proxy/llm_response_rewriter.h"

#include <zlib.h>

#include <cstdio>

#include "proxy/dlp_json_redactor.h"

namespace agentsh::proxy {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return out;
}

// "content-type" → "Content-Type" (the parser lower-cases names; clients do not care,
// people reading a trace do).
std::string title_case(const std::string& name) {
  std::string out = name;
  bool up = true;
  for (char& c : out) {
    if (up && c >= 'a' && c <= 'z') c = char(c - 'a' + 'A');
    up = c == '-';
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

}  // namespace

// zlib inflate over gzip or zlib-wrapped deflate (auto-detected), member after member.
struct LlmResponseRewriter::Inflater {
  z_stream zs{};
  bool ok = false, ended = false;
  Inflater() { ok = inflateInit2(&zs, 15 + 32) == Z_OK; }
  ~Inflater() {
    if (ok) inflateEnd(&zs);
  }
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  // Decodes `in`, handing output to `out` in pieces. False (and `err`) on corrupt input.
  template <typename F>
  bool feed(std::string_view in, F&& out, std::string* err) {
    unsigned char buf[64 * 1024];
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    zs.avail_in = static_cast<uInt>(in.size());
    while (zs.avail_in > 0) {
      if (ended) {
        // Another gzip member follows (concatenated gzip is legal).
        if (inflateReset(&zs) != Z_OK) return false;
        ended = false;
      }
      zs.next_out = buf;
      zs.avail_out = sizeof buf;
      int r = inflate(&zs, Z_NO_FLUSH);
      size_t got = sizeof buf - zs.avail_out;
      if (got > 0) out(std::string_view(reinterpret_cast<char*>(buf), got));
      if (r == Z_STREAM_END) {
        ended = true;
        continue;
      }
      if (r != Z_OK && r != Z_BUF_ERROR) {
        *err = std::string("compressed response body is corrupt (zlib: ") +
               (zs.msg ? zs.msg : "error " + std::to_string(r)) + ")";
        return false;
      }
      if (r == Z_BUF_ERROR && got == 0) break;
    }
    return true;
  }
};

LlmResponseRewriter::LlmResponseRewriter(const DlpScanner* scanner,
                                         LlmHttpResponseParser::Handler* next,
                                         std::map<std::string, int64_t>* redactions,
                                         bool head_request, bool chunked_ok)
    : scanner_(scanner),
      next_(next),
      redactions_(redactions),
      head_request_(head_request),
      chunked_ok_(chunked_ok) {}

LlmResponseRewriter::~LlmResponseRewriter() = default;

void LlmResponseRewriter::on_head(int status, const std::string& reason,
                                  const LlmHttpResponseParser::Headers& headers) {
  status_ = status;
  reason_ = reason;
  const std::string te = lower(LlmHttpResponseParser::header(headers, "transfer-encoding"));
  const std::string cl = LlmHttpResponseParser::header(headers, "content-length");
  if (!te.empty()) {
    in_framing_ = te.size() >= 7 && te.compare(te.size() - 7, 7, "chunked") == 0 ? Framing::kChunked
                                                                                 : Framing::kClose;
  } else if (!cl.empty()) {
    in_framing_ = Framing::kLength;
    in_length_ = std::strtoull(cl.c_str(), nullptr, 10);
  }
  const std::string ct = lower(LlmHttpResponseParser::header(headers, "content-type"));
  const std::string enc = lower(LlmHttpResponseParser::header(headers, "content-encoding"));
  const bool sse = starts_with(ct, "text/event-stream");
  const bool json = starts_with(ct, "application/json") || ct.find("+json") != std::string::npos ||
                    starts_with(ct, "text/");
  const bool no_body = head_request_ || status == 101 || status == 204 || status == 304;
  const bool codable =
      enc.empty() || enc == "identity" || enc == "gzip" || enc == "x-gzip" || enc == "deflate";
  if (!scanner_ || !scanner_->enabled() || no_body || !(sse || json) || !codable) {
    mode_ = Mode::kPassthrough;
    if (next_) next_->on_head(status, reason, headers);
    return;
  }
  if (!enc.empty() && enc != "identity") {
    inflate_ = std::make_unique<Inflater>();
    if (!inflate_->ok) error_ = "cannot start zlib";
  }
  headers_.clear();
  for (const auto& h : headers) {
    if (h.first == "content-length" || h.first == "transfer-encoding") continue;
    if (inflate_ && h.first == "content-encoding") continue;
    headers_.push_back(h);
  }
  if (next_) next_->on_head(status, reason, headers_);
  raw_hold_.clear();
  if (sse) {
    mode_ = Mode::kSse;
    // Headers go out at once: a streaming client wants them before the first event.
    emit_head(in_framing_ == Framing::kClose || !chunked_ok_ ? Framing::kClose : Framing::kChunked,
              0);
  } else {
    mode_ = Mode::kBuffered;
  }
}

void LlmResponseRewriter::on_body(std::string_view data) {
  if (mode_ == Mode::kPassthrough || !inflate_) return body_decoded(data);
  if (!error_.empty()) return;  // the rest of a corrupt body is dropped
  std::string err;
  if (!inflate_->feed(
          data, [this](std::string_view d) { body_decoded(d); }, &err))
    error_ = err;
}

void LlmResponseRewriter::body_decoded(std::string_view data) {
  if (next_) next_->on_body(data);
  switch (mode_) {
    case Mode::kSse:
      sse_feed(data);
      break;
    case Mode::kBuffered:
      if (body_.size() + data.size() > kMaxBufferedBytes) {
        to_stream_text();
        emit_body(stream_->feed(data));
      } else {
        body_.append(data);
      }
      break;
    case Mode::kStreamText:
      emit_body(stream_->feed(data));
      break;
    default:
      break;
  }
}

void LlmResponseRewriter::on_complete() {
  if (inflate_ && error_.empty() && !inflate_->ended)
    error_ = "compressed response body ended before the end of its compressed stream";
  switch (mode_) {
    case Mode::kSse:
      if (!body_.empty()) emit_body(redact_event(body_));
      body_.clear();
      if (out_framing_ == Framing::kChunked) out_ += "0\r\n\r\n";
      break;
    case Mode::kBuffered: {
      std::string red = redact_json_or_text(body_);
      std::string().swap(body_);
      emit_head(Framing::kLength, red.size());
      out_ += red;
      break;
    }
    case Mode::kStreamText:
      emit_body(stream_->flush());
      count(stream_->findings());
      if (out_framing_ == Framing::kChunked) out_ += "0\r\n\r\n";
      break;
    default:
      break;
  }
  done_ = true;
  if (next_) next_->on_complete();
}

void LlmResponseRewriter::on_raw(std::string_view raw) {
  switch (mode_) {
    case Mode::kUndecided:
      raw_hold_.append(raw);
      break;
    case Mode::kPassthrough:
      out_ += raw_hold_;
      raw_hold_.clear();
      out_.append(raw);
      break;
    default:
      break;  // rewritten: the callbacks produced the output
  }
}

void LlmResponseRewriter::on_truncated() {
  if (done_) return;
  done_ = true;
  switch (mode_) {
    case Mode::kUndecided:
      out_ += raw_hold_;  // a malformed head: the agent gets it as it came
      raw_hold_.clear();
      break;
    case Mode::kSse:
      if (!body_.empty()) emit_body(redact_event(body_));
      body_.clear();
      break;  // no last chunk: the agent sees the stream cut
    case Mode::kBuffered: {
      std::string red = redact_json_or_text(body_);
      std::string().swap(body_);
      // Announce the length the provider announced, so the agent sees a short body.
      if (in_framing_ == Framing::kLength && !inflate_ && red.size() < in_length_)
        emit_head(Framing::kLength, in_length_);
      else
        emit_head(Framing::kClose, 0);
      out_ += red;
      break;
    }
    case Mode::kStreamText:
      emit_body(stream_->flush());
      count(stream_->findings());
      break;
    default:
      break;
  }
}

std::string LlmResponseRewriter::take_output() {
  std::string out;
  out.swap(out_);
  return out;
}

void LlmResponseRewriter::emit_head(Framing framing, uint64_t length) {
  if (head_sent_) return;
  head_sent_ = true;
  out_framing_ = framing;
  out_ += "HTTP/1.1 " + std::to_string(status_) + (reason_.empty() ? "" : " " + reason_) + "\r\n";
  for (const auto& [k, v] : headers_) {
    // A close-delimited body must say so: the provider's "keep-alive" would be a lie.
    if (framing == Framing::kClose && k == "connection") continue;
    out_ += title_case(k) + ": " + v + "\r\n";
  }
  switch (framing) {
    case Framing::kLength:
      out_ += "Content-Length: " + std::to_string(length) + "\r\n";
      break;
    case Framing::kChunked:
      out_ += "Transfer-Encoding: chunked\r\n";
      break;
    case Framing::kClose:
      out_ += "Connection: close\r\n";
      break;
  }
  out_ += "\r\n";
}

void LlmResponseRewriter::emit_body(std::string_view data) {
  if (data.empty()) return;
  if (out_framing_ == Framing::kChunked) {
    char hex[20];
    snprintf(hex, sizeof hex, "%zx\r\n", data.size());
    out_ += hex;
    out_.append(data);
    out_ += "\r\n";
  } else {
    out_.append(data);
  }
}

void LlmResponseRewriter::to_stream_text() {
  stream_ = std::make_unique<DlpStreamRedactor>(*scanner_);
  emit_head(in_framing_ == Framing::kClose || !chunked_ok_ ? Framing::kClose : Framing::kChunked,
            0);
  emit_body(stream_->feed(body_));
  std::string().swap(body_);
  mode_ = Mode::kStreamText;
}

// Splits the decoded stream into events at blank lines (LF, CRLF or CR line ends) and
// releases each complete event redacted. Only the current event is held.
void LlmResponseRewriter::sse_feed(std::string_view data) {
  body_.append(data);
  size_t i = scan_, first = 0;  // body_[first, …) is the event being built
  while (i < body_.size()) {
    char c = body_[i];
    if (c != '\n' && c != '\r') {
      ++i;
      continue;
    }
    if (c == '\r' && i + 1 == body_.size()) break;  // a LF may follow in the next piece
    size_t end = i + 1 + (c == '\r' && body_[i + 1] == '\n' ? 1 : 0);
    if (i == line_start_) {  // blank line: the event is complete
      emit_body(redact_event(std::string_view(body_).substr(first, end - first)));
      first = i = line_start_ = end;
      continue;
    }
    line_start_ = i = end;
  }
  // One erase per piece, not per event.
  body_.erase(0, first);
  scan_ = i - first;
  line_start_ -= first;
  if (body_.size() > kMaxEventBytes) {
    // An endless event: release it (whole lines redacted as text) rather than hold it.
    emit_body(redact_json_or_text(body_));
    body_.clear();
    scan_ = line_start_ = 0;
  }
}

std::string LlmResponseRewriter::redact_event(std::string_view event) {
  std::string out;
  out.reserve(event.size());
  size_t pos = 0;
  while (pos < event.size()) {
    size_t eol = pos;  // (find_first_of would call memchr once per byte)
    while (eol < event.size() && event[eol] != '\n' && event[eol] != '\r') ++eol;
    std::string_view line = event.substr(pos, eol - pos);
    if (starts_with(line, "data:")) {
      size_t v = 5 + (line.size() > 5 && line[5] == ' ' ? 1 : 0);
      out.append(line.substr(0, v));
      out += redact_json_or_text(line.substr(v));
    } else {
      out.append(line);
    }
    size_t end = eol;
    if (end < event.size())
      end += (event[end] == '\r' && end + 1 < event.size() && event[end + 1] == '\n') ? 2 : 1;
    out.append(event.substr(eol, end - eol));
    pos = end;
  }
  return out;
}

std::string LlmResponseRewriter::redact_json_or_text(std::string_view text) {
  if (text.empty()) return std::string();
  dlp_json_redactor::Result r = dlp_json_redactor::redact(*scanner_, text);
  if (r.findings.empty()) return std::string(text);
  count(r.findings);
  return std::move(r.text);
}

void LlmResponseRewriter::count(const std::vector<DlpFinding>& findings) {
  if (!redactions_) return;
  for (const DlpFinding& f : findings) ++(*redactions_)[f.detector];
}

}  // namespace agentsh::proxy
