/* hook_startup_fd: sets up the snapshot hand-off descriptor (AGENTSH_SNAPSHOT_FD) the way
 * a test needs it, then execs PROG with the hook preloaded ($HOOK_PRELOAD becomes
 * LD_PRELOAD only for PROG: this helper itself runs unhooked).
 *   hook_startup_fd memfd  FD SNAP       -- PROG ARGS...  sealed memfd copy of SNAP at FD
 *   hook_startup_fd forge  FD SNAP OTHER -- PROG ARGS...  FD = OTHER, the variable names
 *                                                          SNAP's dev/ino
 *   hook_startup_fd closed FD SNAP       -- PROG ARGS...  the variable names SNAP, FD is
 *                                                          not open
 *   hook_startup_fd seals                                  (run hooked, e.g. under agentsh
 *       exec) tries to change the descriptor named by $AGENTSH_SNAPSHOT_FD; prints one
 *       line per attempt: "write EPERM", "truncate EPERM", "grow EPERM",
 *       "mmap-shared-write EPERM", then "seals write,grow,shrink,seal" */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char* err_name(int e) {
  switch (e) {
    case 0:
      return "OK";
    case EPERM:
      return "EPERM";
    case EACCES:
      return "EACCES";
    case EBADF:
      return "EBADF";
    case EINVAL:
      return "EINVAL";
    default:
      return "OTHER";
  }
}

static int seals(void) {
  const char* v = getenv("AGENTSH_SNAPSHOT_FD");
  if (v == NULL) {
    printf("no AGENTSH_SNAPSHOT_FD\n");
    return 1;
  }
  int fd = atoi(v);
  errno = 0;
  ssize_t w = write(fd, "x", 1);
  printf("write %s\n", err_name(w < 0 ? errno : 0));
  errno = 0;
  int t = ftruncate(fd, 1);
  printf("truncate %s\n", err_name(t < 0 ? errno : 0));
  struct stat st;
  if (fstat(fd, &st) != 0) return 1;
  errno = 0;
  int g = ftruncate(fd, st.st_size + 4096);
  printf("grow %s\n", err_name(g < 0 ? errno : 0));
  errno = 0;
  void* m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  printf("mmap-shared-write %s\n", err_name(m == MAP_FAILED ? errno : 0));
  int s = fcntl(fd, F_GET_SEALS);
  printf("seals %s%s%s%s\n", (s & F_SEAL_WRITE) ? "write," : "", (s & F_SEAL_GROW) ? "grow," : "",
         (s & F_SEAL_SHRINK) ? "shrink," : "", (s & F_SEAL_SEAL) ? "seal" : "");
  return 0;
}

static int place(int fd, int at) {
  if (fd == at) return 0;
  if (dup2(fd, at) < 0) return -1;
  close(fd);
  return 0;
}

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "seals") == 0) return seals();
  int sep = 0;
  for (int i = 1; i < argc; ++i) {
    if (strcmp(argv[i], "--") == 0) {
      sep = i;
      break;
    }
  }
  if (argc < 5 || sep < 4 || sep + 1 >= argc) {
    fprintf(stderr, "usage: hook_startup_fd memfd|forge|closed FD SNAP [OTHER] -- PROG ARGS...\n");
    return 2;
  }
  const char* mode = argv[1];
  int at = atoi(argv[2]);
  const char* snap = argv[3];
  struct stat st;
  if (strcmp(mode, "memfd") == 0) {
    int mfd = memfd_create("test-snapshot", MFD_ALLOW_SEALING);
    int in = open(snap, O_RDONLY | O_CLOEXEC);
    if (mfd < 0 || in < 0) return 3;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0) {
      if (write(mfd, buf, (size_t)n) != n) return 3;
    }
    close(in);
    if (fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) != 0)
      return 3;
    if (place(mfd, at) != 0 || fstat(at, &st) != 0) return 3;
  } else if (strcmp(mode, "forge") == 0) {
    if (sep != 5 || stat(snap, &st) != 0) return 3;
    int o = open(argv[4], O_RDONLY);
    if (o < 0 || place(o, at) != 0) return 3;
  } else if (strcmp(mode, "closed") == 0) {
    if (stat(snap, &st) != 0) return 3;
    close(at);
  } else {
    return 2;
  }
  char var[128];
  snprintf(var, sizeof var, "%d:%llu:%llu", at, (unsigned long long)st.st_dev,
           (unsigned long long)st.st_ino);
  setenv("AGENTSH_SNAPSHOT_FD", var, 1);
  const char* pre = getenv("HOOK_PRELOAD");
  if (pre != NULL) setenv("LD_PRELOAD", pre, 1);
  execv(argv[sep + 1], argv + sep + 1);
  perror("execv");
  return 127;
}
