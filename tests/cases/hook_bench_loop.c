/* hook_bench_loop: the inner loop of tests/bench/hook_bench.cc, run once bare and once
 * with the hook preloaded. Prints the mean nanoseconds per operation (best of ROUNDS
 * rounds of N operations) on stdout.
 *   hook_bench_loop open PATH N ROUNDS      open(O_RDONLY)+close
 *   hook_bench_loop stat PATH N ROUNDS      stat
 *   hook_bench_loop lstatat PATH N ROUNDS   fstatat(dirfd, basename, AT_SYMLINK_NOFOLLOW)
 *                                           with dirfd = PATH's directory (find, fts)
 *   hook_bench_loop fopen PATH N ROUNDS     fopen+fclose
 *   hook_bench_loop exec PROG N ROUNDS      fork + execv(PROG) + waitpid
 *   hook_bench_loop close - N ROUNDS        close(-1): the loop's own cost */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* CPU time (user + kernel) rather than wall time: on a shared, loaded machine it leaves
 * out the time the loop spent preempted, which wall time would charge to whichever
 * variant was unlucky. For exec the children's CPU time is added (that is where the
 * exec, the dynamic loading and the hook's start-up happen). */
static int with_children = 0;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  double ns = (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
  if (with_children) {
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru);
    ns += ((double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec) * 1e9 +
          ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) * 1e3;
  }
  return ns;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: hook_bench_loop open|stat|lstatat|fopen|exec|close PATH N ROUNDS\n");
    return 2;
  }
  const char* mode = argv[1];
  const char* path = argv[2];
  long n = atol(argv[3]);
  int rounds = atoi(argv[4]);
  double best = 1e30;
  struct stat st;
  if (!strcmp(mode, "exec")) with_children = 1;
  for (int r = 0; r < rounds; ++r) {
    double t0 = now_ns();
    if (!strcmp(mode, "open")) {
      for (long i = 0; i < n; ++i) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) return 1;
        close(fd);
      }
    } else if (!strcmp(mode, "stat")) {
      for (long i = 0; i < n; ++i) {
        if (stat(path, &st) != 0) return 1;
      }
    } else if (!strcmp(mode, "lstatat")) {
      const char* slash = strrchr(path, '/');
      if (slash == NULL || slash == path) return 2;
      char dir[4096];
      snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
      int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0) return 1;
      for (long i = 0; i < n; ++i) {
        if (fstatat(dfd, slash + 1, &st, AT_SYMLINK_NOFOLLOW) != 0) return 1;
      }
      close(dfd);
    } else if (!strcmp(mode, "fopen")) {
      for (long i = 0; i < n; ++i) {
        FILE* f = fopen(path, "r");
        if (f == NULL) return 1;
        fclose(f);
      }
    } else if (!strcmp(mode, "exec")) {
      char* args[] = {(char*)path, NULL};
      for (long i = 0; i < n; ++i) {
        pid_t pid = fork();
        if (pid == 0) {
          execv(path, args);
          _exit(127);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 1;
      }
    } else if (!strcmp(mode, "close")) {
      for (long i = 0; i < n; ++i) close(-1);
    } else {
      return 2;
    }
    double per = (now_ns() - t0) / (double)n;
    if (per < best) best = per;
  }
  printf("%.1f\n", best);
  return 0;
}
