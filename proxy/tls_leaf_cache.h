// TlsLeafCache: server certificates for intercepted hosts, signed by the CaStore's CA
// and cached per host name (bounded LRU), so the signing cost (~0.4 ms ECDSA on this
// machine) is paid once per host, not once per connection. All leaves share one EC
// P-256 key generated when the cache is built (key generation would otherwise double
// the per-host cost); a leaf is re-issued when it has less than a day to live.
//
// Leaves: subject CN=<host> (omitted past 64 characters), subjectAltName DNS:<host> or
// IP:<addr>, serverAuth, digitalSignature, valid from an hour ago for 30 days (never
// beyond the CA), chain = leaf + CA.
//
// Thread-safety: get() may be called from any thread; returned leaves are immutable and
// stay valid while a caller holds the shared_ptr, even after eviction. The CaStore must
// outlive the cache.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "proxy/ca_store.h"
#include "proxy/tls_handles.h"

namespace agentsh::proxy {

struct TlsLeaf {
  std::string host;
  tls_handles::Crt chain;                   // leaf, then the CA
  const mbedtls_pk_context* key = nullptr;  // the cache's shared leaf key
  time_t not_after = 0;
};

class TlsLeafCache {
 public:
  static std::unique_ptr<TlsLeafCache> create(const CaStore& ca, size_t capacity,
                                              std::string* error);

  // The leaf for `host` (a DNS name or an IP literal; case-insensitive), issuing it on
  // a miss. nullptr with `error` set for a host name that cannot go in a certificate.
  std::shared_ptr<const TlsLeaf> get(const std::string& host, std::string* error);

  size_t size() const;
  uint64_t issued() const;  // leaves signed so far (misses)
  const CaStore& ca() const { return ca_; }

 private:
  explicit TlsLeafCache(const CaStore& ca) : ca_(ca) {}
  std::shared_ptr<const TlsLeaf> issue(const std::string& host, std::string* error);

  const CaStore& ca_;
  size_t capacity_ = 0;
  tls_handles::Pk key_ = tls_handles::make_Pk();

  mutable std::mutex mu_;
  std::list<std::string> lru_;  // front = most recently used
  struct Entry {
    std::shared_ptr<const TlsLeaf> leaf;
    std::list<std::string>::iterator pos;
  };
  std::unordered_map<std::string, Entry> map_;
  uint64_t issued_ = 0;
};

}  // namespace agentsh::proxy
