#include "tracer/remote_memory.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace agentsh::tracer::remote_memory {

namespace {
constexpr uint64_t kPage = 4096;
constexpr size_t kHead = 256;           // bytes read past the last string of a span
constexpr uint64_t kMaxSpan = 1 << 20;  // bytes read at most in one span
}  // namespace

int read(pid_t tid, uint64_t addr, void* buf, size_t len) {
  if (len == 0) return 0;
  if (addr == 0) return -EFAULT;
  size_t done = 0;
  while (done < len) {
    iovec local{static_cast<char*>(buf) + done, len - done};
    iovec remote{reinterpret_cast<void*>(addr + done), len - done};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n < 0) return -errno;
    if (n == 0) return -EFAULT;
    done += static_cast<size_t>(n);
  }
  return 0;
}

int read_string(pid_t tid, uint64_t addr, size_t max, std::string* out) {
  out->clear();
  if (addr == 0) return -EFAULT;
  char chunk[kPage];
  // Most paths are short: the first read takes 256 bytes, later ones the rest of a page.
  size_t first = 256;
  while (out->size() <= max) {
    // Never cross a page boundary in one read: the next page may be unmapped although
    // the string ends before it.
    size_t want = kPage - (addr % kPage);
    if (first != 0 && want > first) want = first;
    first = 0;
    iovec local{chunk, want};
    iovec remote{reinterpret_cast<void*>(addr), want};
    ssize_t n = process_vm_readv(tid, &local, 1, &remote, 1, 0);
    if (n <= 0) return n < 0 ? -errno : -EFAULT;
    const void* nul = memchr(chunk, '\0', static_cast<size_t>(n));
    if (nul != nullptr) {
      out->append(chunk, static_cast<const char*>(nul) - chunk);
      return out->size() <= max ? 0 : -ENAMETOOLONG;
    }
    out->append(chunk, static_cast<size_t>(n));
    addr += static_cast<uint64_t>(n);
  }
  return -ENAMETOOLONG;
}

namespace {

// read_string_array with `ptrs` holding the words already read from `addr` on (none, or
// the rest of addr's page).
int read_string_array_from(pid_t tid, uint64_t addr, std::vector<uint64_t> ptrs, size_t max_total,
                           size_t max_count, std::vector<std::string>* out) {
  out->clear();
  if (addr == 0) return 0;  // execve(path, NULL, ...) is an empty argv on Linux
  // 1. The pointers, a page at a time (the array may end right before an unmapped page).
  bool complete = false;
  if (!ptrs.empty()) {
    size_t k = 0;
    while (k < ptrs.size() && ptrs[k] != 0) ++k;
    complete = k < ptrs.size();
    ptrs.resize(k);
    if (!complete && ptrs.size() > max_count) return -E2BIG;
  }
  while (!complete) {
    uint64_t base = addr + ptrs.size() * 8;
    size_t in_page = (kPage - base % kPage) / 8;
    size_t want = in_page == 0 ? 1 : in_page;
    size_t at = ptrs.size();
    ptrs.resize(at + want);
    int r = read(tid, base, ptrs.data() + at, want * 8);
    if (r < 0) return r;
    size_t k = at;
    while (k < ptrs.size() && ptrs[k] != 0) ++k;
    if (k < ptrs.size()) {
      ptrs.resize(k);
      break;
    }
    if (ptrs.size() > max_count) return -E2BIG;
  }
  if (ptrs.size() > max_count) return -E2BIG;
  // 2. The strings. Programs build argv in one buffer (the kernel's stack copy, xargs'
  // command buffer): strings lying close together are read as one span with one
  // process_vm_readv. One read per string cost milliseconds for an xargs argv of
  // thousands. A string whose NUL is not inside its span is read on its own.
  const size_t n = ptrs.size();
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return ptrs[a] < ptrs[b]; });
  // Filled in place, in argv order (no second copy of a large argv).
  out->resize(n);
  std::vector<std::string>& strs = *out;
  std::vector<char> found(n, 0);
  std::vector<char> buf;
  for (size_t i = 0; i < n;) {
    const uint64_t start = ptrs[order[i]];
    uint64_t last = start;
    size_t j = i;
    while (j < n && ptrs[order[j]] - last <= kPage && ptrs[order[j]] - start < kMaxSpan) {
      last = ptrs[order[j]];
      ++j;
    }
    // Up to kHead bytes past the last string's start, not past its page.
    uint64_t end = last + kHead;
    uint64_t page_end = (last / kPage + 1) * kPage;
    if (end > page_end || end < last) end = page_end;
    size_t len = static_cast<size_t>(end - start);
    buf.resize(len);
    iovec local{buf.data(), len};
    iovec remote{reinterpret_cast<void*>(start), len};
    ssize_t got = start == 0 ? -1 : process_vm_readv(tid, &local, 1, &remote, 1, 0);
    for (size_t k = i; k < j && got > 0; ++k) {
      size_t off = static_cast<size_t>(ptrs[order[k]] - start);
      if (off >= static_cast<size_t>(got)) break;
      const char* p = buf.data() + off;
      const void* nul = memchr(p, '\0', static_cast<size_t>(got) - off);
      if (nul == nullptr) continue;
      strs[order[k]].assign(p, static_cast<const char*>(nul) - p);
      found[order[k]] = 1;
    }
    i = j;
  }
  // 3. In argv order, with the limits (and the errors) of reading one by one.
  size_t total = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!found[k]) {
      int r = read_string(tid, ptrs[k], max_total - total, &strs[k]);
      if (r == -ENAMETOOLONG) return -E2BIG;
      if (r < 0) return r;
    } else if (strs[k].size() > max_total - total) {
      return -E2BIG;
    }
    total += strs[k].size() + 1;
    if (total > max_total) return -E2BIG;
  }
  return 0;
}

}  // namespace

