// Reaching outside the session: tracer_proc OP [PID [FD]].
// Prints "<op>=ok" or "<op>=<errno name>".
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static int report(const char* op, long r) {
  printf("%s=%s\n", op, r < 0 ? strerrorname_np(errno) : "ok");
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const char* op = argv[1];
  pid_t pid = argc > 2 ? atoi(argv[2]) : 0;
  if (!strcmp(op, "kill")) return report(op, kill(pid, SIGTERM));
  if (!strcmp(op, "kill0")) return report(op, kill(pid, 0));
  if (!strcmp(op, "tgkill")) return report(op, syscall(SYS_tgkill, pid, pid, SIGTERM));
  if (!strcmp(op, "pidfd-kill")) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return report("pidfd_open", fd);
    return report(op, syscall(SYS_pidfd_send_signal, fd, SIGTERM, NULL, 0));
  }
  if (!strcmp(op, "pidfd-getfd")) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0) return report("pidfd_open", fd);
    return report(op, syscall(SYS_pidfd_getfd, fd, argc > 3 ? atoi(argv[3]) : 0, 0));
  }
  if (!strcmp(op, "ptrace")) return report(op, ptrace(PTRACE_ATTACH, pid, 0, 0));
  if (!strcmp(op, "seize")) return report(op, ptrace(PTRACE_SEIZE, pid, 0, 0));
  if (!strcmp(op, "vmread") || !strcmp(op, "vmwrite")) {
    char buf[8] = {0};
    struct iovec l = {buf, sizeof buf}, r = {(void*)0x10000, sizeof buf};
    long n = !strcmp(op, "vmread") ? process_vm_readv(pid, &l, 1, &r, 1, 0)
                                   : process_vm_writev(pid, &l, 1, &r, 1, 0);
    return report(op, n);
  }
  if (!strcmp(op, "environ")) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/environ", pid);
    int fd = open(p, O_RDONLY);
    char c;
    return report(op, fd < 0 ? -1 : read(fd, &c, 1));
  }
  if (!strcmp(op, "mem-write")) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/mem", pid);
    return report(op, open(p, O_RDWR));
  }
  if (!strcmp(op, "io_uring")) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    return report(op, syscall(SYS_io_uring_setup, 4, &params));
  }
  if (!strcmp(op, "userfaultfd")) return report(op, syscall(SYS_userfaultfd, 0));
  if (!strcmp(op, "listener")) {
    struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    struct sock_fprog prog = {1, allow};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    return report(
        op, syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
  }
  if (!strcmp(op, "mount")) return report(op, mount("none", "/mnt", "tmpfs", 0, NULL));
  if (!strcmp(op, "chroot")) return report(op, chroot("/"));
  if (!strcmp(op, "kill-child")) {
    pid_t c = fork();
    if (c == 0) {
      pause();
      _exit(0);
    }
    long r = kill(c, SIGKILL);
    int st;
    waitpid(c, &st, 0);
    report(op, r);
    printf("child-signal=%d\n", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    return 0;
  }
  if (!strcmp(op, "kill-self")) return report(op, raise(SIGUSR1) == 0 ? 0 : -1);
  if (!strcmp(op, "sleep")) {
    sleep(60);
    return 0;
  }
  fprintf(stderr, "unknown op %s\n", op);
  return 2;
}
