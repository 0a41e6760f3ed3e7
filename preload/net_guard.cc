// Network decisions (see net_guard.h). House rules: no exceptions, no malloc, no locks,
// no stdio, raw syscalls, errno untouched.
#include "preload/net_guard.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include <cerrno>
#include <cstring>

#include "common/resolver_daemon_sockets.h"
#include "policy/cidr.h"
#include "preload/broker_client.h"
#include "preload/hook_state.h"
#include "preload/line_buf.h"
#include "preload/name_table.h"
#include "preload/net_guard_peer_table.h"
#include "preload/net_guard_resolver.h"
#include "preload/sys.h"
#include "proxy/transparent_protocol.h"

namespace agentsh::hook::net_guard {

namespace {

using policy::Decision;

void describe(const char* domain, size_t dlen, const cidr::IpAddr& ip, uint16_t port,
              LineBuf* out) noexcept {
  char ipbuf[64];
  size_t n = cidr::format(ip, ipbuf, sizeof ipbuf);
  if (dlen != 0) {
    out->add(domain, dlen).add_char(':').add_int(port).add(" (").add(ipbuf, n).add_char(')');
  } else if (!ip.is_v4()) {
    out->add_char('[').add(ipbuf, n).add("]:").add_int(port);
  } else {
    out->add(ipbuf, n).add_char(':').add_int(port);
  }
}

int sockopt_int(int fd, int level, int name, int* out) noexcept {
  socklen_t n = sizeof *out;
  return static_cast<int>(sys::call(SYS_getsockopt, fd, level, name, sys::arg(out), sys::arg(&n)));
}

uint64_t inode_of(int fd) noexcept {
  struct stat st;
  if (sys::call(SYS_fstat, fd, sys::arg(&st)) != 0) return 0;
  return static_cast<uint64_t>(st.st_ino);
}

bool is_loopback(const cidr::IpAddr& ip) noexcept {
  static const uint8_t v6_lo[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (ip.is_v4()) return ip.b[12] == 127;
  return memcmp(ip.b, v6_lo, 16) == 0;
}

// The session's proxy and DNS ports; {0, 0} unless a snapshot is attached.
struct Ports {
  uint16_t proxy = 0, dns = 0;
};
Ports session_ports() noexcept {
  HookState& s = HookState::get();
  if (!s.active() || !s.view().attached()) return Ports{};
  return Ports{s.view().header().proxy_port, s.view().header().dns_port};
}

// agentsh's own listeners: never redirected, never decided (the View allows them).
bool is_agentsh_port(const Ports& p, const cidr::IpAddr& ip, uint16_t port) noexcept {
  return port != 0 && is_loopback(ip) &&
         ((p.proxy != 0 && port == p.proxy) || (p.dns != 0 && port == p.dns));
}

// 127.0.0.1:port in the socket's family (v4-mapped for AF_INET6, or ::1 when `v6_lo`).
socklen_t loopback_addr(int family, bool v6_lo, uint16_t port, sockaddr_storage* out) noexcept {
  memset(out, 0, sizeof *out);
  if (family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(out);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof(sockaddr_in);
  }
  auto* a = reinterpret_cast<sockaddr_in6*>(out);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(port);
  if (v6_lo) {
    a->sin6_addr.s6_addr[15] = 1;
  } else {
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    a->sin6_addr.s6_addr[12] = 127;
    a->sin6_addr.s6_addr[15] = 1;
  }
  return sizeof(sockaddr_in6);
}

// Waits for a blocking connect that a signal interrupted (the kernel goes on with it).
long finish_interrupted_connect(int fd) noexcept {
  for (;;) {
    struct pollfd p = {fd, POLLOUT, 0};
    long r = sys::call(SYS_poll, sys::arg(&p), 1, -1);
    if (r == -EINTR) continue;
    if (r < 0) return r;
    int err = 0;
    if (sockopt_int(fd, SOL_SOCKET, SO_ERROR, &err) != 0) return -EIO;
    return -err;
  }
}

// The transparent handshake on a socket already connected to the proxy: the header out,
// the status byte in. Returns the status (0 = connected), or an errno of our own I/O.
int handshake(int fd, const cidr::IpAddr& ip, uint16_t port, const char* domain,
              size_t dlen) noexcept {
  namespace tp = agentsh::proxy::transparent_protocol;
  agentsh::proxy::IpAddress a;
  a.v6 = !ip.is_v4();
  if (a.v6) {
    memcpy(a.b, ip.b, 16);
  } else {
    memcpy(a.b, ip.b + 12, 4);
  }
  uint8_t hdr[tp::kHeaderSize];
  if (!tp::encode(a, port, static_cast<uint32_t>(sys::getpid()),
                  std::string_view(domain, dlen <= tp::kMaxDomain ? dlen : 0), hdr)) {
    return EINVAL;
  }
  size_t off = 0;
  while (off < sizeof hdr) {
    long w = sys::call(SYS_sendto, fd, sys::arg(hdr + off), sizeof hdr - off, MSG_NOSIGNAL, 0, 0);
    if (w == -EINTR) continue;
    if (w <= 0) return w == 0 ? EIO : static_cast<int>(-w);
    off += static_cast<size_t>(w);
  }
  for (;;) {
    uint8_t status = 0;
    long r = sys::call(SYS_recvfrom, fd, sys::arg(&status), 1, 0, 0, 0);
    if (r == -EINTR) continue;
    if (r == 1) return status;
    if (r == 0) return ECONNREFUSED;     // the proxy went away without answering
    if (r == -EAGAIN) return ETIMEDOUT;  // the program's SO_RCVTIMEO ran out
    return static_cast<int>(-r);
  }
}

// TCP through the proxy (see connect() in net_guard.h).
long redirect_stream(int fd, int family, const struct sockaddr* sa, socklen_t len,
                     const cidr::IpAddr& ip, uint16_t port, uint16_t proxy_port) noexcept {
  if (sa->sa_family != family) return -EAFNOSUPPORT;  // as tcp_v{4,6}_connect say
  bool v6_lo = false;
  if (family == AF_INET6) {
    int only = 0;
    if (sockopt_int(fd, IPPROTO_IPV6, IPV6_V6ONLY, &only) == 0 && only != 0) {
      // A client socket that will only speak IPv6: let it reach the v4 loopback proxy
      // (allowed until the socket is bound); a bound one can only try [::1].
      int zero = 0;
      v6_lo = sys::call(SYS_setsockopt, fd, IPPROTO_IPV6, IPV6_V6ONLY, sys::arg(&zero),
                        sizeof zero) != 0;
    }
  }
  long fl = sys::call(SYS_fcntl, fd, F_GETFL);
  if (fl < 0) return fl;
  const bool nonblock = (fl & O_NONBLOCK) != 0;
  if (nonblock) sys::call(SYS_fcntl, fd, F_SETFL, fl & ~O_NONBLOCK);
  sockaddr_storage px;
  socklen_t plen = loopback_addr(family, v6_lo, proxy_port, &px);
  long r = sys::call(SYS_connect, fd, sys::arg(&px), plen);
  if (r == -EINTR) r = finish_interrupted_connect(fd);
  int status = 0;
  if (r == 0) {
    char domain[NameTable::kNameMax];
    size_t dlen = NameTable::get().lookup(ip, domain, sizeof domain);
    status = handshake(fd, ip, port, domain, dlen);
  }
  if (nonblock) sys::call(SYS_fcntl, fd, F_SETFL, fl);
  if (r != 0) {
    // EISCONN/EALREADY/EBADF… are the program's own business; a proxy that is not
    // there is a refused connection (fail closed).
    return r;
  }
  if (status != 0) return -status;
  PeerTable::get().record(inode_of(fd), sa, len);
  return nonblock ? -EINPROGRESS : 0;
}

bool peer_is_agentsh(const struct sockaddr* sa, socklen_t len, uint16_t want_port) noexcept {
  cidr::IpAddr ip;
  uint16_t port = 0;
  if (want_port == 0 || !cidr::from_sockaddr(sa, len, &ip, &port)) return false;
  return port == want_port && is_loopback(ip);
}

// A unix-socket connect to a local resolver daemon (common/resolver_daemon_sockets.h):
// -ECONNREFUSED with one audit record, or -ENOENT/-ENOTDIR (no record) when the socket is
// not there — what the kernel would say; 0 when `sa` names some other socket. The path
// is compared as spelt, and, when its final component could be one of the daemons',
// by device and inode with the listed sockets (another spelling: relative, `..`, a
// symlinked directory, a bind mount), the object the kernel's lookup would reach.
// Abstract and unnamed sockets are never a daemon's. No malloc; errno untouched.
long refuse_resolver_daemon(const struct sockaddr* sa, socklen_t len) noexcept {
  namespace rds = agentsh::resolver_daemon_sockets;
  constexpr size_t kOff = offsetof(struct sockaddr_un, sun_path);
  if (sa == nullptr || sa->sa_family != AF_UNIX || len <= static_cast<socklen_t>(kOff)) return 0;
  const auto* un = reinterpret_cast<const struct sockaddr_un*>(sa);
  size_t n = static_cast<size_t>(len) - kOff;
  if (n > sizeof un->sun_path) n = sizeof un->sun_path;
  if (un->sun_path[0] == '\0') return 0;  // abstract
  char path[sizeof un->sun_path + 1];
  memcpy(path, un->sun_path, n);
  path[n] = '\0';
  if (!rds::may_name_one(path)) return 0;
  struct stat st;
  long r = sys::call(SYS_newfstatat, AT_FDCWD, sys::arg(path), sys::arg(&st), 0);
  bool hit = rds::is_listed(path);
  if (hit) {
    if (r == -ENOENT || r == -ENOTDIR) return r;  // no daemon: nothing reachable
  } else {
    if (r != 0 || !S_ISSOCK(st.st_mode)) return 0;
    for (const char* p : rds::kPaths) {
      struct stat ls;
      if (sys::call(SYS_newfstatat, AT_FDCWD, sys::arg(p), sys::arg(&ls), 0) == 0 &&
          ls.st_dev == st.st_dev && ls.st_ino == st.st_ino) {
        hit = true;
        break;
      }
    }
    if (!hit) return 0;
  }
  char target[sizeof path + 8];
  memcpy(target, "unix:", 5);
  memcpy(target + 5, path, n + 1);
  broker_client::audit("connect", target, rds::kRule, "deny", rds::kMessage, ECONNREFUSED);
  return -ECONNREFUSED;
}

}  // namespace

bool redirects_stream(int fd) noexcept {
  if (session_ports().proxy == 0) return false;
  int type = 0, family = 0;
  return sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) == 0 && type == SOCK_STREAM &&
         sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &family) == 0 &&
         (family == AF_INET || family == AF_INET6);
}

