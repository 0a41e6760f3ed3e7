// Lexical path helpers (see path_util.h). Compiled into the supervisor and into
// libagentsh_hook.so: no allocation, no exceptions, no syscalls, no errno changes.
#include "common/path_util.h"

#include <cstring>

namespace agentsh::path_util {

namespace {

// The output being built: out[0..len) holds a normalised absolute path. Segments that
// did not fit are not dropped but counted in `spilled`: they sit logically on top of
// the ones in `out`, so a later ".." removes a spilled one first. The result fits iff
// nothing is spilled at the end ("/aaaa…/../b" fits in 3 bytes even though the
// intermediate does not).
struct Out {
  char* buf;
  size_t cap;
  size_t len;
  size_t spilled;
};

void append_segments(const char* p, size_t n, Out* o) noexcept {
  size_t i = 0;
  while (i < n) {
    while (i < n && p[i] == '/') ++i;
    size_t start = i;
    while (i < n && p[i] != '/') ++i;
    size_t seg = i - start;
    if (seg == 0 || (seg == 1 && p[start] == '.')) continue;
    if (seg == 2 && p[start] == '.' && p[start + 1] == '.') {
      if (o->spilled > 0) {
        --o->spilled;
        continue;
      }
      // Pop the last segment; "/" stays "/" (".." above the root is the root).
      while (o->len > 1 && o->buf[o->len - 1] != '/') --o->len;
      if (o->len > 1) --o->len;
      continue;
    }
    size_t need = (o->len > 1 ? 1 : 0) + seg;
    if (o->spilled > 0 || o->len + need + 1 > o->cap) {  // +1: room for the NUL
      ++o->spilled;
      continue;
    }
    if (o->len > 1) o->buf[o->len++] = '/';
    memcpy(o->buf + o->len, p + start, seg);
    o->len += seg;
  }
}

}  // namespace

size_t join_normalize(const char* base, size_t base_len, const char* rel, size_t rel_len, char* out,
                      size_t cap) noexcept {
  if (out == nullptr || cap < 2) return 0;
  Out o{out, cap, 1, 0};
  out[0] = '/';
  if (!(rel_len > 0 && rel[0] == '/') && base != nullptr) append_segments(base, base_len, &o);
  if (rel != nullptr) append_segments(rel, rel_len, &o);
  if (o.spilled > 0) return 0;
  out[o.len] = '\0';
  return o.len;
}

size_t normalize(const char* path, size_t len, char* out, size_t cap) noexcept {
  // A relative path here is a caller bug; resolving it against "/" would silently check
  // the wrong file, so fail (the caller then fails closed).
  if (path == nullptr || len == 0 || path[0] != '/') return 0;
  return join_normalize(nullptr, 0, path, len, out, cap);
}

bool is_under(const char* path, size_t path_len, const char* dir, size_t dir_len) noexcept {
  // An empty `dir` is not "/": it must not cover every path.
  if (dir_len == 0) return false;
  while (dir_len > 1 && dir[dir_len - 1] == '/') --dir_len;
  if (dir_len == 1 && dir[0] == '/') return path_len > 0 && path[0] == '/';
  if (path_len < dir_len || memcmp(path, dir, dir_len) != 0) return false;
  return path_len == dir_len || path[dir_len] == '/';
}

}  // namespace agentsh::path_util
