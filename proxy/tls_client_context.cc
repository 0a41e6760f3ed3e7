#include "proxy/tls_client_context.h"

#include <algorithm>

#include "proxy/tls_rng.h"

namespace agentsh::proxy {

namespace {
const char* kAlpn[] = {"http/1.1", nullptr};
// Offer the fast curves first (mbedTLS's default order starts with P-521, which costs
// several times P-256 and X25519); P-384/P-521 stay for servers that insist.
const mbedtls_ecp_group_id kCurves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                        MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
                                        MBEDTLS_ECP_DP_NONE};
}  // namespace

std::unique_ptr<TlsClientContext> TlsClientContext::create(std::string* error,
                                                           const std::string& trust_file) {
  std::unique_ptr<TlsClientContext> c(new TlsClientContext());
  c->trust_file_ = trust_file;
  int ret = mbedtls_x509_crt_parse_file(c->trust_.get(), trust_file.c_str());
  // A positive result counts certificates that failed to parse; the rest are usable.
  if (ret < 0 || c->trust_->version == 0) {
    *error = tls_handles::error_text("cannot load the TLS trust store " + trust_file +
                                         " (install ca-certificates, or pass a CA bundle)",
                                     ret < 0 ? ret : MBEDTLS_ERR_X509_INVALID_FORMAT);
    return nullptr;
  }
  TlsRng* rng = TlsRng::shared();
  if (rng == nullptr) {
    *error = "TLS client: the random generator could not be seeded from the OS";
    return nullptr;
  }
  mbedtls_ssl_config* conf = c->conf_.get();
  ret = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) {
    *error = tls_handles::error_text("TLS client configuration", ret);
    return nullptr;
  }
  mbedtls_ssl_conf_rng(conf, &TlsRng::random, rng);
  mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_authmode(conf, MBEDTLS_SSL_VERIFY_REQUIRED);
  mbedtls_ssl_conf_curves(conf, kCurves);
  mbedtls_ssl_conf_ca_chain(conf, c->trust_.get(), nullptr);
  mbedtls_ssl_conf_session_tickets(conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
  if ((ret = mbedtls_ssl_conf_alpn_protocols(conf, kAlpn)) != 0) {
    *error = tls_handles::error_text("TLS client ALPN", ret);
    return nullptr;
  }
  return c;
}

void TlsClientContext::save_session(const std::string& key, const mbedtls_ssl_context* ssl) {
  tls_handles::SslSession s = tls_handles::make_SslSession();
  if (mbedtls_ssl_get_session(ssl, s.get()) != 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  if (it != sessions_.end()) {
    it->second = std::move(s);
    return;
  }
  sessions_.emplace(key, std::move(s));
  order_.push_back(key);
  while (sessions_.size() > kMaxSessions && !order_.empty()) {
    sessions_.erase(order_.front());
    order_.pop_front();
  }
}

bool TlsClientContext::restore_session(const std::string& key, mbedtls_ssl_context* ssl) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(key);
  return it != sessions_.end() && mbedtls_ssl_set_session(ssl, it->second.get()) == 0;
}

void TlsClientContext::forget_session(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(key);
  order_.erase(std::remove(order_.begin(), order_.end(), key), order_.end());
}

size_t TlsClientContext::cached_sessions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

}  // namespace agentsh::proxy
