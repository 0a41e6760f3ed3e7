/* hook_gate: proves the hook's governed syscalls come from the syscall gate page.
 * Usage: hook_gate GATE_HEX PATH
 * Installs a seccomp filter that fails openat2 with EPERM unless the instruction pointer
 * lies in [GATE, GATE+4096) — the contract the tracer's filter relies on — then opens
 * PATH (which the hook performs with openat2). Prints "mapped=yes|no" (is there an r-x
 * mapping at GATE) and "open OK" / "open ERR <errno>". */
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

int main(int argc, char** argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: hook_gate GATE_HEX PATH\n");
    return 2;
  }
  unsigned long gate = strtoul(argv[1], NULL, 16);
  char want[64];
  snprintf(want, sizeof want, "%lx-", gate);
  int mapped = 0;
  FILE* maps = fopen("/proc/self/maps", "r");
  char line[512];
  while (maps && fgets(line, sizeof line, maps)) {
    if (strncmp(line, want, strlen(want)) == 0 && strstr(line, " r-xp ") != NULL) mapped = 1;
  }
  if (maps) fclose(maps);
  printf("mapped=%s\n", mapped ? "yes" : "no");

  unsigned int lo = (unsigned int)(gate & 0xffffffffu);
  unsigned int hi = (unsigned int)(gate >> 32);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 1, 0),
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
  return 0;
}
