#include "proxy/tls_client_session.h"

#include <mbedtls/x509.h>

namespace agentsh::proxy {

std::unique_ptr<TlsClientSession> TlsClientSession::create(TlsClientContext& ctx,
                                                           const std::string& host, uint16_t port,
                                                           std::string* error) {
  std::unique_ptr<TlsClientSession> s(new TlsClientSession(ctx, host, port));
  if (!s->setup(ctx.config(), error)) return nullptr;
  // Sets both the SNI sent and the name the certificate must carry.
  int ret = mbedtls_ssl_set_hostname(s->ssl(), host.c_str());
  if (ret != 0) {
    *error = tls_handles::error_text("TLS to " + host + ": host name", ret);
    return nullptr;
  }
  mbedtls_ssl_set_verify(s->ssl(), &TlsClientSession::on_verify, s.get());
  ctx.restore_session(s->cache_key(), s->ssl());
  return s;
}

int TlsClientSession::on_verify(void* self, mbedtls_x509_crt*, int, uint32_t*) {
  // Called per certificate of a full handshake only: a resumed one sends none.
  static_cast<TlsClientSession*>(self)->saw_certificate_ = true;
  return 0;  // keep mbedTLS's own verdict in the flags
}

void TlsClientSession::on_handshake_done() {
  ctx_.save_session(cache_key(), ssl());
}

uint32_t TlsClientSession::verify_flags() const {
  return mbedtls_ssl_get_verify_result(ssl());
}

std::string TlsClientSession::describe_handshake_error(int ret) {
  std::string where = "TLS to " + host_ + ":" + std::to_string(port_);
  if (ret == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
    uint32_t flags = verify_flags();
    std::string what;
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
      what = "the certificate is not valid for " + host_;
    else if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
      what = "the certificate is not signed by a trusted CA";
    else if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
      what = "the certificate has expired";
    else
      what = "the certificate was rejected";
    char info[512];
    int n = mbedtls_x509_crt_verify_info(info, sizeof info, "", flags);
    std::string details = n > 0 ? std::string(info, size_t(n)) : "";
    for (char& c : details)
      if (c == '\n') c = ';';
    while (!details.empty() && (details.back() == ';' || details.back() == ' ')) details.pop_back();
    return where + ": upstream certificate rejected: " + what + " (" + details + "; trust store " +
           ctx_.trust_file() + ")";
  }
  // A server that forgot our session answers with a full handshake; one that fails it
  // should not be retried with the same ticket.
  ctx_.forget_session(cache_key());
  if (ret == MBEDTLS_ERR_SSL_CONN_EOF)
    return where + ": the server closed the connection during the TLS handshake";
  return tls_handles::error_text(where + ": TLS handshake failed", ret);
}

}  // namespace agentsh::proxy
