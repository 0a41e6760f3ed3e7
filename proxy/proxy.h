// Proxy: the session's network gate — an HTTP forward proxy (CONNECT tunnels and plain
// absolute-URI requests), the transparent-mode entry for connections the hook and the
// tracer redirect (same port, told apart by the first byte), and a DNS proxy (UDP and
// TCP). See proxy/README.md for the whole picture and proxy/connection.h for how one
// connection is decided.
//
// Threading: start() spawns one thread running one epoll loop; every connection, DNS
// query and lookup is handled there (no thread per connection, no blocking call).
// stop() (or the destructor) may be called once from any thread but the proxy's own (not
// from inside the audit callback or the decider); it closes everything and joins. The
// audit callback is called on the loop thread, synchronously, once per decision: it
// must be thread-safe with respect to the rest of the program and quick (queue the
// record; do not write a database row inline — every connection waits meanwhile).
// NetDecider::decide is called on the loop thread too.
//
// Process-wide effects (the proxy lives in the supervisor): start() raises the soft
// RLIMIT_NOFILE to the hard limit (a tunnel holds up to six descriptors), and the loop
// thread blocks SIGPIPE for itself (splice() into a closed socket raises it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "agentsh/audit_event.h"
#include "policy/policy_model.h"
#include "proxy/llm_intercept_context.h"
#include "proxy/net_decider.h"
#include "proxy/proxy_context.h"

namespace agentsh::proxy {

class DnsServer;
class EventLoop;
class NameMap;
class RedirectTable;
class UpstreamResolver;

using DnsRedirect = policy::DnsRedirect;
using ConnectRedirect = policy::ConnectRedirect;

class Proxy {
 public:
  struct Options {
    NetDecider* decider = nullptr;                 // required; must outlive the proxy
    std::function<void(const AuditEvent&)> audit;  // thread-safe; may be empty
    std::string session_id;
    std::string listen_host = "127.0.0.1";
    uint16_t port = 0;  // HTTP proxy + transparent port; 0 = any free port
    std::string resolv_conf = "/etc/resolv.conf";  // upstream DNS for lookups and forwarding
    std::string hosts_file = "/etc/hosts";
    std::vector<DnsRedirect> dns_redirects;
    std::vector<ConnectRedirect> connect_redirects;
    // Beyond the integrator's minimum: tuning knobs with safe defaults.
    ProxyTimeouts timeouts;
    ProxyLimits limits;
    uint16_t dns_port = 0;  // 0 = any free port (the same number for UDP and TCP)
    // LLM audit: TLS connections to the hosts of these providers (name → base URL, only
    // https ones) are decrypted with a leaf signed by the CA in llm.ca_dir and audited
    // per request (proxy/llm_interceptor.h). Empty providers = nothing is decrypted.
    // llm.upstream_ca_file is a test knob (trust store for the provider's certificate;
    // "" = the system bundle); with hosts_file it points a provider name at a fake.
    LlmInterceptContext::Settings llm;
  };

  struct Stats {
    uint64_t accepted = 0, active = 0, refused_overload = 0;
    uint64_t allowed = 0, denied = 0, errors = 0;
    uint64_t dns_queries = 0, dns_denied = 0;
  };

  // Null (with `error` saying what failed and what to do) if the options are invalid
  // or a socket cannot be bound.
  static std::unique_ptr<Proxy> start(Options options, std::string* error);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  uint16_t http_port() const { return http_port_; }
  uint16_t dns_port() const { return dns_port_; }
  Stats stats() const;
  void stop();

 private:
  class Listener;
  Proxy() = default;
  void on_accept();
  void sweep();

  Options opt_;
  std::unique_ptr<LlmInterceptContext> llm_;  // outlives every connection
  // Declaration order is destruction order in reverse: the loop goes last.
  std::unique_ptr<EventLoop> loop_;
  std::unique_ptr<ProxyContext> ctx_;
  std::unique_ptr<NameMap> names_;
  std::unique_ptr<RedirectTable> redirects_;
  std::unique_ptr<UpstreamResolver> resolver_;
  std::unique_ptr<DnsServer> dns_;
  std::unique_ptr<Listener> listener_;
  ScopedFd listen_fd_;
  ScopedFd spare_fd_;             // released to accept-and-close when out of descriptors
  bool client_is_local_ = false;  // the listener is on a loopback address
  uint16_t http_port_ = 0, dns_port_ = 0;
  uint64_t next_conn_id_ = 1;
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace agentsh::proxy
