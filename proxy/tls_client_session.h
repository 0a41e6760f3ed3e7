// TlsClientSession: the upstream side of an intercepted connection (proxy → provider).
// Verifies the provider's certificate against the context's trust store and host name;
// resumes a cached session for the same host:port when it can. A rejected certificate
// fails the handshake with an error naming the host, the reason (untrusted issuer,
// wrong host, expired, …) and the trust store used. See tls_session.h for the I/O model.
// Thread-safety: one thread at a time; the context must outlive the session.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "proxy/tls_client_context.h"
#include "proxy/tls_session.h"

namespace agentsh::proxy {

class TlsClientSession : public TlsSession {
 public:
  static std::unique_ptr<TlsClientSession> create(TlsClientContext& ctx, const std::string& host,
                                                  uint16_t port, std::string* error);

  const std::string& host() const { return host_; }
  // True once the handshake completed by resuming a cached session.
  bool resumed() const { return handshake_done() && !saw_certificate_; }
  // mbedTLS verification flags of the last handshake (MBEDTLS_X509_BADCERT_*).
  uint32_t verify_flags() const;

 private:
  TlsClientSession(TlsClientContext& ctx, std::string host, uint16_t port)
      : ctx_(ctx), host_(std::move(host)), port_(port) {}
  void on_handshake_done() override;
  std::string describe_handshake_error(int ret) override;
  static int on_verify(void* self, mbedtls_x509_crt* crt, int depth, uint32_t* flags);
  std::string cache_key() const { return host_ + ":" + std::to_string(port_); }

  TlsClientContext& ctx_;
  std::string host_;
  uint16_t port_;
  bool saw_certificate_ = false;
};

}  // namespace agentsh::proxy
