/* hook_threads: THREADS threads each open ALLOWED and DENIED ITER times concurrently.
 * Prints "allowed_ok=N denied_eacces=N other=N"; a correct hook gives
 * allowed_ok = denied_eacces = THREADS*ITER and other = 0.
 * Usage: hook_threads ALLOWED DENIED THREADS ITER */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static const char* allowed;
static const char* denied;
static int iters;
static int allowed_ok, denied_eacces, other;

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0; i < iters; ++i) {
    int fd = open(allowed, O_RDONLY);
    if (fd >= 0) {
      __atomic_add_fetch(&allowed_ok, 1, __ATOMIC_RELAXED);
      close(fd);
    } else {
      __atomic_add_fetch(&other, 1, __ATOMIC_RELAXED);
    }
    fd = open(denied, O_RDONLY);
    if (fd < 0 && errno == EACCES) {
      __atomic_add_fetch(&denied_eacces, 1, __ATOMIC_RELAXED);
    } else {
      __atomic_add_fetch(&other, 1, __ATOMIC_RELAXED);
      if (fd >= 0) close(fd);
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: hook_threads ALLOWED DENIED THREADS ITER\n");
    return 2;
  }
  allowed = argv[1];
  denied = argv[2];
  int n = atoi(argv[3]);
  iters = atoi(argv[4]);
  pthread_t t[64];
  if (n > 64) n = 64;
  for (int i = 0; i < n; ++i) pthread_create(&t[i], NULL, worker, NULL);
  for (int i = 0; i < n; ++i) pthread_join(t[i], NULL);
  printf("allowed_ok=%d denied_eacces=%d other=%d\n", allowed_ok, denied_eacces, other);
  return 0;
}
