// NameMap: which names the DNS proxy handed out each address for, so that a connection
// to a bare address (transparent mode) can be decided by the name the agent resolved.
//
// Thread-safe (one mutex; every operation is O(1) apart from the handful of names kept
// per address). Bounded: at most `capacity` addresses, least recently recorded evicted
// first, at most kNamesPerAddress names per address. TTL-respecting: an entry lives for
// its DNS TTL, clamped to [min_ttl, max_ttl] — the floor because programs connect a
// moment after resolving even when the TTL is 0, the ceiling so stale answers age out.
// Time is passed in, so tests control it.
#pragma once

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/ip_address.h"

namespace agentsh::proxy {

class NameMap {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kNamesPerAddress = 4;

  explicit NameMap(size_t capacity = 65536, std::chrono::seconds min_ttl = std::chrono::seconds(30),
                   std::chrono::seconds max_ttl = std::chrono::hours(24));

  // Records that `name` resolved to `ip` with `ttl_s` seconds to live.
  void record(const IpAddress& ip, std::string_view name, uint32_t ttl_s, Clock::time_point now);
  // The live names for `ip`, most recently recorded first (empty if none).
  std::vector<std::string> lookup(const IpAddress& ip, Clock::time_point now);
  bool contains(const IpAddress& ip, std::string_view name, Clock::time_point now);
  size_t size() const;

 private:
  struct Name {
    std::string name;
    Clock::time_point expires;
  };
  struct Entry {
    std::vector<Name> names;  // most recent first
    std::list<IpAddress>::iterator lru;
  };
  void prune(Entry* e, Clock::time_point now);

  const size_t capacity_;
  const std::chrono::seconds min_ttl_, max_ttl_;
  mutable std::mutex mu_;
  std::unordered_map<IpAddress, Entry, IpAddressHash> map_;
  std::list<IpAddress> lru_;  // front = most recently recorded
};

}  // namespace agentsh::proxy
