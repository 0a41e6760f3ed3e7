// TlsClientContext: what every upstream TLS connection shares: the trust store (the
// system bundle by default, parsed once: ~150 roots), one client configuration, and a
// bounded cache of sessions per host:port for resumption (TLS 1.2 session tickets or
// ids), so a second connection to the same provider skips the certificate exchange and
// the full key agreement.
// Verification: the chain must lead to the trust store and the certificate must name
// the host (DNS names; mbedTLS 2.28 cannot match IP-address SANs).
// Thread-safety: config() is read-only and may be shared by sessions on any thread; the
// session cache locks. Must outlive its sessions.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "proxy/ca_store.h"
#include "proxy/tls_handles.h"

namespace agentsh::proxy {

class TlsClientContext {
 public:
  static std::unique_ptr<TlsClientContext> create(
      std::string* error, const std::string& trust_file = CaStore::kSystemBundle);

  const mbedtls_ssl_config* config() const { return conf_.get(); }
  const std::string& trust_file() const { return trust_file_; }

  // Session cache for resumption, keyed "host:port".
  void save_session(const std::string& key, const mbedtls_ssl_context* ssl);
  // Loads the saved session into `ssl` before its handshake; false if none.
  bool restore_session(const std::string& key, mbedtls_ssl_context* ssl);
  void forget_session(const std::string& key);
  size_t cached_sessions() const;

  static constexpr size_t kMaxSessions = 256;

 private:
  TlsClientContext() = default;
  std::string trust_file_;
  tls_handles::Crt trust_ = tls_handles::make_Crt();
  tls_handles::SslConfig conf_ = tls_handles::make_SslConfig();

  mutable std::mutex mu_;
  std::map<std::string, tls_handles::SslSession> sessions_;
  std::deque<std::string> order_;  // insertion order, for eviction
};

}  // namespace agentsh::proxy
