#include "proxy/http_target.h"

#include <strings.h>

#include <cstring>

#include "proxy/ip_literal.h"

namespace agentsh::proxy::http_target {

bool parse_absolute(std::string_view target, AbsoluteUri* out, std::string* error) {
  size_t sep = target.find("://");
  if (sep == std::string_view::npos || sep == 0) {
    *error = target.empty() || target[0] == '/'
                 ? "a proxy request needs an absolute URI (http://host/path)"
                 : "malformed request URI";
    return false;
  }
  std::string_view scheme = target.substr(0, sep);
  auto is = [&](const char* s) {
    return scheme.size() == strlen(s) && strncasecmp(scheme.data(), s, scheme.size()) == 0;
  };
  if (is("https") || is("wss")) {
    *error = "https URIs must be tunnelled with CONNECT";
    return false;
  }
  if (!is("http") && !is("ws")) {
    *error = "unsupported URI scheme";
    return false;
  }
  std::string_view rest = target.substr(sep + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view path = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  size_t hash = path.find('#');
  if (hash != std::string_view::npos) path = path.substr(0, hash);
  std::string_view host;
  if (!ip_literal::split_host_port(authority, 80, &host, &out->port, error)) return false;
  out->host.assign(host);
  if (path.empty()) {
    out->origin_form = "/";
  } else if (path[0] == '?') {
    out->origin_form = "/" + std::string(path);
  } else {
    out->origin_form.assign(path);
  }
  return true;
}

}  // namespace agentsh::proxy::http_target
