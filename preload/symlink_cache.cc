// Top-level symlink cache (see symlink_cache.h for the admission and invalidation rules).
// House rules: no exceptions, no malloc, no locks (the writer flag is a try-lock nobody
// waits on), no stdio, raw syscalls, errno untouched.
#include "preload/symlink_cache.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cstring>

#include "preload/sys.h"

namespace agentsh::hook {

SymlinkCache SymlinkCache::instance_;

bool SymlinkCache::is_top_level(const char* path, size_t len) noexcept {
  if (len < 2 || path[0] != '/') return false;
  for (size_t i = 1; i < len; ++i) {
    if (path[i] == '/') return false;
  }
  return true;
}

size_t SymlinkCache::rewrite(const char* path, size_t len, char* out, size_t cap) const noexcept {
  uint32_t n = __atomic_load_n(&count_, __ATOMIC_ACQUIRE);
  if (n == 0 || len < 2 || path[0] != '/') return 0;
  size_t first = 1;
  while (first < len && path[first] != '/') ++first;  // path[0, first) = "/name"
  for (uint32_t i = 0; i < n && i < static_cast<uint32_t>(kEntries); ++i) {
    const Entry& e = entries_[i];
    uint32_t s1 = __atomic_load_n(&e.seq, __ATOMIC_ACQUIRE);
    if ((s1 & 1) != 0) continue;
    uint32_t nl = __atomic_load_n(&e.name_len, __ATOMIC_RELAXED);
    uint32_t tl = __atomic_load_n(&e.target_len, __ATOMIC_RELAXED);
    if (nl != first || tl == 0 || tl > kTargetMax || nl > kNameMax) continue;
    bool same = true;
    for (size_t k = 0; k < nl && same; ++k) {
      same = __atomic_load_n(&e.name[k], __ATOMIC_RELAXED) == path[k];
    }
    if (!same) continue;
    size_t total = tl + (len - first);
    if (total + 1 > cap) return 0;
    for (size_t k = 0; k < tl; ++k) out[k] = __atomic_load_n(&e.target[k], __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&e.seq, __ATOMIC_RELAXED) != s1) return 0;  // torn: no shortcut
    memcpy(out + tl, path + first, len - first);
    out[total] = '\0';
    return total;
  }
  return 0;
}

void SymlinkCache::remember(const char* link, size_t link_len, const char* target,
                            size_t target_len) noexcept {
  if (!is_top_level(link, link_len) || link_len > kNameMax || target_len == 0 ||
      target_len > kTargetMax || target[0] != '/') {
    return;
  }
  // Admission: root-owned link in a root-owned, not group/other-writable "/".
  char name[kNameMax + 1];
  memcpy(name, link, link_len);
  name[link_len] = '\0';
  struct stat st;
  if (sys::call(SYS_newfstatat, AT_FDCWD, sys::arg(name), sys::arg(&st), AT_SYMLINK_NOFOLLOW) !=
          0 ||
      !S_ISLNK(st.st_mode) || st.st_uid != 0) {
    return;
  }
  if (sys::call(SYS_newfstatat, AT_FDCWD, sys::arg("/"), sys::arg(&st), AT_SYMLINK_NOFOLLOW) != 0 ||
      st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return;
  }
  int expected = 0;
  if (!__atomic_compare_exchange_n(&writer_, &expected, 1, false, __ATOMIC_ACQUIRE,
                                   __ATOMIC_RELAXED)) {
    return;
  }
  uint32_t n = __atomic_load_n(&count_, __ATOMIC_RELAXED);
  bool known = false;
  for (uint32_t i = 0; i < n && !known; ++i) {
    known = entries_[i].name_len == link_len && memcmp(entries_[i].name, link, link_len) == 0;
  }
  if (!known && n < static_cast<uint32_t>(kEntries)) {
    Entry& e = entries_[n];
    uint32_t s = __atomic_load_n(&e.seq, __ATOMIC_RELAXED);
    __atomic_store_n(&e.seq, s + 1, __ATOMIC_RELAXED);  // odd: being written
    __atomic_thread_fence(__ATOMIC_RELEASE);
    for (size_t k = 0; k < link_len; ++k) __atomic_store_n(&e.name[k], link[k], __ATOMIC_RELAXED);
    for (size_t k = 0; k < target_len; ++k) {
      __atomic_store_n(&e.target[k], target[k], __ATOMIC_RELAXED);
    }
    __atomic_store_n(&e.name_len, static_cast<uint32_t>(link_len), __ATOMIC_RELAXED);
    __atomic_store_n(&e.target_len, static_cast<uint32_t>(target_len), __ATOMIC_RELAXED);
    __atomic_store_n(&e.seq, s + 2, __ATOMIC_RELEASE);
    __atomic_store_n(&count_, n + 1, __ATOMIC_RELEASE);
  }
  __atomic_store_n(&writer_, 0, __ATOMIC_RELEASE);
}

void SymlinkCache::invalidate() noexcept {
  __atomic_store_n(&count_, 0, __ATOMIC_RELEASE);
}

}  // namespace agentsh::hook
