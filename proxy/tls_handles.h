// unique_ptr owners for mbedTLS objects. mbedTLS 2.28 objects are plain structs with
// init/free pairs; these helpers allocate, init, and on destruction free + delete, so
// every exit path releases them. Header-only.
#pragma once

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/x509_crt.h>

#include <memory>
#include <string>

namespace agentsh::tls_handles {

#define AGENTSH_MBEDTLS_HANDLE(Name, type, init, freefn) \
  struct Name##Free {                                    \
    void operator()(type* p) const noexcept {            \
      if (p) {                                           \
        freefn(p);                                       \
        delete p;                                        \
      }                                                  \
    }                                                    \
  };                                                     \
  using Name = std::unique_ptr<type, Name##Free>;        \
  inline Name make_##Name() {                            \
    Name h(new type);                                    \
    init(h.get());                                       \
    return h;                                            \
  }

AGENTSH_MBEDTLS_HANDLE(Pk, mbedtls_pk_context, mbedtls_pk_init, mbedtls_pk_free)
AGENTSH_MBEDTLS_HANDLE(Crt, mbedtls_x509_crt, mbedtls_x509_crt_init, mbedtls_x509_crt_free)
AGENTSH_MBEDTLS_HANDLE(Ssl, mbedtls_ssl_context, mbedtls_ssl_init, mbedtls_ssl_free)
AGENTSH_MBEDTLS_HANDLE(SslConfig, mbedtls_ssl_config, mbedtls_ssl_config_init,
                       mbedtls_ssl_config_free)
AGENTSH_MBEDTLS_HANDLE(SslSession, mbedtls_ssl_session, mbedtls_ssl_session_init,
                       mbedtls_ssl_session_free)
AGENTSH_MBEDTLS_HANDLE(Ticket, mbedtls_ssl_ticket_context, mbedtls_ssl_ticket_init,
                       mbedtls_ssl_ticket_free)
AGENTSH_MBEDTLS_HANDLE(Entropy, mbedtls_entropy_context, mbedtls_entropy_init, mbedtls_entropy_free)
AGENTSH_MBEDTLS_HANDLE(CtrDrbg, mbedtls_ctr_drbg_context, mbedtls_ctr_drbg_init,
                       mbedtls_ctr_drbg_free)

#undef AGENTSH_MBEDTLS_HANDLE

// "what: mbedTLS message (-0xNNNN)"
std::string error_text(const std::string& what, int ret);

}  // namespace agentsh::tls_handles
