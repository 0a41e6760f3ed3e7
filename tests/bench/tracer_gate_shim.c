// A stand-in for the hook's fast path, for tests/bench/tracer_bench.sh only: maps the
// syscall gate at $AGENTSH_BENCH_GATE exactly as the hook does and sends open/openat
// through it — without any policy check (a zero-cost hook). It shows what the tracer
// still costs when the hook takes the common path. Not a .c in tests/cases on purpose:
// the bench script builds it as a shared object.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*gate_fn)(long, long, long, long, long, long, long);
static gate_fn gate;

static const unsigned char kCode[] = {0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6,
                                      0x48, 0x89, 0xca, 0x4d, 0x89, 0xc2, 0x4d, 0x89, 0xc8,
                                      0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05, 0xc3};

__attribute__((constructor)) static void init(void) {
  const char* g = getenv("AGENTSH_BENCH_GATE");
  if (!g) return;
  uintptr_t addr = strtoull(g, NULL, 16);
  void* p = (void*)syscall(SYS_mmap, addr, 4096, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if ((uintptr_t)p != addr) return;
  memcpy(p, kCode, sizeof kCode);
  if (syscall(SYS_mprotect, p, 4096, PROT_READ | PROT_EXEC) != 0) return;
  gate = (gate_fn)p;
}

static long ret(long r) {
  if (r < 0 && r > -4096) {
    errno = (int)-r;
    return -1;
  }
  return r;
}

static int do_openat(int dirfd, const char* path, int flags, mode_t mode) {
  if (!gate) return (int)syscall(SYS_openat, dirfd, path, flags, mode);
  return (int)ret(gate(SYS_openat, dirfd, (long)path, flags, mode, 0, 0));
}

static mode_t mode_of(int flags, va_list ap) {
  return (flags & (O_CREAT | __O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char* p, int f, ...) {
  va_list ap;
  va_start(ap, f);
  mode_t m = mode_of(f, ap);
  va_end(ap);
  return do_openat(AT_FDCWD, p, f, m);
}
int open64(const char* p, int f, ...) __attribute__((alias("open")));
int openat(int d, const char* p, int f, ...) {
  va_list ap;
  va_start(ap, f);
  mode_t m = mode_of(f, ap);
  va_end(ap);
  return do_openat(d, p, f, m);
}
int openat64(int d, const char* p, int f, ...) __attribute__((alias("openat")));
