#include "tracer/remote_memory.h"

#include <sys/uio.h>

#include <cerrno>
#include <cstring>

namespace agentsh::tracer::remote_memory {

namespace {
constexpr uint64_t kPage = 4096;
}

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

int read_string_array(pid_t tid, uint64_t addr, size_t max_total, size_t max_count,
                      std::vector<std::string>* out) {
  out->clear();
  if (addr == 0) return 0;  // execve(path, NULL, ...) is an empty argv on Linux
  size_t total = 0;
  uint64_t ptrs[64];
  for (size_t index = 0;;) {
    // Read pointers in batches, never past the page the next pointer is on (the array may
    // end right before an unmapped page).
    uint64_t base = addr + index * 8;
    size_t in_page = (kPage - base % kPage) / 8;
    size_t got = in_page == 0 ? 1 : (in_page < 64 ? in_page : 64);
    int r = read(tid, base, ptrs, got * 8);
    if (r < 0) return r;
    for (size_t k = 0; k < got; ++k) {
      if (ptrs[k] == 0) return 0;
      if (out->size() >= max_count) return -E2BIG;
      std::string s;
      r = read_string(tid, ptrs[k], max_total - total, &s);
      if (r == -ENAMETOOLONG) return -E2BIG;
      if (r < 0) return r;
      total += s.size() + 1;
      out->push_back(std::move(s));
    }
    index += got;
  }
}

}  // namespace agentsh::tracer::remote_memory