int read_string_array(pid_t tid, uint64_t addr, size_t max_total, size_t max_count,
                      std::vector<std::string>* out) {
  return read_string_array_from(tid, addr, {}, max_total, max_count, out);
}

int read_exec_args(pid_t tid, uint64_t path_addr, size_t path_max, uint64_t argv_addr,
                   size_t max_total, size_t max_count, std::string* path,
                   std::vector<std::string>* argv) {
  path->clear();
  argv->clear();
  if (path_addr == 0) return -EFAULT;
  // One process_vm_readv for the path's first chunk (as read_string reads it) and the
  // rest of the argv pointer array's page (as read_string_array reads it). The kernel
  // never splits one iovec of a partial transfer: a short count says which part came.
  char head[256];
  const size_t plen = std::min<size_t>(sizeof head, kPage - path_addr % kPage);
  std::vector<uint64_t> words;
  iovec local[2], remote[2];
  local[0] = {head, plen};
  remote[0] = {reinterpret_cast<void*>(path_addr), plen};
  int count = 1;
  if (argv_addr != 0 && (kPage - argv_addr % kPage) >= 8) {
    words.resize((kPage - argv_addr % kPage) / 8);
    local[1] = {words.data(), words.size() * 8};
    remote[1] = {reinterpret_cast<void*>(argv_addr), words.size() * 8};
    count = 2;
  }
  ssize_t n = process_vm_readv(tid, local, count, remote, count, 0);
  if (count == 2 && n != static_cast<ssize_t>(plen + words.size() * 8)) words.clear();
  const void* nul = n >= static_cast<ssize_t>(plen) ? memchr(head, '\0', plen) : nullptr;
  if (nul != nullptr) {
    path->assign(head, static_cast<const char*>(nul) - head);
    if (path->size() > path_max) return -ENAMETOOLONG;
  } else if (int r = read_string(tid, path_addr, path_max, path); r < 0) {
    return r;  // as read_string would have failed
  }
  return read_string_array_from(tid, argv_addr, std::move(words), max_total, max_count, argv);
}

}  // namespace agentsh::tracer::remote_memory
