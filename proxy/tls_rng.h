// TlsRng: the process's random generator for key generation, certificate serials and
// TLS (CTR-DRBG seeded from the OS entropy source).
// Thread-safety: mbedTLS is built with MBEDTLS_THREADING_C, so mbedtls_ctr_drbg_random
// locks internally; one instance may serve every thread. Not fork-safe: a forked child
// must not keep using its parent's instance (it would repeat the parent's stream).
#pragma once

#include <memory>
#include <string>

#include "proxy/tls_handles.h"

namespace agentsh::proxy {

class TlsRng {
 public:
  // The process-wide instance (created on first use). nullptr only if the OS entropy
  // source fails, which mbedTLS reports on first seeding.
  static TlsRng* shared();
  static std::unique_ptr<TlsRng> create(std::string* error);

  // For mbedTLS APIs that take (f_rng, p_rng): pass TlsRng::random and this.
  static int random(void* self, unsigned char* out, size_t len);
  mbedtls_ctr_drbg_context* drbg() { return drbg_.get(); }

 private:
  TlsRng() = default;
  tls_handles::Entropy entropy_;
  tls_handles::CtrDrbg drbg_;
};

}  // namespace agentsh::proxy
