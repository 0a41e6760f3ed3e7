// HTTP/1.x message heads (request and response) as the proxy sees them, and how their
// bodies are framed (RFC 9112 §6).
//
// Strict where ambiguity could be abused (request smuggling, header injection): bare CR,
// obs-fold, whitespace before the colon, control characters, conflicting
// Content-Length / Transfer-Encoding are errors. Tolerant where it is harmless: bare LF
// line ends. Bounded: a head larger than Limits::max_bytes is refused with 431 however
// it arrives. Pure functions; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentsh::proxy {

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpHead {
  // Requests.
  std::string method;
  std::string target;
  // Responses.
  int status = 0;
  std::string reason;
  // Both: HTTP/1.<minor_version>.
  int minor_version = 1;
  std::vector<HttpHeader> headers;

  // The first header called `name` (case-insensitive), or null.
  const std::string* find(std::string_view name) const;
  // True if a comma-separated header (Connection, Transfer-Encoding, ...) lists `token`.
  bool has_token(std::string_view name, std::string_view token) const;
  // Whether the connection may carry another message after this one (HTTP/1.1 default
  // keep-alive, HTTP/1.0 only with "Connection: keep-alive").
  bool keep_alive() const;
};

namespace http_head {

enum class Status : uint8_t { kNeedMore, kOk, kError };

struct Limits {
  size_t max_bytes = 64 * 1024;  // request/status line + headers + blank line
  size_t max_headers = 128;
};

// Parses the head at the start of `data`. On kOk, `*consumed` is its length in bytes.
// On kError, `*http_status` is the status to answer with (400, 431, 505) and `error`
// says what was wrong. `*scan_from` (in/out, start at 0) lets a caller that feeds the
// same growing buffer avoid rescanning it.
Status parse_request(std::string_view data, const Limits& limits, size_t* scan_from, HttpHead* out,
                     size_t* consumed, int* http_status, std::string* error);
Status parse_response(std::string_view data, const Limits& limits, size_t* scan_from, HttpHead* out,
                      size_t* consumed, std::string* error);

enum class BodyKind : uint8_t { kNone, kLength, kChunked, kUntilClose };

// How the body of a request is framed. False (with `error`) for framings a proxy must
// refuse: both Transfer-Encoding and Content-Length, a transfer coding other than a
// final "chunked", conflicting or malformed Content-Length.
bool request_body(const HttpHead& req, BodyKind* kind, uint64_t* length, std::string* error);
// How the body of a response to `request_method` is framed.
bool response_body(const HttpHead& resp, std::string_view request_method, BodyKind* kind,
                   uint64_t* length, std::string* error);

// True for the characters of an RFC 9110 token.
bool is_tchar(char c);

}  // namespace http_head
}  // namespace agentsh::proxy
