// Original peers of redirected sockets (see net_guard_peer_table.h). House rules: no
// exceptions, no malloc, no locks (seqlocks nobody waits on), no stdio, errno untouched.
#include "preload/net_guard_peer_table.h"

namespace agentsh::hook {

PeerTable PeerTable::instance_;

void PeerTable::record(uint64_t ino, const struct sockaddr* sa, socklen_t len) noexcept {
  if (sa == nullptr || len == 0 || ino == 0) return;
  if (len > kAddrMax) len = kAddrMax;
  uint64_t stamp = __atomic_add_fetch(&next_, 1, __ATOMIC_RELAXED);
  // The same socket again (a resolver sending query after query): overwrite its slot.
  size_t idx = static_cast<size_t>(stamp % kSlots);
  for (size_t i = 0; i < kSlots; ++i) {
    uint32_t s = __atomic_load_n(&slots_[i].seq, __ATOMIC_ACQUIRE);
    if ((s & 1) == 0 && s != 0 && __atomic_load_n(&slots_[i].ino, __ATOMIC_RELAXED) == ino) {
      idx = i;
      break;
    }
  }
  Slot& slot = slots_[idx];
  uint32_t s = __atomic_load_n(&slot.seq, __ATOMIC_RELAXED);
  if ((s & 1) != 0 || !__atomic_compare_exchange_n(&slot.seq, &s, s + 1, false, __ATOMIC_ACQUIRE,
                                                   __ATOMIC_RELAXED)) {
    return;  // another writer has it: drop rather than wait
  }
  __atomic_thread_fence(__ATOMIC_RELEASE);
  const auto* p = reinterpret_cast<const uint8_t*>(sa);
  for (socklen_t k = 0; k < len; ++k) __atomic_store_n(&slot.addr[k], p[k], __ATOMIC_RELAXED);
  __atomic_store_n(&slot.len, static_cast<uint32_t>(len), __ATOMIC_RELAXED);
  __atomic_store_n(&slot.ino, ino, __ATOMIC_RELAXED);
  __atomic_store_n(&slot.seq, s + 2, __ATOMIC_RELEASE);
}

socklen_t PeerTable::lookup(uint64_t ino, void* out, socklen_t cap) const noexcept {
  if (ino == 0) return 0;
  uint8_t tmp[kAddrMax];
  for (size_t i = 0; i < kSlots; ++i) {
    const Slot& slot = slots_[i];
    uint32_t s1 = __atomic_load_n(&slot.seq, __ATOMIC_ACQUIRE);
    if (s1 == 0 || (s1 & 1) != 0) continue;
    if (__atomic_load_n(&slot.ino, __ATOMIC_RELAXED) != ino) continue;
    uint32_t n = __atomic_load_n(&slot.len, __ATOMIC_RELAXED);
    if (n == 0 || n > kAddrMax) continue;
    for (uint32_t k = 0; k < n; ++k) tmp[k] = __atomic_load_n(&slot.addr[k], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&slot.seq, __ATOMIC_RELAXED) != s1) continue;  // torn: skip
    socklen_t m = n < cap ? n : cap;
    auto* o = static_cast<uint8_t*>(out);
    for (socklen_t k = 0; k < m; ++k) o[k] = tmp[k];
    return static_cast<socklen_t>(n);
  }
  return 0;
}

}  // namespace agentsh::hook
