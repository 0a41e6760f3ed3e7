// AllowCache (see allow_cache.h). House rules: no exceptions, no malloc, no locks (a CAS
// nobody waits on), no stdio, no syscalls, errno untouched.
#include "preload/allow_cache.h"

#include <cstring>

namespace agentsh::hook {

AllowCache AllowCache::instance_;

namespace {

// The path's i-th 8-byte word, zero-padded past `len`.
inline uint64_t word_at(const char* p, size_t len, size_t i) noexcept {
  uint64_t w = 0;
  size_t off = i * 8;
  size_t n = len - off < 8 ? len - off : 8;
  memcpy(&w, p + off, n);
  return w;
}

// Word-at-a-time multiplicative hash; the length is mixed in so zero padding cannot
// collide with real NULs (paths have none anyway).
inline uint64_t hash_path(const char* p, size_t len) noexcept {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
  const size_t words = (len + 7) / 8;
  for (size_t i = 0; i < words; ++i) {
    h = (h ^ word_at(p, len, i)) * 0xff51afd7ed558ccdull;
    h ^= h >> 32;
  }
  return h;
}

}  // namespace

bool AllowCache::allows(const char* path, size_t len, uint32_t need) const noexcept {
  if (len == 0 || len > kKeyMax) return false;
  const uint64_t h = hash_path(path, len);
  const Slot& s = slots_[h % kSlots];
  const uint32_t s1 = __atomic_load_n(&s.seq, __ATOMIC_ACQUIRE);
  if ((s1 & 1) != 0) return false;
  if (__atomic_load_n(&s.hash, __ATOMIC_RELAXED) != h ||
      __atomic_load_n(&s.len, __ATOMIC_RELAXED) != len) {
    return false;
  }
  const uint32_t allowed = __atomic_load_n(&s.allowed, __ATOMIC_RELAXED);
  if ((allowed & need) != need) return false;
  const size_t words = (len + 7) / 8;
  for (size_t i = 0; i < words; ++i) {
    if (__atomic_load_n(&s.key[i], __ATOMIC_RELAXED) != word_at(path, len, i)) return false;
  }
  __atomic_thread_fence(__ATOMIC_ACQUIRE);
  return __atomic_load_n(&s.seq, __ATOMIC_RELAXED) == s1;  // not rewritten meanwhile
}

void AllowCache::remember(const char* path, size_t len, uint32_t allowed) noexcept {
  if (len == 0 || len > kKeyMax || allowed == 0) return;
  const uint64_t h = hash_path(path, len);
  Slot& s = slots_[h % kSlots];
  uint32_t s1 = __atomic_load_n(&s.seq, __ATOMIC_RELAXED);
  if ((s1 & 1) != 0 || !__atomic_compare_exchange_n(&s.seq, &s1, s1 + 1, false, __ATOMIC_ACQUIRE,
                                                    __ATOMIC_RELAXED)) {
    return;  // another writer (or our own thread, interrupted): skip
  }
  __atomic_thread_fence(__ATOMIC_RELEASE);
  const size_t words = (len + 7) / 8;
  bool same = __atomic_load_n(&s.hash, __ATOMIC_RELAXED) == h &&
              __atomic_load_n(&s.len, __ATOMIC_RELAXED) == len;
  for (size_t i = 0; i < words && same; ++i) {
    same = __atomic_load_n(&s.key[i], __ATOMIC_RELAXED) == word_at(path, len, i);
  }
  if (same) {
    allowed |= __atomic_load_n(&s.allowed, __ATOMIC_RELAXED);
  } else {
    for (size_t i = 0; i < words; ++i) {
      __atomic_store_n(&s.key[i], word_at(path, len, i), __ATOMIC_RELAXED);
    }
    __atomic_store_n(&s.hash, h, __ATOMIC_RELAXED);
    __atomic_store_n(&s.len, static_cast<uint32_t>(len), __ATOMIC_RELAXED);
  }
  __atomic_store_n(&s.allowed, allowed, __ATOMIC_RELAXED);
  __atomic_store_n(&s.seq, s1 + 2, __ATOMIC_RELEASE);
}

}  // namespace agentsh::hook
