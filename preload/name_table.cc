// Name -> IP answers (see name_table.h). House rules: no exceptions, no malloc, no locks
// (seqlocks nobody waits on), no stdio, errno untouched.
#include "preload/name_table.h"

#include <cstring>

namespace agentsh::hook {

NameTable NameTable::instance_;

void NameTable::record(const char* name, const cidr::IpAddr& ip) noexcept {
  if (name == nullptr) return;
  size_t n = strnlen(name, kNameMax);
  if (n == 0 || n >= kNameMax) return;
  uint64_t stamp = __atomic_add_fetch(&next_, 1, __ATOMIC_RELAXED);
  // Same IP already present: overwrite that slot, else the round-robin one.
  size_t idx = static_cast<size_t>(stamp % kSlots);
  for (size_t i = 0; i < kSlots; ++i) {
    uint32_t s = __atomic_load_n(&slots_[i].seq, __ATOMIC_ACQUIRE);
    if ((s & 1) == 0 && s != 0 && memcmp(slots_[i].ip, ip.b, 16) == 0) {
      idx = i;
      break;
    }
  }
  Slot& slot = slots_[idx];
  uint32_t s = __atomic_load_n(&slot.seq, __ATOMIC_RELAXED);
  if ((s & 1) != 0 || !__atomic_compare_exchange_n(&slot.seq, &s, s + 1, false, __ATOMIC_ACQUIRE,
                                                   __ATOMIC_RELAXED)) {
    return;  // another writer has it: drop this answer rather than wait
  }
  __atomic_thread_fence(__ATOMIC_RELEASE);
  for (size_t k = 0; k < 16; ++k) __atomic_store_n(&slot.ip[k], ip.b[k], __ATOMIC_RELAXED);
  for (size_t k = 0; k < n; ++k) {
    char c = name[k];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    __atomic_store_n(&slot.name[k], c, __ATOMIC_RELAXED);
  }
  __atomic_store_n(&slot.name_len, static_cast<uint32_t>(n), __ATOMIC_RELAXED);
  __atomic_store_n(&slot.stamp, stamp, __ATOMIC_RELAXED);
  __atomic_store_n(&slot.seq, s + 2, __ATOMIC_RELEASE);
}

size_t NameTable::lookup(const cidr::IpAddr& ip, char* out, size_t cap) const noexcept {
  size_t best_len = 0;
  uint64_t best_stamp = 0;
  char tmp[kNameMax];
  for (size_t i = 0; i < kSlots; ++i) {
    const Slot& slot = slots_[i];
    uint32_t s1 = __atomic_load_n(&slot.seq, __ATOMIC_ACQUIRE);
    if (s1 == 0 || (s1 & 1) != 0) continue;
    bool same = true;
    for (size_t k = 0; k < 16 && same; ++k) {
      same = __atomic_load_n(&slot.ip[k], __ATOMIC_RELAXED) == ip.b[k];
    }
    if (!same) continue;
    uint64_t stamp = __atomic_load_n(&slot.stamp, __ATOMIC_RELAXED);
    uint32_t n = __atomic_load_n(&slot.name_len, __ATOMIC_RELAXED);
    if (stamp < best_stamp || n == 0 || n >= kNameMax || n + 1 > cap) continue;
    for (size_t k = 0; k < n; ++k) tmp[k] = __atomic_load_n(&slot.name[k], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&slot.seq, __ATOMIC_RELAXED) != s1) continue;  // torn: skip
    memcpy(out, tmp, n);
    out[n] = '\0';
    best_len = n;
    best_stamp = stamp;
  }
  if (best_len == 0 && cap > 0) out[0] = '\0';
  return best_len;
}

}  // namespace agentsh::hook
