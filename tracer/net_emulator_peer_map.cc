#include "tracer/net_emulator_peer_map.h"

#include <cstring>

namespace agentsh::tracer {

void NetEmulatorPeerMap::put(uint64_t cookie, const sockaddr_storage& original) {
  Entry e{};
  if (original.ss_family == AF_INET) {
    e.len = sizeof(sockaddr_in);
  } else if (original.ss_family == AF_INET6) {
    e.len = sizeof(sockaddr_in6);
  } else {
    return;
  }
  std::memcpy(&e.addr, &original, e.len);
  if (original.ss_family == AF_INET6) e.addr.sin6_flowinfo = 0;  // as the kernel reports
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, fresh] = map_.insert_or_assign(cookie, e);
  (void)it;
  if (!fresh) return;
  order_.push_back(cookie);
  while (map_.size() > capacity_ && !order_.empty()) {
    map_.erase(order_.front());
    order_.pop_front();
  }
}

bool NetEmulatorPeerMap::get(uint64_t cookie, sockaddr_storage* out, socklen_t* len) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = map_.find(cookie);
  if (it == map_.end()) return false;
  *out = sockaddr_storage{};
  std::memcpy(out, &it->second.addr, it->second.len);
  *len = it->second.len;
  return true;
}

size_t NetEmulatorPeerMap::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return map_.size();
}

}  // namespace agentsh::tracer