NetOutcome decide_datagram(int fd, const struct sockaddr* sa, socklen_t len,
                           struct sockaddr_storage* buf, const struct sockaddr** out,
                           socklen_t* out_len, bool decide) noexcept {
  *out = sa;
  *out_len = len;
  const uint16_t dns_port = session_ports().dns;
  cidr::IpAddr ip;
  uint16_t port = 0;
  if (dns_port != 0 && sa != nullptr && len >= static_cast<socklen_t>(sizeof(sa_family_t)) &&
      (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
      cidr::from_sockaddr(sa, len, &ip, &port) && port == 53) {
    int type = 0, family = 0;
    if (sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) == 0 && type == SOCK_DGRAM &&
        sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &family) == 0 &&
        (family == AF_INET || family == AF_INET6)) {
      // Every DNS query goes to the session's resolver, which decides the name; the
      // address the program chose is only remembered, to be shown as the answer's source.
      PeerTable::get().record(inode_of(fd), sa, len);
      *out_len = loopback_addr(family, false, dns_port, buf);
      *out = reinterpret_cast<const struct sockaddr*>(buf);
      return NetOutcome{};
    }
  }
  return decide ? decide_connect(sa, len) : NetOutcome{};
}

long connect(int fd, const struct sockaddr* sa, socklen_t len) noexcept {
  const Ports p = session_ports();
  cidr::IpAddr ip;
  uint16_t port = 0;
  if ((p.proxy != 0 || p.dns != 0) && sa != nullptr &&
      len >= static_cast<socklen_t>(sizeof(sa_family_t)) &&
      (sa->sa_family == AF_INET || sa->sa_family == AF_INET6) &&
      cidr::from_sockaddr(sa, len, &ip, &port) && !is_agentsh_port(p, ip, port)) {
    int type = 0, family = 0;
    if (sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type) == 0 &&
        sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &family) == 0 &&
        (family == AF_INET || family == AF_INET6)) {
      if (type == SOCK_STREAM && port == 53 && p.dns != 0 && sa->sa_family == family) {
        // DNS over TCP (a resolver's fallback for long answers): to the DNS proxy's TCP
        // side, like the datagrams, whatever resolver was asked.
        sockaddr_storage buf;
        socklen_t blen = loopback_addr(family, false, p.dns, &buf);
        long r = sys::call(SYS_connect, fd, sys::arg(&buf), blen);
        if (r == 0 || r == -EINPROGRESS) PeerTable::get().record(inode_of(fd), sa, len);
        return r;
      }
      if (type == SOCK_STREAM && p.proxy != 0 && port != 0) {
        return redirect_stream(fd, family, sa, len, ip, port, p.proxy);
      }
      if (type == SOCK_DGRAM) {
        sockaddr_storage buf;
        const struct sockaddr* to = sa;
        socklen_t tolen = len;
        NetOutcome o = decide_datagram(fd, sa, len, &buf, &to, &tolen);
        if (!o.allow) return -o.err;
        return sys::call(SYS_connect, fd, sys::arg(to), tolen);
      }
    }
  }
  if (HookState::get().active()) {
    long refused = refuse_resolver_daemon(sa, len);
    if (refused != 0) return refused;
  }
  NetOutcome o = decide_connect(sa, len);
  if (!o.allow) return -o.err;
  return sys::call(SYS_connect, fd, sys::arg(sa), len);
}

