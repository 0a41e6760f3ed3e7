// The hook's own system calls (see sys.h). House rules: no exceptions, no malloc, no
// locks, no stdio, errno untouched; async-signal-safe.
#include "preload/sys.h"

#include <cerrno>

namespace agentsh::hook::sys {

arch::GateFn g_gate = nullptr;
int g_gate_pending = 0;

long write_all(int fd, const void* buf, size_t n) noexcept {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    long r = write(fd, p, n);
    if (r == -EINTR) continue;
    if (r <= 0) return r < 0 ? r : -EIO;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return 0;
}

}  // namespace agentsh::hook::sys
