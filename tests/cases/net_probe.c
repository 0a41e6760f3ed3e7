/* net_probe: outbound network operations whose outcome a test asserts, one line each.
 *   net_probe connect IP PORT       TCP connect (AF_INET6 socket when IP has a ':'); then
 *                                   reads one line from the server.
 *                                   "connect OK peer=IP:PORT read=LINE" / "connect ERR NAME"
 *   net_probe connect6only IP PORT  the same on an AF_INET6 socket with IPV6_V6ONLY set
 *   net_probe nbconnect IP PORT     non-blocking connect, poll for writability, SO_ERROR:
 *                                   "nbconnect ret=EINPROGRESS|0 so_error=0 peer=… read=…"
 *                                   or "nbconnect ERR NAME" (immediate or via SO_ERROR)
 *   net_probe dupfork IP PORT       connect, dup the socket, fork: the child prints what
 *                                   getpeername says on the duplicate ("child peer=…")
 *   net_probe peershort IP PORT     connect, then getpeername into a 4-byte buffer:
 *                                   "peershort len=N family=F port=P" (truncated like the
 *                                   kernel: the size the address needs, its first 4 bytes)
 *   net_probe tfo IP PORT           TCP Fast Open: sendto(MSG_FASTOPEN) with an address on an
 *                                   unconnected socket, then as connect ("tfo OK …")
 *   net_probe udp IP PORT           UDP sendto of one datagram: "sendto OK" / "sendto ERR NAME"
 *   net_probe dns SERVER NAME       a raw A query to SERVER:53 (sendto/recvfrom, unconnected):
 *                                   "dns rcode=N from=IP:PORT answer=A.B.C.D|-"
 *   net_probe dnsmmsg SERVER NAME   the A query twice in one sendmmsg to SERVER:53, answers
 *                                   by recvmmsg: "dnsmmsg sent=2 got=N rcode=R from=IP:PORT"
 *   net_probe dnstcp SERVER NAME    the same query over TCP to SERVER:53: "dnstcp rcode=N"
 *   net_probe dnsconnect SERVER NAME PORT
 *                                   the query above, then a TCP connect to its first answer
 *   net_probe resolve NAME PORT     getaddrinfo (IPv4), then as connect
 * Built dynamic and static; raw sockets API only, so the static build behaves the same
 * (except `resolve`, which needs NSS). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char* ename(int e) {
  switch (e) {
    case 0:
      return "0";
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ECONNREFUSED:
      return "ECONNREFUSED";
    case ENETUNREACH:
      return "ENETUNREACH";
    case EHOSTUNREACH:
      return "EHOSTUNREACH";
    case ETIMEDOUT:
      return "ETIMEDOUT";
    case EINPROGRESS:
      return "EINPROGRESS";
    case EAGAIN:
      return "EAGAIN";
    case EAFNOSUPPORT:
      return "EAFNOSUPPORT";
    default:
      return "OTHER";
  }
}

/* IP text + port into a sockaddr; AF_INET6 when the text has a ':'. */
static socklen_t addr_of(const char* ip, int port, struct sockaddr_storage* ss) {
  memset(ss, 0, sizeof *ss);
  if (strchr(ip, ':') != NULL) {
    struct sockaddr_in6* a = (struct sockaddr_in6*)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((unsigned short)port);
    if (inet_pton(AF_INET6, ip, &a->sin6_addr) != 1) return 0;
    return sizeof *a;
  }
  struct sockaddr_in* a = (struct sockaddr_in*)ss;
  a->sin_family = AF_INET;
  a->sin_port = htons((unsigned short)port);
  if (inet_pton(AF_INET, ip, &a->sin_addr) != 1) return 0;
  return sizeof *a;
}

static void fmt_addr(const struct sockaddr_storage* ss, char* out, size_t cap) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in* a = (const struct sockaddr_in*)ss;
    inet_ntop(AF_INET, &a->sin_addr, ip, sizeof ip);
    port = ntohs(a->sin_port);
    snprintf(out, cap, "%s:%d", ip, port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6* a = (const struct sockaddr_in6*)ss;
    inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof ip);
    port = ntohs(a->sin6_port);
    snprintf(out, cap, "[%s]:%d", ip, port);
  } else {
    snprintf(out, cap, "family%d", ss->ss_family);
  }
}

