/* hook_startup_threads: the lazily mapped syscall gate under concurrency.
 *   hook_startup_threads threads GATE_HEX PATH N   N threads make their first governed
 *                                                 call (open PATH) at the same moment
 *   hook_startup_threads vfork   GATE_HEX PATH     a vfork child makes the process's
 *                                                 first governed call, then the parent
 *   hook_startup_threads fork    GATE_HEX PATH     the parent maps the gate, a fork child
 *                                                 uses the inherited page
 *   hook_startup_threads signal  GATE_HEX PATH     a signal handler interrupts the thread
 *                                                 that is mapping the gate (SIGSYS from a
 *                                                 filter that traps exactly the hook's
 *                                                 mmap) and opens PATH itself: it must not
 *                                                 wait for its own thread (alarm(10)
 *                                                 kills a deadlock). The handler then
 *                                                 performs the mmap for the trapped call.
 * Before the first three a seccomp filter fails openat/openat2 with EPERM unless they come
 * from the gate page (what the tracer's filter lets through without a stop), so an open
 * made with a plain syscall — a thread that did not wait for the page another thread was
 * mapping — shows up as "ERR EPERM". Prints "before=no|yes", one result line per mode
 * ("opened N/N", "child OK", "parent OK"), then "mapped=yes|no". */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

static long g_maps = -1;

static int gate_mapped(unsigned long gate) {
  static char buf[1 << 16];
  char want[64];
  snprintf(want, sizeof want, "%lx-", gate);
  if (syscall(SYS_lseek, g_maps, 0, SEEK_SET) != 0) return -1;
  size_t len = 0;
  for (;;) {
    long n = syscall(SYS_read, g_maps, buf + len, sizeof buf - 1 - len);
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

static int gate_only_filter(unsigned long gate) {
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
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static const char* g_path;
static unsigned long g_gate;
static volatile int g_handler_ok = -1;

/* SIGSYS: the hook's gate mmap was trapped mid-mapping. Open the file from here (the hook
 * is "busy mapping" in this very thread), then do the mmap for the trapped call with a
 * flag the filter lets through. */
static void on_sigsys(int sig, siginfo_t* si, void* ctx) {
  (void)sig;
  (void)si;
  int fd = open(g_path, O_RDONLY);
  g_handler_ok = fd >= 0 ? 1 : 0;
  if (fd >= 0) close(fd);
  ucontext_t* uc = (ucontext_t*)ctx;
  long r = syscall(SYS_mmap, g_gate, 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE | MAP_NORESERVE, -1, 0);
  uc->uc_mcontext.gregs[REG_RAX] = r;
}

static int trap_gate_mmap_filter(unsigned long gate) {
  unsigned int lo = (unsigned int)(gate & 0xffffffffu);
  unsigned int hi = (unsigned int)(gate >> 32);
  unsigned int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 0, 7),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, lo, 0, 5),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0]) + 4),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, hi, 0, 3),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[3])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, flags, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof f / sizeof f[0], f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}
static pthread_barrier_t g_barrier;
static int g_ok = 0;
static int g_err[4];

static void* worker(void* arg) {
  (void)arg;
  pthread_barrier_wait(&g_barrier);
  int fd = open(g_path, O_RDONLY);
  if (fd >= 0) {
    __atomic_add_fetch(&g_ok, 1, __ATOMIC_RELAXED);
    close(fd);
  } else {
    g_err[errno == EPERM ? 0 : errno == EACCES ? 1 : 2] = 1;
  }
  return NULL;
}

static const char* open_result(const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd >= 0) {
    close(fd);
    return "OK";
  }
  return errno == EPERM ? "ERR EPERM" : errno == EACCES ? "ERR EACCES" : "ERR OTHER";
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: hook_startup_threads threads|vfork|fork GATE_HEX PATH [N]\n");
    return 2;
  }
  const char* mode = argv[1];
  unsigned long gate = strtoul(argv[2], NULL, 16);
  g_path = argv[3];
  g_maps = syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC);
  printf("before=%s\n", gate_mapped(gate) == 1 ? "yes" : "no");
  fflush(stdout);
  if (strcmp(mode, "signal") == 0) {
    g_gate = gate;
    alarm(10); /* a handler waiting for its own thread would hang: die instead */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigsys;
    sa.sa_flags = SA_SIGINFO;
    if (sigaction(SIGSYS, &sa, NULL) != 0 || trap_gate_mmap_filter(gate) != 0) {
      perror("setup");
      return 1;
    }
    const char* r = open_result(g_path);
    printf("handler %s\n", g_handler_ok == 1 ? "OK" : g_handler_ok == 0 ? "ERR" : "not run");
    printf("main %s\n", r);
    printf("mapped=%s\n", gate_mapped(gate) == 1 ? "yes" : "no");
    return 0;
  }
  if (gate_only_filter(gate) != 0) {
    perror("seccomp");
    return 1;
  }
  if (strcmp(mode, "threads") == 0) {
    int n = argc > 4 ? atoi(argv[4]) : 8;
    if (n < 1 || n > 256) return 2;
    pthread_t t[256];
    pthread_barrier_init(&g_barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; ++i) pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < n; ++i) pthread_join(t[i], NULL);
    printf("opened %d/%d%s%s%s\n", g_ok, n, g_err[0] ? " EPERM" : "", g_err[1] ? " EACCES" : "",
           g_err[2] ? " OTHER" : "");
  } else if (strcmp(mode, "vfork") == 0) {
    pid_t pid = vfork();
    if (pid == 0) {
      int fd = open(g_path, O_RDONLY); /* the hook allocates nothing here */
      _exit(fd >= 0 ? 0 : (errno == EPERM ? 3 : 4));
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("child %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0   ? "OK"
                         : WIFEXITED(st) && WEXITSTATUS(st) == 3 ? "ERR EPERM"
                                                                 : "ERR OTHER");
    printf("parent %s\n", open_result(g_path));
  } else if (strcmp(mode, "fork") == 0) {
    printf("parent %s\n", open_result(g_path));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      printf("child %s\n", open_result(g_path));
      fflush(stdout);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
  } else {
    return 2;
  }
  printf("mapped=%s\n", gate_mapped(gate) == 1 ? "yes" : "no");
  return 0;
}
