/* hook_exec: the ways a program starts another one. Prints what happened in one line.
 *   hook_exec vfork PROG ARGS...     vfork + execvp in the child; "exit=N" / "exec-errno=NAME"
 *   hook_exec execvp PROG ARGS...    execvp in this process; prints "exec-errno=NAME" on failure
 *   hook_exec spawnp PROG ARGS...    posix_spawnp; "spawn=0 exit=N" or "spawn=NAME"
 *   hook_exec system CMDLINE         system(); "system=STATUS"
 *   hook_exec popen CMDLINE          popen(); "popen=OK exit=N" or "popen=NAME"
 *   hook_exec fexecve PATH ARGS...   open PATH, then fexecve the fd
 *   hook_exec stripenv PROG ARGS...  execve with an environment holding only PATH
 *   hook_exec env PATH               prints the hook's variables as seen here, then
 *                                    "open=OK|NAME" for PATH (is this process hooked?) */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

static const char* ename(int e) {
  switch (e) {
    case 0:
      return "0";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    default:
      return "OTHER";
  }
}

static int child_status(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: hook_exec MODE ARGS...\n");
    return 2;
  }
  const char* mode = argv[1];
  if (!strcmp(mode, "vfork")) {
    static volatile int err = 0; /* written by the vfork child, which shares our memory */
    pid_t pid = vfork();
    if (pid == 0) {
      execvp(argv[2], argv + 2);
      err = errno; /* shared memory with the parent until _exit: reports the errno */
      _exit(127);
    }
    if (err != 0) {
      printf("exec-errno=%s\n", ename(err));
    } else {
      printf("exit=%d\n", child_status(pid));
    }
    return 0;
  }
  if (!strcmp(mode, "execvp")) {
    fflush(stdout);
    execvp(argv[2], argv + 2);
    printf("exec-errno=%s\n", ename(errno));
    return 0;
  }
  if (!strcmp(mode, "spawnp")) {
    pid_t pid;
    int r = posix_spawnp(&pid, argv[2], NULL, NULL, argv + 2, environ);
    if (r != 0) {
      printf("spawn=%s\n", ename(r));
    } else {
      printf("spawn=0 exit=%d\n", child_status(pid));
    }
    return 0;
  }
  if (!strcmp(mode, "system")) {
    fflush(stdout);
    int r = system(argv[2]);
    printf("system=%d\n", r);
    return 0;
  }
  if (!strcmp(mode, "popen")) {
    fflush(stdout);
    FILE* f = popen(argv[2], "r");
    if (f == NULL) {
      printf("popen=%s\n", ename(errno));
      return 0;
    }
    char buf[256];
    while (fgets(buf, sizeof buf, f) != NULL) fputs(buf, stdout);
    int st = pclose(f);
    printf("popen=OK exit=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
  }
  if (!strcmp(mode, "fexecve")) {
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) {
      printf("open-errno=%s\n", ename(errno));
      return 0;
    }
    fflush(stdout);
    fexecve(fd, argv + 2, environ);
    printf("exec-errno=%s\n", ename(errno));
    return 0;
  }
  if (!strcmp(mode, "stripenv")) {
    char path[4096];
    const char* p = getenv("PATH");
    snprintf(path, sizeof path, "PATH=%s", p ? p : "/usr/bin:/bin");
    char* envp[] = {path, NULL};
    fflush(stdout);
    execve(argv[2], argv + 2, envp);
    printf("exec-errno=%s\n", ename(errno));
    return 0;
  }
  if (!strcmp(mode, "env")) {
    const char* names[] = {"LD_PRELOAD", "AGENTSH_SNAPSHOT", "AGENTSH_SESSION_ID"};
    for (int i = 0; i < 3; ++i) {
      const char* v = getenv(names[i]);
      printf("%s=%s\n", names[i], v ? v : "(unset)");
    }
    int fd = open(argv[2], O_RDONLY);
    printf("open=%s\n", fd >= 0 ? "OK" : ename(errno));
    return 0;
  }
  fprintf(stderr, "hook_exec: unknown mode %s\n", mode);
  return 2;
}
