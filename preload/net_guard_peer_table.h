// PeerTable: the destination a program asked for, for sockets the hook sent elsewhere
// (a TCP connect redirected to the session's proxy, a datagram to port 53 redirected to
// the session's DNS proxy). getpeername() answers with it and recvfrom()/recvmsg()
// report it as the source of the DNS proxy's answers, so the program sees the peer it
// connected to, not agentsh's loopback port.
//
// Keyed by the socket's inode (fstat st_ino), not by the descriptor number: a dup() of
// the socket finds the entry, and a descriptor number reused for another socket does
// not. Fixed size (kSlots entries, round-robin replacement: the oldest redirect of a
// long-running process may be forgotten, then getpeername shows the proxy's address).
//
// Concurrency: each slot is a seqlock, as in NameTable (writers CAS the sequence odd,
// losers drop their record; readers retry nothing, they skip a torn slot). Nothing is
// ever held, so fork() is safe; the child inherits the entries, which stay right for
// the sockets it inherited.
//
// House rules: no exceptions, no malloc, no locks, no stdio, errno untouched.
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace agentsh::hook {

class PeerTable {
 public:
  static constexpr size_t kSlots = 256;
  static constexpr size_t kAddrMax = 28;  // sizeof(sockaddr_in6)

  static PeerTable& get() noexcept { return instance_; }

  // Remembers `sa` (at most kAddrMax bytes) as the peer of the socket with inode `ino`.
  void record(uint64_t ino, const struct sockaddr* sa, socklen_t len) noexcept;
  // Copies the remembered peer into out (cap bytes); returns its length, 0 if unknown.
  socklen_t lookup(uint64_t ino, void* out, socklen_t cap) const noexcept;
  // True until the first record(): lets the recv/getpeername wrappers skip all work.
  bool empty() const noexcept { return __atomic_load_n(&next_, __ATOMIC_RELAXED) == 0; }

 private:
  struct Slot {
    uint32_t seq;  // odd while being written
    uint32_t len;
    uint64_t ino;
    uint8_t addr[kAddrMax];
  };
  static PeerTable instance_;

  Slot slots_[kSlots] = {};
  uint64_t next_ = 0;
};

}  // namespace agentsh::hook