/* After a successful connect: the peer as getpeername reports it, one line read. */
static void after_connect(int s, char* out, size_t cap) {
  struct sockaddr_storage peer;
  socklen_t plen = sizeof peer;
  char p[80] = "?";
  if (getpeername(s, (struct sockaddr*)&peer, &plen) == 0) fmt_addr(&peer, p, sizeof p);
  char line[128] = "";
  size_t n = 0;
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (n + 1 < sizeof line) {
    char c;
    ssize_t r = recv(s, &c, 1, 0);
    if (r <= 0 || c == '\n') break;
    line[n++] = c;
  }
  line[n] = '\0';
  snprintf(out, cap, "peer=%s read=%s", p, n ? line : "-");
}

static int do_connect(const struct sockaddr_storage* ss, socklen_t len, int v6only) {
  int s = socket(ss->ss_family, SOCK_STREAM, 0);
  if (v6only) {
    int one = 1;
    setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  }
  if (connect(s, (const struct sockaddr*)ss, len) != 0) {
    printf("connect ERR %s\n", ename(errno));
    return 1;
  }
  char rest[256];
  after_connect(s, rest, sizeof rest);
  printf("connect OK %s\n", rest);
  close(s);
  return 0;
}

static int do_peershort(const struct sockaddr_storage* ss, socklen_t len) {
  int s = socket(ss->ss_family, SOCK_STREAM, 0);
  if (connect(s, (const struct sockaddr*)ss, len) != 0) {
    printf("peershort ERR %s\n", ename(errno));
    return 1;
  }
  /* Room for exactly family + port; the guard bytes after it must stay untouched. */
  unsigned char buf[8];
  memset(buf, 0xAA, sizeof buf);
  socklen_t plen = 4;
  if (getpeername(s, (struct sockaddr*)buf, &plen) != 0) {
    printf("peershort ERR %s\n", ename(errno));
    return 1;
  }
  sa_family_t fam;
  uint16_t port;
  memcpy(&fam, buf, sizeof fam);
  memcpy(&port, buf + 2, sizeof port);
  printf("peershort len=%u family=%d port=%d guard=%s\n", (unsigned)plen, (int)fam, ntohs(port),
         buf[4] == 0xAA && buf[7] == 0xAA ? "intact" : "overwritten");
  close(s);
  return 0;
}

