// Every way to start a program the tracer must see: tracer_exec MODE TARGET MARKER.
// Prints "exec=<errno name>" when the exec fails; when it succeeds TARGET runs instead.
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;
static char* target;
static char* args[3];

static int report(int err) {
  printf("exec=%s\n", err ? strerrorname_np(err) : "ok");
  fflush(stdout);
  return 0;
}

// For children that cannot print safely: 128+errno, 0 when the target ran and succeeded.
static int child_result(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) < 0) return report(errno);
  if (WIFEXITED(st) && WEXITSTATUS(st) >= 128) return report(WEXITSTATUS(st) - 128);
  if (WIFEXITED(st)) {
    printf("child=exit%d\n", WEXITSTATUS(st));
    return 0;
  }
  printf("child=signal%d\n", WTERMSIG(st));
  return 0;
}

static void* thread_exec(void* unused) {
  (void)unused;
  execve(target, args, environ);
  report(errno);
  exit(0);
}

static int clone3_child(void) {
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  ca.exit_signal = SIGCHLD;
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid < 0) return report(errno);
  if (pid == 0) {
    syscall(SYS_execve, target, args, environ);
    _exit(128 + errno);
  }
  return child_result((pid_t)pid);
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s MODE TARGET MARKER\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
  target = argv[2];
  args[0] = target;
  args[1] = argv[3];
  args[2] = NULL;
  if (!strcmp(mode, "execve")) {
    execve(target, args, environ);
  } else if (!strcmp(mode, "empty-env")) {
    char* none[] = {NULL};
    execve(target, args, none);
  } else if (!strcmp(mode, "no-preload")) {
    unsetenv("LD_PRELOAD");
    execve(target, args, environ);
  } else if (!strcmp(mode, "fake-preload")) {
    setenv("LD_PRELOAD", "/nonexistent/libnothing.so", 1);
    execve(target, args, environ);
  } else if (!strcmp(mode, "execvp")) {
    // $PATH naming the target's directory twice: the search meets the same file twice.
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", target);
    char* slash = strrchr(dir, '/');
    if (!slash) return 2;
    *slash = '\0';
    char path_env[8300];
    snprintf(path_env, sizeof path_env, "%s:%s", dir, dir);
    setenv("PATH", path_env, 1);
    args[0] = slash + 1;
    execvp(slash + 1, args);
  } else if (!strcmp(mode, "raw")) {
    syscall(SYS_execve, target, args, environ);
  } else if (!strcmp(mode, "execveat")) {
    syscall(SYS_execveat, AT_FDCWD, target, args, environ, 0);
  } else if (!strcmp(mode, "fexecve")) {
    int fd = open(target, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return report(errno);
    fexecve(fd, args, environ);
  } else if (!strcmp(mode, "memfd")) {
    int in = open(target, O_RDONLY | O_CLOEXEC);
    int fd = memfd_create("copy", MFD_CLOEXEC);
    if (in < 0 || fd < 0) return report(errno);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
      if (write(fd, buf, (size_t)n) != n) return report(errno);
    fexecve(fd, args, environ);
  } else if (!strcmp(mode, "vfork")) {
    pid_t pid = vfork();
    if (pid == 0) {
      execve(target, args, environ);
      _exit(128 + errno);
    }
    return child_result(pid);
  } else if (!strcmp(mode, "fork")) {
    pid_t pid = fork();
    if (pid == 0) {
      execve(target, args, environ);
      _exit(128 + errno);
    }
    return child_result(pid);
  } else if (!strcmp(mode, "clone3")) {
    return clone3_child();
  } else if (!strcmp(mode, "thread")) {
    pthread_t t;
    pthread_create(&t, NULL, thread_exec, NULL);
    pthread_join(t, NULL);
    return 0;
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  return report(errno);
}
