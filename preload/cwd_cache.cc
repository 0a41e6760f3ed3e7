// CwdCache (see cwd_cache.h). House rules: no exceptions, no malloc, no locks (a CAS
// nobody waits on), no stdio, raw syscalls, errno untouched.
#include "preload/cwd_cache.h"

#include <cerrno>
#include <cstring>

#include "preload/sys.h"

namespace agentsh::hook {

CwdCache CwdCache::instance_;

void CwdCache::note_chdir() noexcept {
  __atomic_store_n(&pid_check_, 1, __ATOMIC_RELEASE);
  invalidate();
}

void CwdCache::disable() noexcept {
  __atomic_store_n(&disabled_, 1, __ATOMIC_RELEASE);
  invalidate();
}

void CwdCache::enter_unsafe() noexcept {
  __atomic_add_fetch(&unsafe_, 1, __ATOMIC_ACQ_REL);
  invalidate();
}

void CwdCache::leave_unsafe() noexcept {
  invalidate();
  __atomic_sub_fetch(&unsafe_, 1, __ATOMIC_ACQ_REL);
}

long CwdCache::getcwd(char* buf, size_t cap, bool* cached) noexcept {
  if (cached != nullptr) *cached = false;
  const bool usable = __atomic_load_n(&disabled_, __ATOMIC_ACQUIRE) == 0 &&
                      __atomic_load_n(&unsafe_, __ATOMIC_ACQUIRE) == 0;
  const uint64_t gen = __atomic_load_n(&gen_, __ATOMIC_ACQUIRE);
  const bool pid_check = __atomic_load_n(&pid_check_, __ATOMIC_ACQUIRE) != 0;
  long pid = 0;
  if (usable) {
    const uint32_t s1 = __atomic_load_n(&seq_, __ATOMIC_ACQUIRE);
    const uint32_t len = __atomic_load_n(&len_, __ATOMIC_RELAXED);
    if ((s1 & 1) == 0 && len != 0 && len <= cap &&
        __atomic_load_n(&entry_gen_, __ATOMIC_RELAXED) == gen) {
      bool pid_ok = true;
      if (pid_check) {
        pid = sys::getpid();
        pid_ok = __atomic_load_n(&entry_pid_, __ATOMIC_RELAXED) == pid;
      }
      if (pid_ok) {
        const size_t words = (len + 7) / 8;
        for (size_t i = 0; i < words; ++i) {
          uint64_t w = __atomic_load_n(&path_[i], __ATOMIC_RELAXED);
          size_t n = len - i * 8 < 8 ? len - i * 8 : 8;
          memcpy(buf + i * 8, &w, n);
        }
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&seq_, __ATOMIC_RELAXED) == s1) {
          if (cached != nullptr) *cached = true;
          return len;
        }
      }
    }
  }
  long r = sys::getcwd(buf, cap);
  if (r <= 0 || buf[0] != '/' || static_cast<size_t>(r) > kMax || !usable) return r;
  // Fill, unless a chdir (generation), another filler (odd seq) or nftw intervened.
  uint32_t s = __atomic_load_n(&seq_, __ATOMIC_RELAXED);
  if ((s & 1) != 0 ||
      !__atomic_compare_exchange_n(&seq_, &s, s + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
    return r;
  }
  __atomic_thread_fence(__ATOMIC_RELEASE);
  if (__atomic_load_n(&gen_, __ATOMIC_ACQUIRE) == gen &&
      __atomic_load_n(&unsafe_, __ATOMIC_ACQUIRE) == 0) {
    const size_t len = static_cast<size_t>(r);
    for (size_t i = 0; i < (len + 7) / 8; ++i) {
      uint64_t w = 0;
      memcpy(&w, buf + i * 8, len - i * 8 < 8 ? len - i * 8 : 8);
      __atomic_store_n(&path_[i], w, __ATOMIC_RELAXED);
    }
    if (pid_check && pid == 0) pid = sys::getpid();
    __atomic_store_n(&entry_pid_, pid_check ? pid : 0, __ATOMIC_RELAXED);
    __atomic_store_n(&entry_gen_, gen, __ATOMIC_RELAXED);
    __atomic_store_n(&len_, static_cast<uint32_t>(len), __ATOMIC_RELAXED);
  }
  __atomic_store_n(&seq_, s + 2, __ATOMIC_RELEASE);
  return r;
}

}  // namespace agentsh::hook
