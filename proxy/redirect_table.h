// RedirectTable: the policy's dns_redirects and connect_redirects, compiled once.
//
//   dns_redirects:     { name, match, resolve_to }          answer `match`ing names with
//                                                           resolve_to (an IP address)
//   connect_redirects: { name, match, redirect_to,          send connections to a
//                        tls: { mode, sni } }               matching "host:port" to
//                                                           redirect_to ("host:port");
//                                                           tls.mode passthrough (bytes
//                                                           untouched, the default) or
//                                                           rewrite_sni (the ClientHello's
//                                                           server name becomes tls.sni)
//
// `match` is a regular expression as in the reference implementation (unanchored,
// case-insensitive; write ^…$ to anchor), e.g. "^registry\\.npmjs\\.org$" or
// "api\\.example\\.com:443"; a connect redirect is tried on "host:port", then on "host". A pattern
// that is not a valid regular expression but is a glob ("*.npmjs.org", "*.example.com:*") is
// matched as an anchored glob where `*` is any run of characters. First matching rule wins.
//
// Immutable after compile; match_* may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "policy/policy_model.h"
#include "proxy/ip_address.h"

namespace agentsh::proxy {

class RedirectTable {
 public:
  enum class TlsMode : uint8_t { kPassthrough, kRewriteSni };

  struct DnsHit {
    std::string rule;
    IpAddress ip;
  };
  struct ConnectHit {
    std::string rule;
    std::string host;  // as configured (a name or an address)
    uint16_t port = 0;
    TlsMode tls = TlsMode::kPassthrough;
    std::string sni;      // for kRewriteSni
    std::string message;  // the rule's message, for the audit record
    // If the redirect target cannot be reached: connect to the original target instead
    // (decided as usual) — on_failure retry_original / fail_open. Default: fail closed.
    bool fallback_to_original = false;
  };

  // Null (with `error` naming the rule) if a rule is invalid: resolve_to not an
  // address, redirect_to not host:port, unknown tls mode, rewrite_sni without sni.
  static std::unique_ptr<RedirectTable> compile(const std::vector<policy::DnsRedirect>& dns,
                                                const std::vector<policy::ConnectRedirect>& connect,
                                                std::string* error);
  ~RedirectTable();
  RedirectTable(const RedirectTable&) = delete;
  RedirectTable& operator=(const RedirectTable&) = delete;

  // `name`: normalised (lower-case, no trailing dot).
  std::optional<DnsHit> match_dns(std::string_view name) const;
  // `host`: normalised host ([v6] in brackets), as ip_literal::join_host_port writes it.
  // A rule matches "host:port" or, failing that, the bare "host" (a rule for any port).
  std::optional<ConnectHit> match_connect(std::string_view host, uint16_t port) const;
  bool empty() const { return dns_.empty() && connect_.empty(); }

 private:
  class Matcher;
  struct DnsRule {
    std::unique_ptr<Matcher> m;
    DnsHit hit;
  };
  struct ConnectRule {
    std::unique_ptr<Matcher> m;
    ConnectHit hit;
  };
  RedirectTable() = default;

  std::vector<DnsRule> dns_;
  std::vector<ConnectRule> connect_;
};

}  // namespace agentsh::proxy
