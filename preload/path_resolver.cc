// Path resolution for the hook (see path_resolver.h). House rules: no exceptions, no
// malloc, no locks, no stdio, raw syscalls through sys::call, errno untouched.
#include "preload/path_resolver.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "common/path_util.h"
#include "preload/cwd_cache.h"
#include "preload/line_buf.h"
#include "preload/symlink_cache.h"
#include "preload/sys.h"

namespace agentsh::hook::path_resolver {

namespace {

constexpr int kMaxLinks = 40;  // the kernel's MAXSYMLINKS
constexpr size_t kRestCap = 2 * kPathMax;
constexpr char kDeleted[] = " (deleted)";
constexpr size_t kDeletedLen = sizeof kDeleted - 1;

// Already normalised: absolute, no "//", no "." or ".." segment, no trailing '/'.
// Hops from slash to slash with memchr: a handful of steps for a typical path.
bool is_clean(const char* p, size_t n) noexcept {
  if (n == 0 || p[0] != '/') return false;
  if (n == 1) return true;
  if (p[n - 1] == '/') return false;
  const char* end = p + n;
  for (const char* q = p; q != nullptr && q < end;
       q = static_cast<const char*>(memchr(q + 1, '/', static_cast<size_t>(end - q - 1)))) {
    const char* s = q + 1;  // the segment after this slash (non-empty: no trailing '/')
    if (*s == '/') return false;
    if (*s == '.') {
      size_t left = static_cast<size_t>(end - s);
      if (left == 1 || s[1] == '/') return false;
      if (s[1] == '.' && (left == 2 || s[2] == '/')) return false;
    }
  }
  return true;
}

// "x/", "x/.", "x/..", ".", "..": the final component must be a directory.
bool ends_dirish(const char* p, size_t n) noexcept {
  if (n == 0) return false;
  if (p[n - 1] == '/') return true;
  size_t i = n;
  while (i > 0 && p[i - 1] == '.') --i;
  size_t dots = n - i;
  return (dots == 1 || dots == 2) && (i == 0 || p[i - 1] == '/');
}

bool ends_with_deleted(const char* p, size_t n) noexcept {
  return n >= kDeletedLen && memcmp(p + n - kDeletedLen, kDeleted, kDeletedLen) == 0;
}

// "/proc/<x>/<y>…": an entry inside a process directory, where symlinks are magic.
bool inside_proc_pid(const char* p, size_t n) noexcept {
  if (n < 8 || memcmp(p, "/proc/", 6) != 0) return false;
  size_t i = 6;
  while (i < n && p[i] != '/') ++i;
  return i > 6 && i + 1 < n;
}

// Rewrites "/proc/<own pid>[/…]" as "/proc/self[/…]" in place (the result is shorter
// or equal), so policies written for /proc/self match what resolution produced.
size_t canonical_proc_self(char* p, size_t n) noexcept {
  if (n < 7 || memcmp(p, "/proc/", 6) != 0 || p[6] < '0' || p[6] > '9') return n;
  size_t i = 6;
  long v = 0;
  while (i < n && p[i] >= '0' && p[i] <= '9') {
    v = v * 10 + (p[i] - '0');
    if (v > (1l << 31)) return n;
    ++i;
  }
  if (i < n && p[i] != '/') return n;
  if (v != sys::getpid()) return n;
  constexpr char kSelf[] = "/proc/self";
  constexpr size_t kSelfLen = sizeof kSelf - 1;
  size_t tail = n - i;
  if (kSelfLen > i) return n;  // "/proc/1" is shorter than "/proc/self": leave it
  memcpy(p, kSelf, kSelfLen);
  memmove(p + kSelfLen, p + i, tail);
  p[kSelfLen + tail] = '\0';
  return kSelfLen + tail;
}

}  // namespace

long fd_path(int fd, char* out, size_t cap) noexcept {
  LineBuf link;
  link.add("/proc/self/fd/").add_int(fd);
  long n = sys::readlinkat(AT_FDCWD, link.data(), out, cap - 1);
  if (n == -ENOENT) return -EBADF;
  if (n < 0) return n;
  if (static_cast<size_t>(n) >= cap - 1) return -ENAMETOOLONG;
  out[n] = '\0';
  if (n == 0 || out[0] != '/') return -ENOTDIR;  // pipe:[…], socket:[…], anon_inode:…
  if (ends_with_deleted(out, static_cast<size_t>(n))) return -ENOENT;
  return n;
}

long build(int dirfd, const char* path, Target* t) noexcept {
  if (path == nullptr) return -EFAULT;
  size_t plen = strnlen(path, kPathMax);
  if (plen >= kPathMax) return -ENAMETOOLONG;
  if (plen == 0) return -ENOENT;
  t->trailing_slash = ends_dirish(path, plen);
  t->cwd_cached = false;

  const char* abs = path;
  size_t alen = plen;
  if (path[0] != '/') {
    long base;
    if (dirfd == AT_FDCWD) {
      base = CwdCache::get().getcwd(t->open_buf, kPathMax, &t->cwd_cached);
      if (base == -ERANGE) return -ENAMETOOLONG;  // a cwd longer than PATH_MAX
      if (base < 0) return base;                  // ENOENT: the cwd was removed
      if (t->open_buf[0] != '/') return -ENOENT;  // "(unreachable)…": outside our root
      base -= 1;                                  // the kernel counts the NUL
    } else {
      base = fd_path(dirfd, t->open_buf, kPathMax);
      if (base < 0) return base;
    }
    size_t b = static_cast<size_t>(base);
    if (b + 1 + plen + 1 > kPathMax) return -ENAMETOOLONG;
    if (b > 1) t->open_buf[b++] = '/';
    memcpy(t->open_buf + b, path, plen + 1);
    abs = t->open_buf;
    alen = b + plen;
  }

  // Merged-/usr: "/lib/…" becomes "/usr/lib/…" before anything decides on it.
  size_t rl = SymlinkCache::get().rewrite(abs, alen, t->dpath_buf, kPathMax);
  if (rl != 0) {
    memcpy(t->open_buf, t->dpath_buf, rl + 1);
    abs = t->open_buf;
    alen = rl;
  }
  t->open = abs;
  t->open_len = alen;

  if (is_clean(abs, alen)) {
    t->dpath = abs;
    t->dlen = alen;
    return 0;
  }
  size_t n = path_util::normalize(abs, alen, t->dpath_buf, kPathMax);
  if (n == 0) return -ENAMETOOLONG;
  t->dpath = t->dpath_buf;
  t->dlen = n;
  return 0;
}

long resolve(const char* abs, size_t len, bool follow_final, Resolved* r) noexcept {
  char rest[kRestCap];  // the path still to walk sits at the end: [pos, kRestCap)
  if (len == 0 || abs[0] != '/') return -ENOENT;
  if (len >= kRestCap) return -ENAMETOOLONG;
  size_t end = kRestCap;
  size_t pos = end - len;
  memcpy(rest + pos, abs, len);

  char* out = r->open;
  size_t olen = 1;
  out[0] = '/';
  out[1] = '\0';
  r->magic = r->final_symlink = r->broken = false;
  int links = 0;

  // A top-level symlink being expanded: once the walk is past its target text, `out`
  // holds what "/name" resolves to, and the SymlinkCache may learn it.
  char pend_name[64];
  size_t pend_len = 0;
  size_t pend_stop = 0;

  char* link = r->dpath;  // scratch for readlink; dpath is written at the very end
  for (;;) {
    while (pos < end && rest[pos] == '/') ++pos;
    if (pend_len != 0 && pos >= pend_stop) {
      SymlinkCache::get().remember(pend_name, pend_len, out, olen);
      pend_len = 0;
    }
    if (pos == end) break;
    size_t cs = pos;
    while (pos < end && rest[pos] != '/') ++pos;
    size_t cl = pos - cs;
    size_t q = pos;
    while (q < end && rest[q] == '/') ++q;
    bool last = (q == end);

    if (cl == 1 && rest[cs] == '.') continue;
    if (cl == 2 && rest[cs] == '.' && rest[cs + 1] == '.') {
      while (olen > 1 && out[olen - 1] != '/') --olen;
      if (olen > 1) --olen;
      out[olen] = '\0';
      continue;
    }
    size_t parent_len = olen;
    size_t need = (olen > 1 ? 1 : 0) + cl;
    if (olen + need + 1 > kPathMax) return -ENAMETOOLONG;
    if (olen > 1) out[olen++] = '/';
    memcpy(out + olen, rest + cs, cl);
    olen += cl;
    out[olen] = '\0';

    long n = sys::readlinkat(AT_FDCWD, out, link, kPathMax);
    if (n == -EINVAL) continue;  // exists and is not a symlink
    if (n < 0) {
      if (last) break;  // a missing final component: fine for create, else the op fails
      // Cannot walk on (ENOENT, ENOTDIR, EACCES…): keep the rest raw; the strict
      // operation on this path fails exactly where the kernel would have.
      size_t tail = end - pos;
      if (olen + tail + 1 > kPathMax) return -ENAMETOOLONG;
      memcpy(out + olen, rest + pos, tail);
      olen += tail;
      out[olen] = '\0';
      r->broken = true;
      break;
    }
    if (static_cast<size_t>(n) >= kPathMax) return -ENAMETOOLONG;
    if (last && !follow_final) {
      r->final_symlink = true;
      break;
    }
    if (++links > kMaxLinks) return -ELOOP;
    if (inside_proc_pid(out, olen) &&
        (link[0] != '/' || ends_with_deleted(link, static_cast<size_t>(n)))) {
      // A magic link to something without a path (pipe:[…], a deleted file…): the
      // object is one the process already holds. Stop here; a path going on below it
      // fails with ENOTDIR when the kernel walks it.
      r->magic = true;
      if (!last) {
        size_t tail = end - pos;
        if (olen + tail + 1 > kPathMax) return -ENAMETOOLONG;
        memcpy(out + olen, rest + pos, tail);
        olen += tail;
        out[olen] = '\0';
        r->broken = true;
      }
      break;
    }
    if (parent_len == 1 && pend_len == 0 && olen < sizeof pend_name) {
      memcpy(pend_name, out, olen);  // "/name": a top-level link
      pend_len = olen;
      pend_stop = pos;
    }
    // Replace the component by the link's target: absolute targets restart at "/".
    olen = link[0] == '/' ? 1 : parent_len;
    out[olen] = '\0';
    size_t ln = static_cast<size_t>(n);
    if (pos < ln + 1) return -ENAMETOOLONG;
    rest[--pos] = '/';
    pos -= ln;
    memmove(rest + pos, link, ln);
  }
  r->open_len = olen;

  size_t d = path_util::normalize(out, olen, r->dpath, kPathMax);
  if (d == 0) return -ENAMETOOLONG;
  r->dlen = canonical_proc_self(r->dpath, d);
  return 0;
}

void restore_tail(const char* raw, size_t raw_len, Resolved* r) noexcept {
  if (r->broken || raw_len < 2 || r->open_len <= 1) return;
  const char* add;
  if (raw[raw_len - 1] == '/') {
    add = "/";
  } else if (raw[raw_len - 1] == '.' && raw[raw_len - 2] == '/') {
    add = "/.";
  } else {
    return;  // no tail, or ".." (already applied by the walk)
  }
  size_t al = strlen(add);
  if (r->open[r->open_len - 1] == '/' || r->open_len + al + 1 > kPathMax) return;
  memcpy(r->open + r->open_len, add, al + 1);
  r->open_len += al;
}

long split_parent(const char* path, size_t len, char* parent, size_t cap,
                  const char** last) noexcept {
  size_t e = len;
  while (e > 1 && path[e - 1] == '/') --e;  // keep trailing slashes on the last part
  size_t s = e;
  while (s > 0 && path[s - 1] != '/') --s;
  *last = path + s;
  size_t plen = s;
  while (plen > 1 && path[plen - 1] == '/') --plen;
  if (plen == 0) plen = 1;
  if (plen + 1 > cap) return -ENAMETOOLONG;
  memcpy(parent, path, plen);
  parent[plen] = '\0';
  if (s == 0 || e <= 1) *last = path + len;  // "/" itself: no final component
  return static_cast<long>(plen);
}

}  // namespace agentsh::hook::path_resolver
