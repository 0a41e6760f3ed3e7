#include "proxy/tls_server_context.h"

#include <mbedtls/ssl_ciphersuites.h>

#include "proxy/tls_rng.h"

namespace agentsh::proxy {

namespace {
const char* kAlpn[] = {"http/1.1", nullptr};
// AES-128-GCM first: with AES-NI it is the cheapest record protection mbedTLS has.
const int kSuites[] = {MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                       MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                       MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 0};
constexpr int kTicketLifetime = 24 * 3600;
// mbedTLS's default list puts P-521 first (strongest first) and the server follows the
// client's order; limit key agreement to the fast curves every client offers.
const mbedtls_ecp_group_id kCurves[] = {MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
                                        MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE};
}  // namespace

std::unique_ptr<TlsServerContext> TlsServerContext::create(TlsLeafCache& leaves,
                                                           std::string* error) {
  std::unique_ptr<TlsServerContext> c(new TlsServerContext(leaves));
  TlsRng* rng = TlsRng::shared();
  if (rng == nullptr) {
    *error = "TLS server: the random generator could not be seeded from the OS";
    return nullptr;
  }
  int ret = mbedtls_ssl_ticket_setup(c->tickets_.get(), &TlsRng::random, rng,
                                     MBEDTLS_CIPHER_AES_256_GCM, kTicketLifetime);
  if (ret != 0) {
    *error = tls_handles::error_text("TLS server: session ticket key", ret);
    return nullptr;
  }
  return c;
}

bool TlsServerContext::configure(mbedtls_ssl_config* conf, std::string* error) const {
  int ret = mbedtls_ssl_config_defaults(conf, MBEDTLS_SSL_IS_SERVER, MBEDTLS_SSL_TRANSPORT_STREAM,
                                        MBEDTLS_SSL_PRESET_DEFAULT);
  if (ret != 0) {
    *error = tls_handles::error_text("TLS server configuration", ret);
    return false;
  }
  mbedtls_ssl_conf_rng(conf, &TlsRng::random, TlsRng::shared());
  mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
  mbedtls_ssl_conf_ciphersuites(conf, kSuites);
  mbedtls_ssl_conf_curves(conf, kCurves);
  if ((ret = mbedtls_ssl_conf_alpn_protocols(conf, kAlpn)) != 0) {
    *error = tls_handles::error_text("TLS server ALPN", ret);
    return false;
  }
  mbedtls_ssl_conf_session_tickets_cb(conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse,
                                      tickets_.get());
  return true;
}

}  // namespace agentsh::proxy
