#include "proxy/http_head.h"

#include <strings.h>

namespace agentsh::proxy {
namespace {

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Finds the blank line that ends a head. Returns the offset just past it, or 0.
size_t find_head_end(std::string_view data, size_t limit, size_t* scan_from) {
  const size_t end = std::min(data.size(), limit);
  size_t i = *scan_from > 3 ? *scan_from - 3 : 0;
  for (; i < end; ++i) {
    if (data[i] != '\n') continue;
    // "\n\n" or "\n\r\n"
    if (i + 1 < end && data[i + 1] == '\n') return i + 2;
    if (i + 2 < end && data[i + 1] == '\r' && data[i + 2] == '\n') return i + 3;
  }
  *scan_from = end;
  return 0;
}

// Splits the head into lines (without their CRLF/LF). False on a bare CR.
bool split_lines(std::string_view head, std::vector<std::string_view>* lines) {
  size_t start = 0;
  while (start < head.size()) {
    size_t nl = head.find('\n', start);
    if (nl == std::string_view::npos) nl = head.size();
    std::string_view line = head.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\r') != std::string_view::npos) return false;
    lines->push_back(line);
    start = nl + 1;
  }
  return true;
}

bool parse_version(std::string_view v, int* minor) {
  if (v.size() != 8 || v.substr(0, 5) != "HTTP/" || v[6] != '.') return false;
  if (v[5] != '1' || (v[7] != '0' && v[7] != '1')) return false;
  *minor = v[7] - '0';
  return true;
}

bool looks_like_version(std::string_view v) {
  return v.size() == 8 && v.substr(0, 5) == "HTTP/";
}

bool parse_header_lines(const std::vector<std::string_view>& lines, size_t first,
                        const http_head::Limits& limits, HttpHead* out, std::string* error) {
  for (size_t i = first; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.empty()) break;  // the blank line
    if (line.front() == ' ' || line.front() == '\t') {
      *error = "obsolete header line folding";
      return false;
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      *error = "malformed header line";
      return false;
    }
    std::string_view name = line.substr(0, colon);
    for (char c : name) {
      if (!http_head::is_tchar(c)) {
        *error = "invalid character in header name";
        return false;
      }
    }
    std::string_view value = trim_ows(line.substr(colon + 1));
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        *error = "control character in header value";
        return false;
      }
    }
    if (out->headers.size() >= limits.max_headers) {
      *error = "too many header fields";
      return false;
    }
    out->headers.push_back({std::string(name), std::string(value)});
  }
  return true;
}

// Content-Length: one or more (comma-separated or repeated) identical decimal values.
bool content_length(const HttpHead& h, bool* present, uint64_t* length, std::string* error) {
  *present = false;
  for (const auto& hd : h.headers) {
    if (!ieq(hd.name, "content-length")) continue;
    std::string_view v = hd.value;
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string_view item =
          trim_ows(v.substr(start, comma == std::string_view::npos ? v.npos : comma - start));
      if (item.empty() || item.size() > 15) {
        *error = "malformed Content-Length";
        return false;
      }
      uint64_t n = 0;
      for (char c : item) {
        if (c < '0' || c > '9') {
          *error = "malformed Content-Length";
          return false;
        }
        n = n * 10 + (c - '0');
      }
      if (*present && n != *length) {
        *error = "conflicting Content-Length values";
        return false;
      }
      *present = true;
      *length = n;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return true;
}

// The last transfer coding listed, lower-cased; empty if none.
bool last_transfer_coding(const HttpHead& h, bool* present, std::string* last) {
  *present = false;
  for (const auto& hd : h.headers) {
    if (!ieq(hd.name, "transfer-encoding")) continue;
    *present = true;
    std::string_view v = hd.value;
    size_t comma = v.rfind(',');
    std::string_view item = trim_ows(comma == std::string_view::npos ? v : v.substr(comma + 1));
    last->assign(item);
    for (char& c : *last) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  }
  return true;
}

}  // namespace

const std::string* HttpHead::find(std::string_view name) const {
  for (const auto& h : headers)
    if (ieq(h.name, name)) return &h.value;
  return nullptr;
}

