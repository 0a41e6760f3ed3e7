#include "proxy/name_map.h"

#include <algorithm>

namespace agentsh::proxy {

NameMap::NameMap(size_t capacity, std::chrono::seconds min_ttl, std::chrono::seconds max_ttl)
    : capacity_(std::max<size_t>(capacity, 1)), min_ttl_(min_ttl), max_ttl_(max_ttl) {}

void NameMap::prune(Entry* e, Clock::time_point now) {
  std::erase_if(e->names, [&](const Name& n) { return n.expires <= now; });
}

void NameMap::record(const IpAddress& ip, std::string_view name, uint32_t ttl_s,
                     Clock::time_point now) {
  if (name.empty()) return;
  const auto ttl = std::clamp(std::chrono::seconds(ttl_s), min_ttl_, max_ttl_);
  const auto expires = now + ttl;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(ip);
  if (it == map_.end()) {
    if (map_.size() >= capacity_) {
      map_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(ip);
    it = map_.emplace(ip, Entry{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& e = it->second;
  prune(&e, now);
  std::erase_if(e.names, [&](const Name& n) { return n.name == name; });
  e.names.insert(e.names.begin(), Name{std::string(name), expires});
  if (e.names.size() > kNamesPerAddress) e.names.resize(kNamesPerAddress);
}

std::vector<std::string> NameMap::lookup(const IpAddress& ip, Clock::time_point now) {
  std::vector<std::string> out;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(ip);
  if (it == map_.end()) return out;
  prune(&it->second, now);
  if (it->second.names.empty()) {
    lru_.erase(it->second.lru);
    map_.erase(it);
    return out;
  }
  for (const auto& n : it->second.names) out.push_back(n.name);
  return out;
}

bool NameMap::contains(const IpAddress& ip, std::string_view name, Clock::time_point now) {
  for (const auto& n : lookup(ip, now))
    if (n == name) return true;
  return false;
}

size_t NameMap::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace agentsh::proxy