void restore_source(int fd, struct sockaddr* from, socklen_t* len, socklen_t cap) noexcept {
  if (from == nullptr || len == nullptr || PeerTable::get().empty()) return;
  if (!peer_is_agentsh(from, *len < cap ? *len : cap, session_ports().dns)) return;
  sockaddr_storage orig;
  socklen_t n = PeerTable::get().lookup(inode_of(fd), &orig, sizeof orig);
  if (n == 0) return;
  memcpy(from, &orig, n < cap ? n : cap);
  *len = n;
}

void restore_peer(int fd, struct sockaddr* sa, socklen_t* len, socklen_t cap) noexcept {
  if (sa == nullptr || len == nullptr || PeerTable::get().empty()) return;
  const Ports p = session_ports();
  socklen_t have = *len < cap ? *len : cap;
  if (!peer_is_agentsh(sa, have, p.proxy) && !peer_is_agentsh(sa, have, p.dns)) return;
  sockaddr_storage orig;
  socklen_t n = PeerTable::get().lookup(inode_of(fd), &orig, sizeof orig);
  if (n == 0) return;
  memcpy(sa, &orig, n < cap ? n : cap);
  *len = n;
}

NetOutcome decide_connect(const struct sockaddr* sa, socklen_t len) noexcept {
  NetOutcome o;
  HookState& s = HookState::get();
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return o;
  if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return o;
  cidr::IpAddr ip;
  uint16_t port = 0;
  if (!cidr::from_sockaddr(sa, len, &ip, &port)) return o;  // the kernel will say EINVAL
  if (s.mode() == HookState::Mode::kFailClosed) {
    s.warn_fail_closed_once();
    o.allow = false;
    o.err = EACCES;
    return o;
  }
  char domain[NameTable::kNameMax];
  size_t dlen = NameTable::get().lookup(ip, domain, sizeof domain);
  snapshot::NetVerdict v = s.view().check_net(dlen != 0 ? domain : nullptr, dlen, &ip, port);
  if (v.decision == Decision::kAllow) return o;

  LineBuf target;
  describe(domain, dlen, ip, port, &target);
  const bool enforce = s.enforce();
  switch (v.decision) {
    case Decision::kAllow:
      return o;
    case Decision::kAudit:
    case Decision::kRedirect:    // connection redirects: the proxy's job (later issue)
    case Decision::kSoftDelete:  // meaningless for a connection: allow, but say so
      broker_client::audit("connect", target.data(), v.rule,
                           policy::decision_name(v.decision).data(), v.message, 0);
      return o;
    case Decision::kApprove: {
      policy::ApprovalMode m = s.approval_mode();
      if (!enforce || m == policy::ApprovalMode::kShadow) {
        broker_client::audit("connect", target.data(), v.rule, "approve", v.message, 0);
        return o;
      }
      if ((m == policy::ApprovalMode::kApi || m == policy::ApprovalMode::kTty) &&
          broker_client::approve("network", "connect", target.data(), v.rule, v.message)) {
        return o;
      }
      if (m == policy::ApprovalMode::kNone) {
        broker_client::audit("connect", target.data(), v.rule, "deny", "approval required", EACCES);
      }
      o.allow = false;
      o.err = EACCES;
      return o;
    }
    case Decision::kDeny:
      break;
  }
  broker_client::audit("connect", target.data(), v.rule, "deny", v.message, enforce ? EACCES : 0);
  if (enforce) {
    o.allow = false;
    o.err = EACCES;
  }
  return o;
}