bool HttpHead::has_token(std::string_view name, std::string_view token) const {
  for (const auto& h : headers) {
    if (!ieq(h.name, name)) continue;
    std::string_view v = h.value;
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string_view item =
          trim_ows(v.substr(start, comma == std::string_view::npos ? v.npos : comma - start));
      if (ieq(item, token)) return true;
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return false;
}

bool HttpHead::keep_alive() const {
  if (has_token("connection", "close")) return false;
  if (minor_version == 0) return has_token("connection", "keep-alive");
  return true;
}

namespace http_head {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

Status parse_request(std::string_view data, const Limits& limits, size_t* scan_from, HttpHead* out,
                     size_t* consumed, int* http_status, std::string* error) {
  *http_status = 400;
  // Leading empty lines before a request are allowed (RFC 9112 §2.2).
  size_t lead = 0;
  while (lead < data.size() && lead < 8 && (data[lead] == '\r' || data[lead] == '\n')) ++lead;
  std::string_view d = data.substr(lead);
  if (!d.empty() && !is_tchar(d[0])) {
    *error = "not an HTTP request";
    return Status::kError;
  }
  size_t end = find_head_end(d, limits.max_bytes, scan_from);
  if (end == 0) {
    if (d.size() >= limits.max_bytes) {
      *http_status = 431;
      *error = "request head larger than " + std::to_string(limits.max_bytes) + " bytes";
      return Status::kError;
    }
    // Fail early on a request line that is already unreadable.
    size_t nl = d.find('\n');
    std::string_view first = d.substr(0, nl);
    for (char c : first) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\r') {
        *error = "control character in request line";
        return Status::kError;
      }
    }
    return Status::kNeedMore;
  }
  std::vector<std::string_view> lines;
  if (!split_lines(d.substr(0, end), &lines)) {
    *error = "bare CR in request head";
    return Status::kError;
  }
  *out = HttpHead{};
  std::string_view rl = lines[0];
  size_t sp1 = rl.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : rl.find(' ', sp1 + 1);
  if (sp1 == std::string_view::npos || sp2 == std::string_view::npos ||
      rl.find(' ', sp2 + 1) != std::string_view::npos || sp1 == 0 || sp2 == sp1 + 1) {
    *error = "malformed request line";
    return Status::kError;
  }
  std::string_view method = rl.substr(0, sp1);
  std::string_view target = rl.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = rl.substr(sp2 + 1);
  for (char c : method) {
    if (!is_tchar(c)) {
      *error = "malformed method";
      return Status::kError;
    }
  }
  for (char c : target) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      *error = "invalid character in request target";
      return Status::kError;
    }
  }
  if (!parse_version(version, &out->minor_version)) {
    if (looks_like_version(version)) {
      *http_status = 505;
      *error = "unsupported HTTP version";
    } else {
      *error = "malformed HTTP version";
    }
    return Status::kError;
  }
  out->method.assign(method);
  out->target.assign(target);
  if (!parse_header_lines(lines, 1, limits, out, error)) {
    if (*error == "too many header fields") *http_status = 431;
    return Status::kError;
  }
  *consumed = lead + end;
  return Status::kOk;
}

Status parse_response(std::string_view data, const Limits& limits, size_t* scan_from, HttpHead* out,
                      size_t* consumed, std::string* error) {
  if (!data.empty() && data[0] != 'H') {
    *error = "not an HTTP response";
    return Status::kError;
  }
  size_t end = find_head_end(data, limits.max_bytes, scan_from);
  if (end == 0) {
    if (data.size() >= limits.max_bytes) {
      *error = "response head too large";
      return Status::kError;
    }
    return Status::kNeedMore;
  }
  std::vector<std::string_view> lines;
  if (!split_lines(data.substr(0, end), &lines)) {
    *error = "bare CR in response head";
    return Status::kError;
  }
  *out = HttpHead{};
  std::string_view sl = lines[0];
  if (sl.size() < 12 || !parse_version(sl.substr(0, 8), &out->minor_version) || sl[8] != ' ' ||
      (sl.size() > 12 && sl[12] != ' ')) {
    *error = "malformed status line";
    return Status::kError;
  }
  int status = 0;
  for (int i = 9; i < 12; ++i) {
    if (sl[i] < '0' || sl[i] > '9') {
      *error = "malformed status code";
      return Status::kError;
    }
    status = status * 10 + (sl[i] - '0');
  }
  if (status < 100) {
    *error = "malformed status code";
    return Status::kError;
  }
  out->status = status;
  if (sl.size() > 13) out->reason.assign(sl.substr(13));
  if (!parse_header_lines(lines, 1, limits, out, error)) return Status::kError;
  *consumed = end;
  return Status::kOk;
}

bool request_body(const HttpHead& req, BodyKind* kind, uint64_t* length, std::string* error) {
  bool te = false, cl = false;
  std::string coding;
  last_transfer_coding(req, &te, &coding);
  if (!content_length(req, &cl, length, error)) return false;
  if (te) {
    if (cl) {
      *error = "both Transfer-Encoding and Content-Length";
      return false;
    }
    if (req.minor_version == 0 || coding != "chunked") {
      *error = "unsupported Transfer-Encoding";
      return false;
    }
    *kind = BodyKind::kChunked;
    return true;
  }
  if (cl) {
    *kind = *length ? BodyKind::kLength : BodyKind::kNone;
    return true;
  }
  *kind = BodyKind::kNone;
  *length = 0;
  return true;
}

bool response_body(const HttpHead& resp, std::string_view request_method, BodyKind* kind,
                   uint64_t* length, std::string* error) {
  *length = 0;
  if (request_method == "HEAD" || (resp.status >= 100 && resp.status < 200) || resp.status == 204 ||
      resp.status == 304) {
    *kind = BodyKind::kNone;
    return true;
  }
  bool te = false, cl = false;
  std::string coding;
  last_transfer_coding(resp, &te, &coding);
  if (te) {
    *kind = coding == "chunked" ? BodyKind::kChunked : BodyKind::kUntilClose;
    return true;
  }
  if (!content_length(resp, &cl, length, error)) return false;
  if (cl) {
    *kind = *length ? BodyKind::kLength : BodyKind::kNone;
    return true;
  }
  *kind = BodyKind::kUntilClose;
  return true;
}

}  // namespace http_head
}  // namespace agentsh::proxy
