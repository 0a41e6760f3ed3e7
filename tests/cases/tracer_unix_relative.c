// A multi-threaded program (so the tracer performs its socket calls instead of letting
// them run: another thread could swap the fd) talks to unix sockets by *relative* path.
// The supervisor must resolve the path against this process's cwd, not its own.
// Prints connect=<ok|ERRNO> sendto=<n|ERRNO> sendmsg=<n|ERRNO> got=<bytes>.

#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static int pipefd[2];

static void* idle(void* arg) {
  (void)arg;
  char c;
  ssize_t r = read(pipefd[0], &c, 1);  // parked until the end: the process stays threaded
  (void)r;
  return NULL;
}

static socklen_t addr(struct sockaddr_un* a, const char* rel) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strcpy(a->sun_path, rel);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(rel) + 1);
}

static const char* name(long r) {
  return r < 0 ? strerrorname_np(errno) : "ok";
}

int main(void) {
  struct sockaddr_un a;
  socklen_t al;
  unlink("rel-stream.sock");
  unlink("rel-dgram.sock");
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  al = addr(&a, "rel-stream.sock");
  if (bind(ls, (struct sockaddr*)&a, al) != 0 || listen(ls, 4) != 0) return 2;
  int ld = socket(AF_UNIX, SOCK_DGRAM, 0);
  al = addr(&a, "rel-dgram.sock");
  if (bind(ld, (struct sockaddr*)&a, al) != 0) return 2;
  if (pipe(pipefd) != 0) return 2;
  pthread_t t;
  if (pthread_create(&t, NULL, idle, NULL) != 0) return 2;

  int cs = socket(AF_UNIX, SOCK_STREAM, 0);
  al = addr(&a, "rel-stream.sock");
  long r = syscall(SYS_connect, cs, &a, al);
  printf("connect=%s\n", name(r));

  int cd = socket(AF_UNIX, SOCK_DGRAM, 0);
  al = addr(&a, "rel-dgram.sock");
  r = syscall(SYS_sendto, cd, "hi", 2, 0, &a, al);
  if (r < 0)
    printf("sendto=%s\n", name(r));
  else
    printf("sendto=%ld\n", r);
  struct iovec iov = {(void*)"yo", 2};
  struct msghdr m;
  memset(&m, 0, sizeof m);
  m.msg_name = &a;
  m.msg_namelen = al;
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  r = syscall(SYS_sendmsg, cd, &m, 0);
  if (r < 0)
    printf("sendmsg=%s\n", name(r));
  else
    printf("sendmsg=%ld\n", r);

  char buf[16];
  printf("got=");
  for (int i = 0; i < 2; ++i) {
    ssize_t n = recv(ld, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) printf("%.*s", (int)n, buf);
  }
  printf("\n");
  fflush(stdout);
  r = write(pipefd[1], "x", 1);
  pthread_join(t, NULL);
  unlink("rel-stream.sock");
  unlink("rel-dgram.sock");
  return 0;
}