static int do_dupfork(const struct sockaddr_storage* ss, socklen_t len) {
  int s = socket(ss->ss_family, SOCK_STREAM, 0);
  if (connect(s, (const struct sockaddr*)ss, len) != 0) {
    printf("dupfork ERR %s\n", ename(errno));
    return 1;
  }
  int d = dup(s);
  close(s);
  pid_t pid = fork();
  if (pid == 0) {
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    char p[80] = "?";
    if (getpeername(d, (struct sockaddr*)&peer, &plen) == 0) fmt_addr(&peer, p, sizeof p);
    printf("child peer=%s\n", p);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

static int do_tfo(const struct sockaddr_storage* ss, socklen_t len) {
  int s = socket(ss->ss_family, SOCK_STREAM, 0);
  if (sendto(s, "x", 1, MSG_FASTOPEN, (const struct sockaddr*)ss, len) != 1) {
    printf("tfo ERR %s\n", ename(errno));
    return 1;
  }
  char rest[256];
  after_connect(s, rest, sizeof rest);
  printf("tfo OK %s\n", rest);
  close(s);
  return 0;
}

static int do_nbconnect(const struct sockaddr_storage* ss, socklen_t len) {
  int s = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int r = connect(s, (const struct sockaddr*)ss, len);
  int e = r == 0 ? 0 : errno;
  if (r != 0 && e != EINPROGRESS) {
    printf("nbconnect ERR %s\n", ename(e));
    return 1;
  }
  struct pollfd p = {s, POLLOUT, 0};
  if (poll(&p, 1, 15000) != 1 || !(p.revents & POLLOUT)) {
    printf("nbconnect ERR poll revents=%d\n", p.revents);
    return 1;
  }
  int soerr = -1;
  socklen_t sl = sizeof soerr;
  getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl);
  if (soerr != 0) {
    printf("nbconnect ERR %s\n", ename(soerr));
    return 1;
  }
  /* Blocking again for the read (O_NONBLOCK must still be set: check and say). */
  int fl = fcntl(s, F_GETFL);
  fcntl(s, F_SETFL, fl & ~O_NONBLOCK);
  char rest[256];
  after_connect(s, rest, sizeof rest);
  printf("nbconnect ret=%s nonblock=%d so_error=%d %s\n", ename(e), (fl & O_NONBLOCK) != 0, soerr,
         rest);
  close(s);
  return 0;
}

/* A minimal A query for `name`; returns its length. */
static size_t build_query(const char* name, unsigned char* q, size_t cap) {
  size_t n = 0;
  memset(q, 0, cap);
  q[0] = 0x12;
  q[1] = 0x34;
  q[2] = 0x01; /* RD */
  q[5] = 1;    /* QDCOUNT */
  n = 12;
  const char* p = name;
  while (*p && n + 70 < cap) {
    const char* dot = strchr(p, '.');
    size_t l = dot ? (size_t)(dot - p) : strlen(p);
    q[n++] = (unsigned char)l;
    memcpy(q + n, p, l);
    n += l;
    p += l;
    if (*p == '.') ++p;
  }
  q[n++] = 0;
  q[n++] = 0;
  q[n++] = 1; /* A */
  q[n++] = 0;
  q[n++] = 1; /* IN */
  return n;
}

/* Sends the query to server:53, prints the answer line; the first A into `answer`. */
static int do_dns(const char* server, const char* name, char* answer, size_t acap) {
  struct sockaddr_storage ss;
  socklen_t len = addr_of(server, 53, &ss);
  if (len == 0) return 2;
  int s = socket(ss.ss_family, SOCK_DGRAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  unsigned char q[512], a[1500];
  size_t qn = build_query(name, q, sizeof q);
  if (sendto(s, q, qn, 0, (struct sockaddr*)&ss, len) < 0) {
    printf("dns ERR %s\n", ename(errno));
    return 1;
  }
  struct sockaddr_storage from;
  socklen_t flen = sizeof from;
  ssize_t r = recvfrom(s, a, sizeof a, 0, (struct sockaddr*)&from, &flen);
  if (r < 12) {
    printf("dns ERR %s\n", r < 0 ? ename(errno) : "short");
    return 1;
  }
  char f[80];
  fmt_addr(&from, f, sizeof f);
  /* Skip the question, take the first A record. */
  snprintf(answer, acap, "-");
  size_t off = 12;
  while (off < (size_t)r && a[off] != 0) off += a[off] + 1u;
  off += 5;
  int an = (a[6] << 8) | a[7];
  for (int i = 0; i < an && off + 12 <= (size_t)r; ++i) {
    if ((a[off] & 0xc0) == 0xc0) {
      off += 2;
    } else {
      while (off < (size_t)r && a[off] != 0) off += a[off] + 1u;
      off += 1;
    }
    if (off + 10 > (size_t)r) break;
    int type = (a[off] << 8) | a[off + 1];
    int rdlen = (a[off + 8] << 8) | a[off + 9];
    off += 10;
    if (type == 1 && rdlen == 4 && off + 4 <= (size_t)r) {
      snprintf(answer, acap, "%u.%u.%u.%u", a[off], a[off + 1], a[off + 2], a[off + 3]);
      break;
    }
    off += (size_t)rdlen;
  }
  printf("dns rcode=%d from=%s answer=%s\n", a[3] & 0x0f, f, answer);
  close(s);
  return 0;
}

static int do_dnsmmsg(const char* server, const char* name) {
  struct sockaddr_storage ss;
  socklen_t len = addr_of(server, 53, &ss);
  if (len == 0) return 2;
  int s = socket(ss.ss_family, SOCK_DGRAM, 0);
  unsigned char q[512];
  size_t qn = build_query(name, q, sizeof q);
  struct iovec iov = {q, qn};
  struct mmsghdr out[2];
  memset(out, 0, sizeof out);
  for (int i = 0; i < 2; ++i) {
    out[i].msg_hdr.msg_name = &ss;
    out[i].msg_hdr.msg_namelen = len;
    out[i].msg_hdr.msg_iov = &iov;
    out[i].msg_hdr.msg_iovlen = 1;
  }
  int sent = sendmmsg(s, out, 2, 0);
  if (sent < 0) {
    printf("dnsmmsg ERR %s\n", ename(errno));
    return 1;
  }
  unsigned char a[2][1500];
  struct iovec in_iov[2] = {{a[0], sizeof a[0]}, {a[1], sizeof a[1]}};
  struct sockaddr_storage from[2];
  struct mmsghdr in[2];
  memset(in, 0, sizeof in);
  for (int i = 0; i < 2; ++i) {
    in[i].msg_hdr.msg_name = &from[i];
    in[i].msg_hdr.msg_namelen = sizeof from[i];
    in[i].msg_hdr.msg_iov = &in_iov[i];
    in[i].msg_hdr.msg_iovlen = 1;
  }
  struct timespec ts = {5, 0};
  int got = 0;
  while (got < 2) {
    int r = recvmmsg(s, in + got, (unsigned)(2 - got), MSG_WAITFORONE, &ts);
    if (r <= 0) break;
    got += r;
  }
  if (got < 1 || in[0].msg_len < 12) {
    printf("dnsmmsg ERR no answer\n");
    return 1;
  }
  char f[80];
  fmt_addr(&from[0], f, sizeof f);
  printf("dnsmmsg sent=%d got=%d rcode=%d from=%s\n", sent, got, a[0][3] & 0x0f, f);
  close(s);
  return 0;
}

static int do_dnstcp(const char* server, const char* name) {
  struct sockaddr_storage ss;
  socklen_t len = addr_of(server, 53, &ss);
  if (len == 0) return 2;
  int s = socket(ss.ss_family, SOCK_STREAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(s, (struct sockaddr*)&ss, len) != 0) {
    printf("dnstcp ERR %s\n", ename(errno));
    return 1;
  }
  unsigned char q[514], a[1500];
  size_t qn = build_query(name, q + 2, sizeof q - 2);
  q[0] = (unsigned char)(qn >> 8);
  q[1] = (unsigned char)qn;
  if (send(s, q, qn + 2, MSG_NOSIGNAL) != (ssize_t)(qn + 2)) {
    printf("dnstcp ERR %s\n", ename(errno));
    return 1;
  }
  size_t got = 0;
  while (got < 14) {
    ssize_t r = recv(s, a + got, sizeof a - got, 0);
    if (r <= 0) break;
    got += (size_t)r;
  }
  if (got < 14) {
    printf("dnstcp ERR short\n");
    return 1;
  }
  printf("dnstcp rcode=%d\n", a[2 + 3] & 0x0f);
  close(s);
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr,
            "usage: net_probe connect|connect6only|nbconnect|udp|dns|dnsconnect|resolve …\n");
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct sockaddr_storage ss;
  const char* op = argv[1];
  if (!strcmp(op, "connect") || !strcmp(op, "connect6only") || !strcmp(op, "nbconnect") ||
      !strcmp(op, "udp") || !strcmp(op, "tfo") || !strcmp(op, "dupfork") ||
      !strcmp(op, "peershort")) {
    socklen_t len = addr_of(argv[2], atoi(argv[3]), &ss);
    if (len == 0) return 2;
    if (!strcmp(op, "connect")) return do_connect(&ss, len, 0);
    if (!strcmp(op, "connect6only")) return do_connect(&ss, len, 1);
    if (!strcmp(op, "nbconnect")) return do_nbconnect(&ss, len);
    if (!strcmp(op, "tfo")) return do_tfo(&ss, len);
    if (!strcmp(op, "dupfork")) return do_dupfork(&ss, len);
    if (!strcmp(op, "peershort")) return do_peershort(&ss, len);
    int s = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (sendto(s, "x", 1, 0, (struct sockaddr*)&ss, len) < 0) {
      printf("sendto ERR %s\n", ename(errno));
      return 1;
    }
    printf("sendto OK\n");
    return 0;
  }
  if (!strcmp(op, "dns")) {
    char ans[64];
    return do_dns(argv[2], argv[3], ans, sizeof ans);
  }
  if (!strcmp(op, "dnstcp")) return do_dnstcp(argv[2], argv[3]);
  if (!strcmp(op, "dnsmmsg")) return do_dnsmmsg(argv[2], argv[3]);
  if (!strcmp(op, "dnsconnect") && argc == 5) {
    char ans[64];
    if (do_dns(argv[2], argv[3], ans, sizeof ans) != 0 || !strcmp(ans, "-")) return 1;
    socklen_t len = addr_of(ans, atoi(argv[4]), &ss);
    return do_connect(&ss, len, 0);
  }
  if (!strcmp(op, "resolve")) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(argv[2], argv[3], &hints, &res);
    if (g != 0 || res == NULL) {
      printf("resolve ERR %s\n", gai_strerror(g));
      return 1;
    }
    memcpy(&ss, res->ai_addr, res->ai_addrlen);
    socklen_t len = res->ai_addrlen;
    freeaddrinfo(res);
    return do_connect(&ss, len, 0);
  }
  fprintf(stderr, "net_probe: unknown operation %s\n", op);
  return 2;
}
