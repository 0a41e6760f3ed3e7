// Keeps the hook in children's environments (see env_fixer.h). House rules: no
// exceptions, no malloc, no locks, no stdio, raw syscalls, errno untouched.
#include "preload/env_fixer.h"

#include <sys/mman.h>

#include <cstring>

#include "preload/hook_state.h"
#include "preload/sys.h"

namespace agentsh::hook {

namespace {

constexpr char kLd[] = "LD_PRELOAD=";
constexpr char kSnap[] = "AGENTSH_SNAPSHOT=";
constexpr char kSnapFd[] = "AGENTSH_SNAPSHOT_FD=";
constexpr char kSess[] = "AGENTSH_SESSION_ID=";

bool has_prefix(const char* s, const char* prefix, size_t n) noexcept {
  return strncmp(s, prefix, n) == 0;
}

// LD_PRELOAD is a list separated by ':' or spaces.
bool list_has(const char* list, const char* item, size_t n) noexcept {
  const char* p = list;
  while (*p != '\0') {
    while (*p == ':' || *p == ' ') ++p;
    const char* s = p;
    while (*p != '\0' && *p != ':' && *p != ' ') ++p;
    if (static_cast<size_t>(p - s) == n && n != 0 && memcmp(s, item, n) == 0) return true;
  }
  return false;
}

char* put(char** cursor, const char* a, const char* b, const char* c) noexcept {
  char* start = *cursor;
  size_t la = strlen(a), lb = strlen(b), lc = c != nullptr ? strlen(c) : 0;
  memcpy(start, a, la);
  memcpy(start + la, b, lb);
  if (lc != 0) {
    start[la + lb] = ':';
    memcpy(start + la + lb + 1, c, lc);
    lb += lc + 1;
  }
  start[la + lb] = '\0';
  *cursor = start + la + lb + 1;
  return start;
}

}  // namespace

EnvFixer::~EnvFixer() {
  if (map_ != nullptr) sys::munmap(map_, map_len_);
}

char* const* EnvFixer::fix(char* const* envp) noexcept {
  const HookState& s = HookState::get();
  if (!s.active()) return envp;
  const char* lib = s.hook_library();
  const size_t lib_len = s.hook_library_len();
  const char* snap = s.snapshot_path();
  const char* sess = s.session_id();
  const char* snap_fd = s.snapshot_fd_env();  // "" when this process was given none

  const char* old_ld = nullptr;
  bool ld_ok = lib_len == 0, snap_ok = false, sess_ok = sess[0] == '\0';
  bool fd_ok = snap_fd[0] == '\0';
  size_t n = 0;
  for (; envp != nullptr && envp[n] != nullptr; ++n) {
    const char* e = envp[n];
    if (has_prefix(e, kLd, sizeof kLd - 1)) {
      old_ld = e + sizeof kLd - 1;
      ld_ok = ld_ok || list_has(old_ld, lib, lib_len);
    } else if (has_prefix(e, kSnap, sizeof kSnap - 1)) {
      snap_ok = strcmp(e + sizeof kSnap - 1, snap) == 0;
    } else if (has_prefix(e, kSnapFd, sizeof kSnapFd - 1)) {
      fd_ok = fd_ok || strcmp(e + sizeof kSnapFd - 1, snap_fd) == 0;
    } else if (has_prefix(e, kSess, sizeof kSess - 1)) {
      sess_ok = sess_ok || strcmp(e + sizeof kSess - 1, sess) == 0;
    }
  }
  if (ld_ok && snap_ok && sess_ok && fd_ok) return envp;

  // New strings: LD_PRELOAD (hook first, then what the program had), snapshot, session.
  size_t strings = sizeof kLd + lib_len + 1 + (old_ld != nullptr ? strlen(old_ld) : 0) +
                   sizeof kSnap + strlen(snap) + sizeof kSess + strlen(sess) + sizeof kSnapFd +
                   strlen(snap_fd) + 8;
  size_t slots = n + 5;
  char** arr = slots_;
  char* cursor = arena_;
  if (slots > kStackSlots || strings > kArena) {
    size_t len = slots * sizeof(char*) + strings;
    len = (len + 4095) & ~static_cast<size_t>(4095);
    long m = sys::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m < 0 && m > -4096) return envp;
    map_ = reinterpret_cast<void*>(m);
    map_len_ = len;
    arr = static_cast<char**>(map_);
    cursor = reinterpret_cast<char*>(arr + slots);
  }
  size_t k = 0;
  if (lib_len != 0) {
    const char* keep = (old_ld != nullptr && !list_has(old_ld, lib, lib_len) && old_ld[0] != '\0')
                           ? old_ld
                           : nullptr;
    arr[k++] = ld_ok ? nullptr : put(&cursor, kLd, lib, keep);
    if (arr[k - 1] == nullptr) --k;
  }
  arr[k++] = put(&cursor, kSnap, snap, nullptr);
  if (snap_fd[0] != '\0') arr[k++] = put(&cursor, kSnapFd, snap_fd, nullptr);
  if (sess[0] != '\0') arr[k++] = put(&cursor, kSess, sess, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const char* e = envp[i];
    if (has_prefix(e, kSnap, sizeof kSnap - 1)) continue;
    if (snap_fd[0] != '\0' && has_prefix(e, kSnapFd, sizeof kSnapFd - 1)) continue;
    if (sess[0] != '\0' && has_prefix(e, kSess, sizeof kSess - 1)) continue;
    if (!ld_ok && has_prefix(e, kLd, sizeof kLd - 1)) continue;
    arr[k++] = const_cast<char*>(e);
  }
  arr[k] = nullptr;
  return arr;
}

}  // namespace agentsh::hook
