/* hook_gate: proves the hook's governed syscalls come from the syscall gate page, and
 * that the page is mapped lazily (by the first governed call, not at start-up).
 * Usage: hook_gate GATE_HEX PATH
 * Prints "before=yes|no" (is there an r-x mapping at GATE before any governed call),
 * then installs a seccomp filter that fails openat2 and openat with EPERM unless the
 * instruction pointer lies in [GATE, GATE+4096) — the contract the tracer's filter relies
 * on (openat too: a hook that finds openat2 refused falls back to openat) — opens
 * PATH (which the hook performs with openat2) and prints "open OK" / "open ERR <errno>",
 * then "mapped=yes|no" again. /proc/self/maps is read with raw syscalls, so reading it
 * is not itself a governed call. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Is there an r-x mapping starting at `gate`? Reads /proc/self/maps from `fd` (opened
 * before the filter) with raw syscalls only (not through the hook). */
static int gate_mapped(long fd, unsigned long gate) {
  static char buf[1 << 16];
  char want[64];
  snprintf(want, sizeof want, "%lx-", gate);
  if (syscall(SYS_lseek, fd, 0, SEEK_SET) != 0) return -1;
  size_t len = 0;
  for (;;) {
    long n = syscall(SYS_read, fd, buf + len, sizeof buf - 1 - len);
    if (n <= 0) break;
    len += (size_t)n;
    if (len == sizeof buf - 1) break;
  }
  buf[len] = '\0';
  for (char* line = buf; line != NULL && *line != '\0';) {
    char* nl = strchr(line, '\n');
    if (nl != NULL) *nl = '\0';
    if (strncmp(line, want, strlen(want)) == 0 && strstr(line, " r-xp ") != NULL) return 1;
    line = nl != NULL ? nl + 1 : NULL;
  }
  return 0;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: hook_gate GATE_HEX PATH\n");
    return 2;
  }
  unsigned long gate = strtoul(argv[1], NULL, 16);
  long maps = syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
  printf("before=%s\n", gate_mapped(maps, gate) == 1 ? "yes" : "no");

  unsigned int lo = (unsigned int)(gate & 0xffffffffu);
  unsigned int hi = (unsigned int)(gate >> 32);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 2, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer)),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 1),
      BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo + 4096, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
    perror("seccomp");
    return 1;
  }
  int fd = open(argv[2], O_RDONLY);
  if (fd >= 0)
    printf("open OK\n");
  else
    printf("open ERR %s\n", errno == EPERM ? "EPERM" : errno == EACCES ? "EACCES" : "OTHER");
  printf("mapped=%s\n", gate_mapped(maps, gate) == 1 ? "yes" : "no");
  return 0;
}
