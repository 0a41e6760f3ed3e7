// The original destinations of the sockets the tracer redirected (a TCP connect sent to
// the session proxy, a DNS socket connected to the DNS proxy), so that getpeername on
// them answers what the program asked for rather than agentsh's loopback address.
//
// Keyed by the kernel's socket cookie (SO_COOKIE): one per socket, shared by every fd
// and process that holds it (dup, fork, SCM_RIGHTS), never reused while the network
// namespace lives — so a closed socket's entry can never be mistaken for a new socket's.
// Sockets close without the tracer noticing, so entries are not removed on close; the
// map is bounded instead (oldest entry evicted first), which at worst makes a very old
// redirected socket show the proxy's address again.
// Thread-safety: every member may be called concurrently (one mutex, never held across
// a syscall).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>

namespace agentsh::tracer {

class NetEmulatorPeerMap {
 public:
  static constexpr size_t kDefaultCapacity = 65536;
  explicit NetEmulatorPeerMap(size_t capacity = kDefaultCapacity) : capacity_(capacity) {}

  // Remembers `original` (AF_INET or AF_INET6, copied) for the socket with `cookie`;
  // a later put for the same cookie replaces it.
  void put(uint64_t cookie, const sockaddr_storage& original);
  // The remembered destination and its length (sizeof sockaddr_in / sockaddr_in6);
  // false if none.
  bool get(uint64_t cookie, sockaddr_storage* out, socklen_t* len) const;
  size_t size() const;

 private:
  struct Entry {
    sockaddr_in6 addr;  // big enough for both families (sockaddr_in fits in its prefix)
    socklen_t len;
  };
  const size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, Entry> map_;
  std::deque<uint64_t> order_;  // the keys in insertion order, for eviction
};

}  // namespace agentsh::tracer
