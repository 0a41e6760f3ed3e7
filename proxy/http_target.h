// The request target of a proxied plain-HTTP request ("GET http://host:port/path").
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agentsh::proxy::http_target {

struct AbsoluteUri {
  std::string host;  // as written (brackets kept for IPv6); normalise before use
  uint16_t port = 80;
  std::string origin_form;  // path and query for the upstream request line ("/" if none)
};

// Parses an absolute-form target with scheme http (or ws). "https://" is refused: an
// HTTPS request must come as CONNECT, the proxy does not originate TLS.
bool parse_absolute(std::string_view target, AbsoluteUri* out, std::string* error);

}  // namespace agentsh::proxy::http_target
