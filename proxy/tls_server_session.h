// TlsServerSession: the agent-facing side of an intercepted connection. Presents a leaf
// certificate for the name the client asks for (SNI), or for `default_host` (the
// CONNECT target) when the client sends no SNI. See tls_session.h for the I/O model.
// Thread-safety: one thread at a time; the context must outlive the session.
#pragma once

#include <memory>
#include <string>

#include "proxy/tls_server_context.h"
#include "proxy/tls_session.h"

namespace agentsh::proxy {

class TlsServerSession : public TlsSession {
 public:
  static std::unique_ptr<TlsServerSession> create(const TlsServerContext& ctx,
                                                  const std::string& default_host,
                                                  std::string* error);

  // The server name the client sent ("" if none); valid once the handshake has begun.
  const std::string& sni() const { return sni_; }
  // The name on the certificate presented (SNI, else the default host).
  const std::string& cert_host() const { return cert_host_; }

 private:
  explicit TlsServerSession(const TlsServerContext& ctx) : ctx_(ctx) {}
  static int on_sni(void* self, mbedtls_ssl_context* ssl, const unsigned char* name, size_t len);

  const TlsServerContext& ctx_;
  std::string sni_, cert_host_;
};

}  // namespace agentsh::proxy
