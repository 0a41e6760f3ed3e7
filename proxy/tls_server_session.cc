#include "proxy/tls_server_session.h"

namespace agentsh::proxy {

std::unique_ptr<TlsServerSession> TlsServerSession::create(const TlsServerContext& ctx,
                                                           const std::string& default_host,
                                                           std::string* error) {
  std::unique_ptr<TlsServerSession> s(new TlsServerSession(ctx));
  mbedtls_ssl_config* conf = s->own_config();
  if (!ctx.configure(conf, error)) return nullptr;
  std::shared_ptr<const TlsLeaf> leaf = ctx.leaves().get(default_host, error);
  if (!leaf) return nullptr;
  // mbedTLS takes the key non-const; signing does not modify it.
  int ret = mbedtls_ssl_conf_own_cert(conf, leaf->chain.get(),
                                      const_cast<mbedtls_pk_context*>(leaf->key));
  if (ret != 0) {
    *error = tls_handles::error_text("TLS server certificate for " + default_host, ret);
    return nullptr;
  }
  s->cert_host_ = leaf->host;
  s->keep_alive(leaf);
  mbedtls_ssl_conf_sni(conf, &TlsServerSession::on_sni, s.get());
  if (!s->setup(conf, error)) return nullptr;
  return s;
}

int TlsServerSession::on_sni(void* self, mbedtls_ssl_context* ssl, const unsigned char* name,
                             size_t len) {
  auto* s = static_cast<TlsServerSession*>(self);
  s->sni_.assign(reinterpret_cast<const char*>(name), len);
  std::string error;
  std::shared_ptr<const TlsLeaf> leaf = s->ctx_.leaves().get(s->sni_, &error);
  if (!leaf) {
    s->fail(error);
    return -1;  // mbedTLS answers with an unrecognized_name alert
  }
  int ret = mbedtls_ssl_set_hs_own_cert(ssl, leaf->chain.get(),
                                        const_cast<mbedtls_pk_context*>(leaf->key));
  if (ret != 0) return ret;
  s->cert_host_ = leaf->host;
  s->keep_alive(leaf);
  return 0;
}

}  // namespace agentsh::proxy
