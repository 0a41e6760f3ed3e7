// CaStore: the per-install certificate authority the proxy signs intercepted hosts'
// certificates with.
//
// Files in the store directory (created 0755 if missing):
//   ca.key         EC P-256 private key, PEM, mode 0600 (refused if group/other can read
//                  it or if it belongs to another user)
//   ca.pem         the self-signed CA certificate, mode 0644 (10 years, pathlen 0)
//   ca-bundle.pem  the system trust store followed by ca.pem, mode 0644: what the agent's
//                  tools trust (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, …);
//                  rewritten whenever it no longer equals system store + ca.pem
// The CA is generated on first use under an exclusive lock (flock on .lock), so
// concurrent first starts agree on one CA; afterwards it is loaded.
//
// Thread-safety: immutable after open(); the accessors may be used from any thread.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "proxy/tls_handles.h"
#include "proxy/tls_rng.h"

namespace agentsh::proxy {

class CaStore {
 public:
  static constexpr const char* kSystemBundle = "/etc/ssl/certs/ca-certificates.crt";

  // Loads the CA in `dir`, generating it first if absent. `system_bundle` is the trust
  // store to merge into ca-bundle.pem (missing file = our CA only). nullptr with
  // `error` naming the file and the fix on failure.
  static std::unique_ptr<CaStore> open(const std::string& dir, std::string* error,
                                       const std::string& system_bundle = kSystemBundle);

  const mbedtls_x509_crt* cert() const { return cert_.get(); }
  mbedtls_pk_context* key() const { return key_.get(); }
  const std::string& subject() const { return subject_; }  // "CN=…, O=agentsh"
  const std::string& cert_pem() const { return cert_pem_; }
  time_t not_after() const { return not_after_; }
  time_t not_before() const { return not_before_; }
  bool generated() const { return generated_; }  // true if open() created it

  std::string key_path() const { return dir_ + "/ca.key"; }
  std::string cert_path() const { return dir_ + "/ca.pem"; }
  std::string bundle_path() const { return dir_ + "/ca-bundle.pem"; }

  // Environment for the agent's processes so that common TLS stacks trust the proxy:
  // SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, GIT_SSL_CAINFO → the bundle;
  // NODE_EXTRA_CA_CERTS → ca.pem (Node adds it to its built-in roots).
  std::map<std::string, std::string> env_vars() const;

 private:
  CaStore() = default;
  bool load(std::string* error);
  bool generate(std::string* error);
  bool write_bundle(const std::string& system_bundle, std::string* error);

  std::string dir_;
  std::string subject_, cert_pem_;
  time_t not_after_ = 0, not_before_ = 0;
  bool generated_ = false;
  tls_handles::Crt cert_ = tls_handles::make_Crt();
  tls_handles::Pk key_ = tls_handles::make_Pk();
};

}  // namespace agentsh::proxy
