#include "proxy/tls_rng.h"

namespace agentsh::proxy {

std::unique_ptr<TlsRng> TlsRng::create(std::string* error) {
  std::unique_ptr<TlsRng> r(new TlsRng());
  r->entropy_ = tls_handles::make_Entropy();
  r->drbg_ = tls_handles::make_CtrDrbg();
  static const unsigned char kPers[] = "agentsh-tls";
  int ret = mbedtls_ctr_drbg_seed(r->drbg_.get(), mbedtls_entropy_func, r->entropy_.get(), kPers,
                                  sizeof kPers - 1);
  if (ret != 0) {
    *error = tls_handles::error_text("seeding the random generator from the OS", ret);
    return nullptr;
  }
  return r;
}

TlsRng* TlsRng::shared() {
  static TlsRng* const kShared = [] {
    std::string err;
    return create(&err).release();  // lives for the whole process
  }();
  return kShared;
}

int TlsRng::random(void* self, unsigned char* out, size_t len) {
  return mbedtls_ctr_drbg_random(static_cast<TlsRng*>(self)->drbg_.get(), out, len);
}

}  // namespace agentsh::proxy
