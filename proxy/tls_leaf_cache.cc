#include "proxy/tls_leaf_cache.h"

#include <algorithm>
#include <ctime>

#include "proxy/tls_x509_util.h"

namespace agentsh::proxy {

using tls_handles::error_text;

namespace {
constexpr time_t kLeafLifetime = 30 * 24 * 3600;
constexpr time_t kRenewBefore = 24 * 3600;
}  // namespace

std::unique_ptr<TlsLeafCache> TlsLeafCache::create(const CaStore& ca, size_t capacity,
                                                   std::string* error) {
  std::unique_ptr<TlsLeafCache> c(new TlsLeafCache(ca));
  c->capacity_ = std::max<size_t>(capacity, 1);
  TlsRng* rng = TlsRng::shared();
  if (rng == nullptr) {
    *error = "TLS leaf cache: the random generator could not be seeded from the OS";
    return nullptr;
  }
  if (!tls_x509_util::generate_ec_key(*rng, c->key_.get(), error)) return nullptr;
  tls_x509_util::warm_up_key(*rng, c->key_.get());
  return c;
}

std::shared_ptr<const TlsLeaf> TlsLeafCache::issue(const std::string& host, std::string* error) {
  auto leaf = std::make_shared<TlsLeaf>();
  leaf->host = host;
  leaf->key = key_.get();
  leaf->chain = tls_handles::make_Crt();
  tls_x509_util::CertSpec spec;
  spec.subject = host.size() <= 64 ? "CN=" + host : "CN=agentsh intercepted host";
  spec.issuer = ca_.subject();
  spec.subject_key = key_.get();
  spec.issuer_key = ca_.key();
  time_t now = time(nullptr);
  spec.not_before = std::max(now - 3600, ca_.not_before());
  spec.not_after = std::min(now + kLeafLifetime, ca_.not_after());
  spec.san = {host};
  std::string der;
  if (!tls_x509_util::issue_der(*TlsRng::shared(), spec, &der, error)) return nullptr;
  int ret = mbedtls_x509_crt_parse_der(
      leaf->chain.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size());
  if (ret == 0)
    ret = mbedtls_x509_crt_parse_der(leaf->chain.get(), ca_.cert()->raw.p, ca_.cert()->raw.len);
  if (ret != 0) {
    *error = error_text("TLS leaf for " + host + ": parsing the new certificate", ret);
    return nullptr;
  }
  leaf->not_after = spec.not_after;
  return leaf;
}

std::shared_ptr<const TlsLeaf> TlsLeafCache::get(const std::string& host_in, std::string* error) {
  std::string host = host_in;
  std::transform(host.begin(), host.end(), host.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  if (!host.empty() && host.back() == '.') host.pop_back();  // "example.com." → "example.com"
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);  // "[::1]" → "::1"
  if (!tls_x509_util::valid_host(host)) {
    *error = "TLS interception: '" + host_in + "' is not a host name a certificate can name";
    return nullptr;
  }
  time_t now = time(nullptr);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = map_.find(host);
    if (it != map_.end() && it->second.leaf->not_after - now > kRenewBefore) {
      lru_.splice(lru_.begin(), lru_, it->second.pos);
      return it->second.leaf;
    }
  }
  // Sign outside the lock: other hosts need not wait. Two threads missing on the same
  // host at once both sign; the second insert wins, both leaves are valid.
  std::shared_ptr<const TlsLeaf> leaf = issue(host, error);
  if (!leaf) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  ++issued_;
  auto it = map_.find(host);
  if (it != map_.end()) {
    it->second.leaf = leaf;
    lru_.splice(lru_.begin(), lru_, it->second.pos);
    return leaf;
  }
  lru_.push_front(host);
  map_[host] = Entry{leaf, lru_.begin()};
  while (map_.size() > capacity_) {
    map_.erase(lru_.back());
    lru_.pop_back();
  }
  return leaf;
}

size_t TlsLeafCache::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

uint64_t TlsLeafCache::issued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return issued_;
}

}  // namespace agentsh::proxy
