// Certificate writing helpers for the CA store and the leaf cache (mbedTLS 2.28 lacks
// writers for subjectAltName and extendedKeyUsage, so their DER is built here).
// Pure functions apart from the RNG; thread-safe.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "proxy/tls_handles.h"
#include "proxy/tls_rng.h"

namespace agentsh::tls_x509_util {

struct CertSpec {
  std::string subject;  // "CN=…,O=…"
  std::string issuer;   // the issuer's subject; == subject for a self-signed CA
  mbedtls_pk_context* subject_key = nullptr;
  mbedtls_pk_context* issuer_key = nullptr;
  time_t not_before = 0, not_after = 0;
  bool is_ca = false;  // CA: basicConstraints CA:TRUE pathlen 0, keyCertSign|cRLSign
  // Leaf: subjectAltName entries (DNS names or IP literals), serverAuth, digitalSignature.
  std::vector<std::string> san;
};

// A fresh EC P-256 key.
bool generate_ec_key(proxy::TlsRng& rng, mbedtls_pk_context* key, std::string* error);

// Signs one throw-away digest with `key`. mbedTLS computes a key's fixed-point table
// lazily on its first signature and stores it in the key without a lock; doing that
// once up front makes later concurrent signing with a shared key read-only.
void warm_up_key(proxy::TlsRng& rng, mbedtls_pk_context* key);

// Signs `spec` (ECDSA-SHA256, random 128-bit serial). DER or PEM.
bool issue_der(proxy::TlsRng& rng, const CertSpec& spec, std::string* der, std::string* error);
bool issue_pem(proxy::TlsRng& rng, const CertSpec& spec, std::string* pem, std::string* error);

// True if `host` is usable in a certificate: an IP literal, or a DNS name of letters,
// digits, '-', '_', '.', optionally starting with "*.".
bool valid_host(const std::string& host);

// The subject/issuer DN string of a parsed certificate ("CN=…, O=…").
std::string subject_of(const mbedtls_x509_crt* crt);

// mbedTLS's "YYYYMMDDhhmmss" (UTC) form of a time.
std::string x509_time(time_t t);
// A parsed certificate's notAfter / notBefore as time_t (UTC).
time_t not_after_of(const mbedtls_x509_crt* crt);
time_t not_before_of(const mbedtls_x509_crt* crt);

}  // namespace agentsh::tls_x509_util
