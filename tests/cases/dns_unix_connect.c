// Local resolver daemons over unix sockets (tests/integration/dns_unix_test.cc).
//
//   dns_unix_connect serve COUNTFILE PATH...   a fake daemon: listens on every PATH, prints
//       "ready" and closes stdout; for each connection accepted appends one byte to
//       COUNTFILE, then sends "hi" (so a client that read "hi" knows it was counted).
//   dns_unix_connect libc PATH...   connect() through libc (the hook sees it when dynamic)
//   dns_unix_connect raw PATH...    syscall(SYS_connect) (only the tracer sees it)
//       prints "PATH ok" (connected and greeted) or "PATH ERR errno=N" per PATH.
//   dns_unix_connect gai NAME       getaddrinfo(NAME, AF_INET): "gai OK a.b.c.d" / "gai ERR n"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static socklen_t make_addr(const char* path, struct sockaddr_un* a) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  strncpy(a->sun_path, path, sizeof a->sun_path - 1);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1);
}

static int serve(const char* countfile, int n, char** paths) {
  struct pollfd p[16];
  if (n > 16) n = 16;
  for (int i = 0; i < n; ++i) {
    struct sockaddr_un a;
    socklen_t len = make_addr(paths[i], &a);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(paths[i]);
    if (fd < 0 || bind(fd, (struct sockaddr*)&a, len) != 0 || listen(fd, 16) != 0) {
      fprintf(stderr, "serve: %s: %s\n", paths[i], strerror(errno));
      return 1;
    }
    p[i].fd = fd;
    p[i].events = POLLIN;
  }
  printf("ready\n");
  fflush(stdout);
  close(1);
  int cf = open(countfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (cf < 0) return 1;
  for (;;) {
    if (poll(p, (nfds_t)n, -1) <= 0) continue;
    for (int i = 0; i < n; ++i) {
      if ((p[i].revents & POLLIN) == 0) continue;
      int c = accept4(p[i].fd, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) continue;
      if (write(cf, "x", 1) != 1) return 1;
      if (send(c, "hi", 2, MSG_NOSIGNAL) != 2) {
      }
      close(c);
    }
  }
}

static int try_connect(const char* path, int raw) {
  struct sockaddr_un a;
  socklen_t len = make_addr(path, &a);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  long r = raw ? syscall(SYS_connect, fd, &a, len) : connect(fd, (struct sockaddr*)&a, len);
  if (r != 0) {
    int e = errno;
    close(fd);
    return -e;
  }
  char buf[2];
  ssize_t got = recv(fd, buf, 2, MSG_WAITALL);
  close(fd);
  return got == 2 && memcmp(buf, "hi", 2) == 0 ? 0 : -EPROTO;
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "serve") == 0) return serve(argv[2], argc - 3, argv + 3);
  if (argc == 3 && strcmp(argv[1], "gai") == 0) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo(argv[2], NULL, &hints, &res);
    if (r != 0) {
      printf("gai ERR %d\n", r);
      return 0;
    }
    char ip[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &((struct sockaddr_in*)res->ai_addr)->sin_addr, ip, sizeof ip);
    printf("gai OK %s\n", ip);
    freeaddrinfo(res);
    return 0;
  }
  if (argc >= 2 && (strcmp(argv[1], "libc") == 0 || strcmp(argv[1], "raw") == 0)) {
    int raw = strcmp(argv[1], "raw") == 0;
    for (int i = 2; i < argc; ++i) {
      int r = try_connect(argv[i], raw);
      if (r == 0)
        printf("%s ok\n", argv[i]);
      else
        printf("%s ERR errno=%d\n", argv[i], -r);
    }
    return 0;
  }
  fprintf(stderr,
          "usage: dns_unix_connect serve COUNTFILE PATH... | libc|raw PATH... | gai NAME\n");
  return 2;
}