namespace {

// Points `st` at 127.0.0.1:<dns_port> and nothing else. glibc sends to
// __res_get_nsaddr(st, i) for i < nscount: nsaddr_list[i] when its family is set,
// otherwise the IPv6 address kept in _u._ext.nsaddrs[i] — so slot 0 gets an AF_INET
// address (which wins over a stale IPv6 one there) and nscount 1 hides every other slot.
// Its cached per-server sockets (_u._ext) are compared with nsaddr_list on each send and
// closed when they differ, so a socket still connected to the old server is not reused.
void point_state(struct __res_state* st, uint16_t dns_port) noexcept {
  const in_addr_t lo = htonl(INADDR_LOOPBACK);
  if (st->nscount == 1 && st->nsaddr_list[0].sin_family == AF_INET &&
      st->nsaddr_list[0].sin_port == htons(dns_port) && st->nsaddr_list[0].sin_addr.s_addr == lo) {
#ifdef RES_NORELOAD
    if ((st->options & RES_NORELOAD) != 0 || (st->options & RES_INIT) == 0) return;
#else
    return;
#endif
  }
  st->nsaddr_list[0].sin_family = AF_INET;
  st->nsaddr_list[0].sin_port = htons(dns_port);
  st->nsaddr_list[0].sin_addr.s_addr = lo;
  st->nscount = 1;
#ifdef RES_NORELOAD
  // Never reload resolv.conf over it (the _res path; harmless for res_n* states).
  if ((st->options & RES_INIT) != 0) st->options |= RES_NORELOAD;
#endif
}

}  // namespace

void point_resolver_at_session_dns() noexcept {
  const uint16_t dns_port = session_ports().dns;
  if (dns_port == 0) return;
  struct __res_state* st = &_res;  // this thread's
  const int saved = errno;
  if ((st->options & RES_INIT) == 0) {
    // libc's own res_init, not our interposer: it reads resolv.conf into _res (so the
    // resolver will not do it again over our change), then we replace the servers.
    auto real_init = net_guard_resolver::fns().res_init;
    if (real_init == nullptr || real_init() != 0) {
      errno = saved;
      return;  // the resolver cannot start anyway; its own call fails the same way
    }
  }
  point_state(st, dns_port);
  errno = saved;
}

void point_state_at_session_dns(struct __res_state* st) noexcept {
  const uint16_t dns_port = session_ports().dns;
  if (dns_port == 0 || st == nullptr) return;
  point_state(st, dns_port);
}

}  // namespace agentsh::hook::net_guard
