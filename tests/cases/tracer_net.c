// Outbound connections: tracer_net OP IP PORT. Prints "<op>=ok" or "<op>=<errno name>".
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static int report(const char* op, long r) {
  printf("%s=%s\n", op, r < 0 ? strerrorname_np(errno) : "ok");
  fflush(stdout);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: %s OP IP PORT\n", argv[0]);
    return 2;
  }
  const char* op = argv[1];
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3]))};
  inet_pton(AF_INET, argv[2], &a.sin_addr);
  if (!strcmp(op, "connect")) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    return report(op, connect(s, (struct sockaddr*)&a, sizeof a));
  }
  if (!strcmp(op, "raw-connect")) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    return report(op, syscall(SYS_connect, s, &a, sizeof a));
  }
  if (!strcmp(op, "connect6")) {
    struct sockaddr_in6 b = {.sin6_family = AF_INET6, .sin6_port = a.sin_port};
    b.sin6_addr.s6_addr[10] = 0xff;
    b.sin6_addr.s6_addr[11] = 0xff;
    memcpy(&b.sin6_addr.s6_addr[12], &a.sin_addr, 4);
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    return report(op, connect(s, (struct sockaddr*)&b, sizeof b));
  }
  if (!strcmp(op, "sendto")) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    return report(op, sendto(s, "ping", 4, 0, (struct sockaddr*)&a, sizeof a));
  }
  if (!strcmp(op, "sendmsg") || !strcmp(op, "sendmmsg")) {
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    char payload[] = "ping";
    struct iovec iov = {payload, 4};
    struct mmsghdr mm[2];
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 2; ++i) {
      mm[i].msg_hdr.msg_name = &a;
      mm[i].msg_hdr.msg_namelen = sizeof a;
      mm[i].msg_hdr.msg_iov = &iov;
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    if (!strcmp(op, "sendmsg")) return report(op, sendmsg(s, &mm[0].msg_hdr, 0));
    int n = sendmmsg(s, mm, 2, 0);
    if (n >= 0) printf("sent=%d len0=%u\n", n, mm[0].msg_len);
    return report(op, n);
  }
  if (!strcmp(op, "fastopen")) {
    // TCP Fast Open: sendto/sendmsg with MSG_FASTOPEN connects (and sends) in one call.
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct iovec iov = {"GET", 3};
    struct msghdr m = {.msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1};
    return report(op, sendmsg(s, &m, MSG_FASTOPEN));
  }
  fprintf(stderr, "unknown op %s\n", op);
  return 2;
}
