// Plays the hook's part of the syscall gate: tracer_gate GATE_HEX DENIED_PATH EXEC_TARGET
// MARKER. Maps the gate page the way the hook does, opens DENIED_PATH through it (the
// tracer lets it run: the hook is trusted to have decided), tries the same open with a raw
// syscall outside the gate (decided by the tracer), tries exec through the gate (still
// decided by the tracer), then tries to tamper with the sealed page.
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef long (*gate_fn)(long nr, long a, long b, long c, long d, long e, long f);

// mov rax,rdi; mov rdi,rsi; mov rsi,rdx; mov rdx,rcx; mov r10,r8; mov r8,r9;
// mov r9,[rsp+8]; syscall; ret
static const unsigned char kTrampoline[] = {0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6,
                                            0x48, 0x89, 0xca, 0x4d, 0x89, 0xc2, 0x4d, 0x89, 0xc8,
                                            0x4c, 0x8b, 0x4c, 0x24, 0x08, 0x0f, 0x05, 0xc3};

static void report(const char* op, long r) {
  printf("%s=%s\n", op, r < 0 ? strerrorname_np(r < -1 ? (int)-r : errno) : "ok");
  fflush(stdout);
}

extern char** environ;

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  uintptr_t gate = strtoull(argv[1], NULL, 16);
  const char* denied = argv[2];
  void* p = mmap((void*)gate, 4096, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  report("gate-map", p == MAP_FAILED ? -1 : 0);
  if (p == MAP_FAILED) return 0;
  memcpy(p, kTrampoline, sizeof kTrampoline);
  report("gate-seal", mprotect(p, 4096, PROT_READ | PROT_EXEC));
  gate_fn g = (gate_fn)p;

  long fd = g(SYS_openat, AT_FDCWD, (long)denied, O_RDONLY, 0, 0, 0);
  report("gate-open", fd);  // raw return: negative errno on failure
  if (fd >= 0) close((int)fd);
  report("raw-open", syscall(SYS_openat, AT_FDCWD, denied, O_RDONLY));

  report("tamper-mprotect", mprotect(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC));
  report("tamper-gate-mprotect", g(SYS_mprotect, (long)p, 4096, PROT_READ | PROT_WRITE, 0, 0, 0));
  report("tamper-munmap", munmap(p, 4096));
  void* other = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  report("tamper-mremap",
         mremap(other, 4096, 4096, MREMAP_MAYMOVE | MREMAP_FIXED, p) == MAP_FAILED ? -1 : 0);
  report("tamper-fixed", mmap(p, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED
                             ? -1
                             : 0);

  char* args[] = {argv[3], argv[4], NULL};
  long r = g(SYS_execve, (long)argv[3], (long)args, (long)environ, 0, 0, 0);
  report("gate-exec", r);
  return 0;
}
