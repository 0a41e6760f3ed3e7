// TlsServerContext: what every intercepted (agent-facing) TLS connection shares: the
// leaf certificate cache and the session-ticket key, so that an agent's client that
// reconnects resumes instead of paying a full ECDHE handshake again.
// Offers TLS 1.2, ECDHE-ECDSA with AES-GCM / ChaCha20-Poly1305, ALPN "http/1.1" only
// (the proxy parses HTTP/1.1; a client that insists on h2 fails the handshake).
// Thread-safety: immutable after create() apart from the ticket key rotation, which
// mbedTLS locks (MBEDTLS_THREADING_C). Must outlive its sessions.
#pragma once

#include <memory>
#include <string>

#include "proxy/tls_handles.h"
#include "proxy/tls_leaf_cache.h"

namespace agentsh::proxy {

class TlsServerContext {
 public:
  static std::unique_ptr<TlsServerContext> create(TlsLeafCache& leaves, std::string* error);

  TlsLeafCache& leaves() const { return leaves_; }
  // Fills a fresh per-session configuration (a session needs its own: the SNI
  // callback's argument is per configuration in mbedTLS 2.28).
  bool configure(mbedtls_ssl_config* conf, std::string* error) const;

 private:
  explicit TlsServerContext(TlsLeafCache& leaves) : leaves_(leaves) {}
  TlsLeafCache& leaves_;
  tls_handles::Ticket tickets_ = tls_handles::make_Ticket();
};

}  // namespace agentsh::proxy
