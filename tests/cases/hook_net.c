/* hook_net: network operations whose outcome a test asserts.
 *   hook_net connect IP PORT      TCP connect;        "connect OK" / "connect ERR NAME"
 *   hook_net udp IP PORT          UDP sendto;         "sendto OK" / "sendto ERR NAME"
 *   hook_net resolve NAME PORT    getaddrinfo, then TCP connect to the first IPv4 answer */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char* ename(int e) {
  switch (e) {
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ENETUNREACH:
      return "ENETUNREACH";
    default:
      return "OTHER";
  }
}

static void report(const char* op, int ok, int err) {
  if (ok)
    printf("%s OK\n", op);
  else
    printf("%s ERR %s\n", op, ename(err));
}

static int v4(const char* ip, int port, struct sockaddr_in* sa) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  sa->sin_port = htons((unsigned short)port);
  return inet_pton(AF_INET, ip, &sa->sin_addr) == 1;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: hook_net connect|udp|resolve HOST PORT\n");
    return 2;
  }
  struct sockaddr_in sa;
  int port = atoi(argv[3]);
  if (!strcmp(argv[1], "connect")) {
    if (!v4(argv[2], port, &sa)) return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int r = connect(s, (struct sockaddr*)&sa, sizeof sa);
    report("connect", r == 0, errno);
    close(s);
  } else if (!strcmp(argv[1], "udp")) {
    if (!v4(argv[2], port, &sa)) return 2;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ssize_t r = sendto(s, "x", 1, 0, (struct sockaddr*)&sa, sizeof sa);
    report("sendto", r == 1, errno);
    close(s);
  } else if (!strcmp(argv[1], "resolve")) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int r = getaddrinfo(argv[2], argv[3], &hints, &res);
    if (r != 0 || res == NULL) {
      printf("resolve ERR %s\n", gai_strerror(r));
      return 0;
    }
    int s = socket(AF_INET, SOCK_STREAM, 0);
    r = connect(s, res->ai_addr, res->ai_addrlen);
    report("connect", r == 0, errno);
    close(s);
    freeaddrinfo(res);
  } else {
    return 2;
  }
  return 0;
}
