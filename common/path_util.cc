#include "common/path_util.h"

#include <cstring>

namespace agentsh::path_util {

namespace {

// Appends the segments of `p` to out[0..*len), applying "." and "..".
bool append_segments(const char* p, size_t n, char* out, size_t cap, size_t* len) noexcept {
  size_t i = 0;
  while (i < n) {
    while (i < n && p[i] == '/') ++i;
    size_t start = i;
    while (i < n && p[i] != '/') ++i;
    size_t seg = i - start;
    if (seg == 0 || (seg == 1 && p[start] == '.')) continue;
    if (seg == 2 && p[start] == '.' && p[start + 1] == '.') {
      // Pop the last segment; "/" stays "/".
      while (*len > 1 && out[*len - 1] != '/') --(*len);
      if (*len > 1) --(*len);
      continue;
    }
    size_t need = (*len > 1 ? 1 : 0) + seg;
    if (*len + need + 1 > cap) return false;
    if (*len > 1) out[(*len)++] = '/';
    memcpy(out + *len, p + start, seg);
    *len += seg;
  }
  return true;
}

}  // namespace

size_t join_normalize(const char* base, size_t base_len, const char* rel, size_t rel_len,
                      char* out, size_t cap) noexcept {
  if (cap < 2) return 0;
  size_t len = 1;
  out[0] = '/';
  if (!(rel_len > 0 && rel[0] == '/')) {
    if (!append_segments(base, base_len, out, cap, &len)) return 0;
  }
  if (!append_segments(rel, rel_len, out, cap, &len)) return 0;
  out[len] = '\0';
  return len;
}

size_t normalize(const char* path, size_t len, char* out, size_t cap) noexcept {
  return join_normalize("/", 1, path, len, out, cap);
}

bool is_under(const char* path, size_t path_len, const char* dir, size_t dir_len) noexcept {
  while (dir_len > 1 && dir[dir_len - 1] == '/') --dir_len;
  if (dir_len == 1 && dir[0] == '/') return path_len > 0 && path[0] == '/';
  if (path_len < dir_len || memcmp(path, dir, dir_len) != 0) return false;
  return path_len == dir_len || path[dir_len] == '/';
}

}  // namespace agentsh::path_util
