// TOCTOU attempts: a second thread rewrites the path (or argv) the first thread passes,
// flipping between an allowed and a denied value as fast as it can.
//   tracer_race open ALLOWED DENIED N   N opens; prints "leaked=K" (reads of DENIED's
//                                       content, which must be 0) and "opened=M"
//   tracer_race exec ALLOWED DENIED MARKER N
//                                       N children each exec ALLOWED while the path
//                                       flips to DENIED; DENIED must never run (its
//                                       marker holds its own name when it does)
//   tracer_race argv ALLOWED DENIED MARKER N
//                                       the same, but the path stays ALLOWED and argv[0]
//                                       flips: a program started with DENIED as argv[0]
//                                       (which the decision never saw) must not run
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char path[4096];
static char allowed[4096], denied[4096];
static atomic_int stop;

static void* flipper(void* unused) {
  (void)unused;
  // Same length not required: copy with the NUL each time.
  while (!atomic_load(&stop)) {
    memcpy(path, denied, strlen(denied) + 1);
    memcpy(path, allowed, strlen(allowed) + 1);
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  snprintf(allowed, sizeof allowed, "%s", argv[2]);
  snprintf(denied, sizeof denied, "%s", argv[3]);
  memcpy(path, allowed, strlen(allowed) + 1);
  if (!strcmp(argv[1], "open")) {
    char secret[256] = {0};
    int sfd = -1;
    (void)sfd;
    int n = atoi(argv[4]), leaked = 0, opened = 0;
    pthread_t t;
    pthread_create(&t, NULL, flipper, NULL);
    for (int i = 0; i < n; ++i) {
      int fd = open(path, O_RDONLY);
      if (fd < 0) continue;
      ++opened;
      char buf[256] = {0};
      ssize_t r = read(fd, buf, sizeof buf - 1);
      close(fd);
      if (r > 0 && strstr(buf, "top secret")) ++leaked;
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    (void)secret;
    printf("opened=%d leaked=%d\n", opened, leaked);
    return 0;
  }
  const int flip_argv = !strcmp(argv[1], "argv");
  if ((flip_argv || !strcmp(argv[1], "exec")) && argc >= 6) {
    int n = atoi(argv[5]), ran = 0, refused = 0, killed = 0;
    for (int i = 0; i < n; ++i) {
      pid_t c = fork();
      if (c == 0) {
        pthread_t t;
        pthread_create(&t, NULL, flipper, NULL);
        char* args[] = {path, argv[4], NULL};
        execv(flip_argv ? allowed : path, args);
        _exit(100);  // refused
      }
      int st = 0;
      waitpid(c, &st, 0);
      if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        ++ran;
      else if (WIFEXITED(st) && WEXITSTATUS(st) == 100)
        ++refused;
      else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
        ++killed;
    }
    printf("ran=%d refused=%d killed=%d\n", ran, refused, killed);
    return 0;
  }
  return 2;
}
