// Builders for policy redirect rules in the proxy's tests (the model structs have more
// fields than a test cares about).
#pragma once

#include <string>

#include "policy/policy_model.h"

namespace agentsh::proxy::testdata {

inline policy::DnsRedirect dns_redirect(std::string name, std::string match, std::string to) {
  policy::DnsRedirect r;
  r.name = std::move(name);
  r.match = std::move(match);
  r.resolve_to = std::move(to);
  return r;
}

inline policy::ConnectRedirect connect_redirect(std::string name, std::string match, std::string to,
                                                std::string tls_mode = "", std::string sni = "",
                                                std::string on_failure = "") {
  policy::ConnectRedirect r;
  r.name = std::move(name);
  r.match = std::move(match);
  r.redirect_to = std::move(to);
  r.tls_mode = std::move(tls_mode);
  r.sni = std::move(sni);
  r.on_failure = std::move(on_failure);
  return r;
}

}  // namespace agentsh::proxy::testdata
