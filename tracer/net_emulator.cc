#include "tracer/net_emulator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <vector>

#include "common/resolver_daemon_sockets.h"
#include "proxy/ip_address.h"
#include "proxy/transparent_protocol.h"
#include "tracer/remote_memory.h"

namespace agentsh::tracer {

namespace {
constexpr size_t kMaxPayload = 64u << 20;
int as_fd(uint64_t v) {
  return static_cast<int>(static_cast<uint32_t>(v));
}
// Waits for `events` on `fd` in slices, giving up when the caller's notification is
// gone (killed meanwhile). Returns poll's revents, 0 when abandoned, -errno on error.
int wait_for(SupervisorContext& ctx, const Caller& c, int fd, short events) {
  for (;;) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, 1000);
    if (r > 0) return p.revents;
    if (r < 0 && errno != EINTR) return -errno;
    if (!ctx.listener.id_valid(c.id)) return 0;
  }
}

bool is_loopback(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET)
    return (ntohl(reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr.s_addr) >> 24) == 127;
  if (ss.ss_family != AF_INET6) return false;
  const in6_addr& a = reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr;
  if (IN6_IS_ADDR_V4MAPPED(&a)) return a.s6_addr[12] == 127;
  return IN6_IS_ADDR_LOOPBACK(&a);
}

// A unix-socket address the supervisor uses on the caller's behalf must name what it
// names for the caller: a relative path is the caller's, so it is rewritten to go
// through the caller's cwd (/proc/<tid>/cwd/<path>; the kernel follows the magic link
// like any lookup). Absolute and abstract addresses are left alone (one view: same root
// and mount namespace). Returns 0, or -ENAMETOOLONG when the rewritten path does not fit
// in sun_path (a relative path within a few bytes of the 108-byte limit).
int rebase_unix_address(pid_t tid, sockaddr_storage* ss, socklen_t* len) {
  constexpr size_t kOff = offsetof(sockaddr_un, sun_path);
  if (ss->ss_family != AF_UNIX || *len <= kOff) return 0;
  auto* un = reinterpret_cast<sockaddr_un*>(ss);
  if (un->sun_path[0] == '\0' || un->sun_path[0] == '/') return 0;
  const size_t n = strnlen(un->sun_path, std::min<size_t>(*len - kOff, sizeof un->sun_path));
  char buf[sizeof un->sun_path + 32];
  int p = snprintf(buf, sizeof buf, "/proc/%d/cwd/%.*s", tid, static_cast<int>(n), un->sun_path);
  if (p < 0 || static_cast<size_t>(p) >= sizeof un->sun_path) return -ENAMETOOLONG;
  memcpy(un->sun_path, buf, static_cast<size_t>(p) + 1);
  *len = static_cast<socklen_t>(kOff + static_cast<size_t>(p) + 1);
  return 0;
}

}  // namespace

bool NetEmulator::dns_rewrite(int sock, int domain, sockaddr_storage* ss, socklen_t* len) const {
  if (ctx_.dns_port == 0 || (domain != AF_INET && domain != AF_INET6)) return false;
  std::string ip;
  uint16_t port = 0;
  if (!describe(*ss, &ip, &port) || port != 53) return false;
  int type = 0;
  socklen_t tl = sizeof type;
  if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM) return false;
  return rewrite_dns_address(domain, ss, len);
}

bool NetEmulator::rewrite_dns_address(int domain, sockaddr_storage* ss, socklen_t* len) const {
  *ss = sockaddr_storage{};
  if (domain == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(ctx_.dns_port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    *len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(ctx_.dns_port);
    a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff;
    a->sin6_addr.s6_addr[12] = 127;
    a->sin6_addr.s6_addr[15] = 1;
    *len = sizeof *a;
  }
  return true;
}

long NetEmulator::redirect(const Caller& c, int sock, int domain, const sockaddr_storage& ss) {
  namespace tp = proxy::transparent_protocol;
  proxy::IpAddress ip;
  uint16_t port = 0;
  socklen_t slen = ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
  if (!proxy::IpAddress::from_sockaddr(reinterpret_cast<const sockaddr*>(&ss), slen, &ip, &port))
    return -EINVAL;
  if (ss.ss_family != domain) return -EAFNOSUPPORT;  // as tcp_v{4,6}_connect say
  // The proxy listens on 127.0.0.1: an IPv6 socket reaches it v4-mapped. An unbound
  // IPV6_V6ONLY client socket may still drop the flag; a bound one can only try [::1].
  bool v6_lo = false;
  if (domain == AF_INET6) {
    int only = 0;
    socklen_t ol = sizeof only;
    if (getsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &only, &ol) == 0 && only) {
      int zero = 0;
      v6_lo = setsockopt(sock, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero) != 0;
    }
  }
  sockaddr_storage px{};
  socklen_t plen;
  if (domain == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&px);
    a->sin_family = AF_INET;
    a->sin_port = htons(ctx_.proxy_port);
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    plen = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in6*>(&px);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(ctx_.proxy_port);
    if (v6_lo) {
      a->sin6_addr = in6addr_loopback;
    } else {
      a->sin6_addr.s6_addr[10] = a->sin6_addr.s6_addr[11] = 0xff;
      a->sin6_addr.s6_addr[12] = 127;
      a->sin6_addr.s6_addr[15] = 1;
    }
    plen = sizeof *a;
  }
  // The caller's flags stay as they are: a non-blocking socket is driven with poll here.
  int fl = fcntl(sock, F_GETFL);
  if (fl < 0) return -errno;
  const bool nonblock = (fl & O_NONBLOCK) != 0;
  if (::connect(sock, reinterpret_cast<sockaddr*>(&px), plen) != 0) {
    if (errno != EINPROGRESS && errno != EINTR) return -errno;  // EISCONN, EALREADY…
    int ev = wait_for(ctx_, c, sock, POLLOUT);
    if (ev <= 0) return ev < 0 ? ev : -EINTR;
    int err = 0;
    socklen_t el = sizeof err;
    if (getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &el) != 0) return -errno;
    if (err != 0) return -err;
  }
  uint8_t hdr[tp::kHeaderSize];
  tp::encode(ip, port, static_cast<uint32_t>(c.tgid), {}, hdr);
  size_t off = 0;
  while (off < sizeof hdr) {
    ssize_t w = ::send(sock, hdr + off, sizeof hdr - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w > 0) {
      off += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno != EAGAIN && errno != EINTR) return -errno;
    int ev = wait_for(ctx_, c, sock, POLLOUT);
    if (ev <= 0) return ev < 0 ? ev : -EINTR;
  }
  for (;;) {
    uint8_t status = 0;
    ssize_t r = ::recv(sock, &status, 1, MSG_DONTWAIT);
    if (r == 1) {
      if (status != 0) return -status;
      remember_peer(sock, ss);
      return nonblock ? -EINPROGRESS : 0;
    }
    if (r == 0) return -ECONNREFUSED;  // the proxy went away without answering
    if (errno != EAGAIN && errno != EINTR) return -errno;
    int ev = wait_for(ctx_, c, sock, POLLIN);
    if (ev <= 0) return ev < 0 ? ev : -EINTR;
  }
}

void NetEmulator::remember_peer(int sock, const sockaddr_storage& original) {
  uint64_t cookie = 0;
  socklen_t cl = sizeof cookie;
  if (getsockopt(sock, SOL_SOCKET, SO_COOKIE, &cookie, &cl) != 0) return;  // pre-4.13
  peers_.put(cookie, original);
}

Outcome NetEmulator::getpeername(const Caller& c) {
  // Nothing redirected yet (e.g. every connect went through the hook): no fd copy at all.
  if (peers_.size() == 0) return Outcome::proceed();
  // Anything unexpected: let the kernel answer (EBADF, ENOTSOCK, EFAULT…) as usual.
  ScopedFd sock = proc_fs::getfd(c.tid, as_fd(c.arg(0)));
  if (!sock) return Outcome::proceed();
  uint64_t cookie = 0;
  socklen_t cl = sizeof cookie;
  sockaddr_storage orig{};
  socklen_t olen = 0;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_COOKIE, &cookie, &cl) != 0 ||
      !peers_.get(cookie, &orig, &olen))
    return Outcome::proceed();
  // Still connected to agentsh (an AF_UNSPEC disconnect followed by a connect the tracer
  // did not redirect, e.g. to the proxy itself, must show the truth)?
  sockaddr_storage real{};
  socklen_t rlen = sizeof real;
  if (::getpeername(sock.get(), reinterpret_cast<sockaddr*>(&real), &rlen) != 0)
    return Outcome::error(errno);  // ENOTCONN after a reset, as without agentsh
  std::string ip;
  uint16_t port = 0;
  if (!describe(real, &ip, &port) || !is_loopback(real) ||
      (port != ctx_.proxy_port && port != ctx_.dns_port))
    return Outcome::proceed();
  int32_t ulen = 0;
  if (remote_memory::read(c.tid, c.arg(2), &ulen, sizeof ulen) < 0) return Outcome::error(EFAULT);
  if (ulen < 0) return Outcome::error(EINVAL);
  const size_t n = std::min(static_cast<size_t>(ulen), static_cast<size_t>(olen));
  const int32_t full = static_cast<int32_t>(olen);
  iovec local[2] = {{&orig, n}, {const_cast<int32_t*>(&full), sizeof full}};
  iovec remote[2] = {{reinterpret_cast<void*>(c.arg(1)), n},
                     {reinterpret_cast<void*>(c.arg(2)), sizeof full}};
  // Both pieces in one call; a partial write means a bad pointer, as the kernel's EFAULT.
  const size_t want = n + sizeof full;
  ssize_t w = n > 0 ? ::process_vm_writev(c.tid, local, 2, remote, 2, 0)
                    : ::process_vm_writev(c.tid, local + 1, 1, remote + 1, 1, 0);
  if (w < 0 || static_cast<size_t>(w) != want) return Outcome::error(EFAULT);
  if (!ctx_.listener.id_valid(c.id)) return Outcome::error(ESRCH);
  return Outcome::result(0);
}

bool NetEmulator::describe(const sockaddr_storage& ss, std::string* ip, uint16_t* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
      inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], buf, sizeof buf);
    else
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  } else {
    return false;
  }
  *ip = buf;
  return true;
}

bool NetEmulator::permit(const Caller& c, const sockaddr_storage& ss, const char* op) {
  std::string ip;
  uint16_t port = 0;
  if (!describe(ss, &ip, &port)) return true;  // AF_UNSPEC etc.: no destination
  // The session's own proxy and DNS proxy are always reachable.
  if (ip == "127.0.0.1" && port != 0 && (port == ctx_.proxy_port || port == ctx_.dns_port))
    return true;
  Verdict v = ctx_.decider->net(ip, port);
  std::string target = (ss.ss_family == AF_INET6 && ip.find(':') != std::string::npos)
                           ? "[" + ip + "]:" + std::to_string(port)
                           : ip + ":" + std::to_string(port);
  if (!v.allow) {
    ctx_.audit(c.tgid, "network", op, target, v, false);
    return false;
  }
  if (v.audit) ctx_.audit(c.tgid, "network", op, target, v, true);
  return true;
}

int NetEmulator::refuse_resolver_daemon(const Caller& c, const sockaddr_storage& ss,
                                        socklen_t len) {
  namespace rds = resolver_daemon_sockets;
  constexpr size_t kOff = offsetof(sockaddr_un, sun_path);
  if (ss.ss_family != AF_UNIX || len <= kOff) return 0;
  const auto& un = reinterpret_cast<const sockaddr_un&>(ss);
  if (un.sun_path[0] == '\0') return 0;  // abstract
  const std::string path(un.sun_path,
                         strnlen(un.sun_path, std::min(len - kOff, sizeof un.sun_path)));
  if (!rds::may_name_one(path.c_str())) return 0;
  // The caller's view: its root for an absolute path, its cwd for a relative one.
  const std::string proc = "/proc/" + std::to_string(c.tid);
  const std::string seen = path[0] == '/' ? proc + "/root" + path : proc + "/cwd/" + path;
  struct stat st {};
  const int r = ::stat(seen.c_str(), &st) == 0 ? 0 : errno;
  bool hit = rds::is_listed(path.c_str());
  if (hit) {
    if (r == ENOENT || r == ENOTDIR) return r;  // no daemon: nothing reachable
  } else {
    if (r != 0 || !S_ISSOCK(st.st_mode)) return 0;
    for (const char* p : rds::kPaths) {
      struct stat ls {};
      if (::stat((proc + "/root" + p).c_str(), &ls) == 0 && ls.st_dev == st.st_dev &&
          ls.st_ino == st.st_ino) {
        hit = true;
        break;
      }
    }
    if (!hit) return 0;
  }
  ctx_.audit_builtin(c.tgid, "network", "connect", "unix:" + path, rds::kRule, rds::kMessage);
  return ECONNREFUSED;
}

bool NetEmulator::can_continue(const Caller& c) const {
  return !c.state.shared_files && ctx_.procs.thread_count(c.tgid) <= 1;
}

Outcome NetEmulator::connect(const Caller& c) {
  auto len = static_cast<socklen_t>(c.arg(2));
  if (len > sizeof(sockaddr_storage)) return Outcome::error(EINVAL);
  ScopedFd sock = proc_fs::getfd(c.tid, as_fd(c.arg(0)));
  if (!sock) return Outcome::error(EBADF);
  int domain = 0;
  socklen_t dl = sizeof domain;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_DOMAIN, &domain, &dl) != 0)
    return Outcome::error(errno);
  sockaddr_storage ss{};
  if (len > 0) {
    int r = remote_memory::read(c.tid, c.arg(1), &ss, len);
    if (r < 0) return Outcome::error(r == -EPERM ? EACCES : -r);
  }
  if (!ctx_.listener.id_valid(c.id)) return Outcome::error(ESRCH);
  if (domain != AF_INET && domain != AF_INET6) {
    // Only inet sockets reach the network. The socket's domain cannot change, so the
    // call may run as is unless another thread could put a different socket at this fd
    // number before the kernel looks again.
    if (domain == AF_UNIX) {
      if (int e = refuse_resolver_daemon(c, ss, len)) return Outcome::error(e);
    }
    if (can_continue(c)) return Outcome::proceed();
    if (int e = rebase_unix_address(c.tid, &ss, &len)) return Outcome::error(-e);
  } else if (len >= sizeof(sa_family_t) && ctx_.proxy_port != 0 &&
             (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)) {
    int type = 0;
    socklen_t tl = sizeof type;
    std::string ip;
    uint16_t port = 0;
    describe(ss, &ip, &port);
    const bool own = is_loopback(ss) && (port == ctx_.proxy_port || port == ctx_.dns_port);
    if (getsockopt(sock.get(), SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM &&
        port != 0 && !own) {
      if (len < (ss.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6)))
        return Outcome::error(EINVAL);
      if (port == 53 && ctx_.dns_port != 0 && ss.ss_family == domain) {
        // DNS over TCP (a resolver's fallback for long answers): to the DNS proxy's TCP
        // side, like the datagrams, whatever resolver was asked.
        sockaddr_storage to = ss;
        socklen_t tolen = len;
        if (rewrite_dns_address(domain, &to, &tolen)) {
          long r = ::connect(sock.get(), reinterpret_cast<sockaddr*>(&to), tolen);
          if (r == 0 || errno == EINPROGRESS) remember_peer(sock.get(), ss);
          return Outcome::from_ret(r < 0 ? -errno : r);
        }
      }
      return Outcome::from_ret(redirect(c, sock.get(), domain, ss));
    }
    const sockaddr_storage asked = ss;
    if (dns_rewrite(sock.get(), domain, &ss, &len)) {
      // A datagram socket connected to the DNS proxy: getpeername shows the resolver.
      long r = ::connect(sock.get(), reinterpret_cast<sockaddr*>(&ss), len);
      if (r == 0) remember_peer(sock.get(), asked);
      return Outcome::from_ret(r < 0 ? -errno : r);
    }
    if (!permit(c, ss, "connect")) return Outcome::error(EACCES);
  } else if (len >= sizeof(sa_family_t) && !permit(c, ss, "connect")) {
    return Outcome::error(EACCES);
  }
  long r = ::connect(sock.get(), len > 0 ? reinterpret_cast<sockaddr*>(&ss) : nullptr, len);
  return Outcome::from_ret(r < 0 ? -errno : r);
}

Outcome NetEmulator::sendto(const Caller& c) {
  auto alen = static_cast<socklen_t>(c.arg(5));
  if (alen > sizeof(sockaddr_storage)) return Outcome::error(EINVAL);
  size_t len = c.arg(2);
  int flags = static_cast<int>(c.arg(3));
  ScopedFd sock = proc_fs::getfd(c.tid, as_fd(c.arg(0)));
  if (!sock) return Outcome::error(EBADF);
  int domain = 0;
  socklen_t dl = sizeof domain;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_DOMAIN, &domain, &dl) != 0)
    return Outcome::error(errno);
  bool inet = domain == AF_INET || domain == AF_INET6;
  if (!inet && can_continue(c)) return Outcome::proceed();
  sockaddr_storage ss{};
  int r = remote_memory::read(c.tid, c.arg(4), &ss, alen);
  if (r < 0) return Outcome::error(r == -EPERM ? EACCES : -r);
  bool fastopen = false;
  if (inet && (flags & MSG_FASTOPEN) && ctx_.proxy_port != 0 && alen >= sizeof(sa_family_t)) {
    int type = 0;
    socklen_t tl = sizeof type;
    if (getsockopt(sock.get(), SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
      // TCP Fast Open connects as it sends: through the proxy first, then a plain send.
      long r = redirect(c, sock.get(), domain, ss);
      if (r < 0 && r != -EINPROGRESS) return Outcome::error(static_cast<int>(-r));
      fastopen = true;
      flags &= ~MSG_FASTOPEN;
    }
  }
  if (!fastopen && inet && alen >= sizeof(sa_family_t) &&
      !dns_rewrite(sock.get(), domain, &ss, &alen) && !permit(c, ss, "sendto"))
    return Outcome::error(EACCES);
  if (!inet && alen > 0) {
    if (int e = rebase_unix_address(c.tid, &ss, &alen)) return Outcome::error(-e);
  }
  if (len > kMaxPayload) return Outcome::error(EMSGSIZE);
  std::vector<char> buf(len);
  r = remote_memory::read(c.tid, c.arg(1), buf.data(), len);
  if (r < 0) return Outcome::error(r == -EPERM ? EACCES : -r);
  if (!ctx_.listener.id_valid(c.id)) return Outcome::error(ESRCH);
  // MSG_NOSIGNAL: a broken pipe must not signal the supervisor; the caller gets its
  // SIGPIPE below if it did not ask for MSG_NOSIGNAL itself.
  ssize_t n = ::sendto(sock.get(), buf.data(), len, flags | MSG_NOSIGNAL,
                       fastopen ? nullptr : reinterpret_cast<sockaddr*>(&ss), fastopen ? 0 : alen);
  if (n < 0 && errno == EPIPE && !(flags & MSG_NOSIGNAL))
    syscall(SYS_tgkill, c.tgid, c.tid, SIGPIPE);
  return Outcome::from_ret(n < 0 ? -errno : n);
}

long NetEmulator::send_one(const Caller& c, int sock, int domain, uint64_t addr, int flags) {
  const bool inet = domain == AF_INET || domain == AF_INET6;
  msghdr m{};
  if (int r = remote_memory::read(c.tid, addr, &m, sizeof m); r < 0)
    return r == -EPERM ? -EACCES : r;
  sockaddr_storage name{};
  if (m.msg_name != nullptr && m.msg_namelen > 0) {
    if (m.msg_namelen > sizeof name) return -EINVAL;
    int r =
        remote_memory::read(c.tid, reinterpret_cast<uint64_t>(m.msg_name), &name, m.msg_namelen);
    if (r < 0) return r;
    int type = 0;
    socklen_t tl = sizeof type;
    if (inet && (flags & MSG_FASTOPEN) && ctx_.proxy_port != 0 &&
        getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 && type == SOCK_STREAM) {
      // TCP Fast Open: connect through the proxy, then send without the address.
      long r = redirect(c, sock, domain, name);
      if (r < 0 && r != -EINPROGRESS) return r;
      flags &= ~MSG_FASTOPEN;
      m.msg_name = nullptr;
      m.msg_namelen = 0;
    } else if (inet && !dns_rewrite(sock, domain, &name, &m.msg_namelen) &&
               !permit(c, name, "sendmsg")) {
      return -EACCES;
    } else if (!inet) {
      if (int e = rebase_unix_address(c.tid, &name, &m.msg_namelen)) return e;
    }
  }
  if (m.msg_iovlen > UIO_MAXIOV) return -EMSGSIZE;
  std::vector<iovec> iov(m.msg_iovlen);
  if (!iov.empty()) {
    int r = remote_memory::read(c.tid, reinterpret_cast<uint64_t>(m.msg_iov), iov.data(),
                                iov.size() * sizeof(iovec));
    if (r < 0) return r;
  }
  size_t total = 0;
  for (const auto& v : iov) total += v.iov_len;
  if (total > kMaxPayload) return -EMSGSIZE;
  // Datagram or stream, one contiguous copy sends the same bytes.
  std::vector<char> data(total);
  size_t off = 0;
  for (const auto& v : iov) {
    if (v.iov_len == 0) continue;
    int r = remote_memory::read(c.tid, reinterpret_cast<uint64_t>(v.iov_base), data.data() + off,
                                v.iov_len);
    if (r < 0) return r;
    off += v.iov_len;
  }
  if (m.msg_controllen > 65536) return -ENOBUFS;
  std::vector<char> control(m.msg_controllen);
  std::vector<ScopedFd> passed;  // SCM_RIGHTS: the caller's fds, as ours
  if (!control.empty()) {
    int r = remote_memory::read(c.tid, reinterpret_cast<uint64_t>(m.msg_control), control.data(),
                                control.size());
    if (r < 0) return r;
    msghdr tmp{};
    tmp.msg_control = control.data();
    tmp.msg_controllen = control.size();
    for (cmsghdr* h = CMSG_FIRSTHDR(&tmp); h != nullptr; h = CMSG_NXTHDR(&tmp, h)) {
      if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
      size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int* fds = reinterpret_cast<int*>(CMSG_DATA(h));
      for (size_t i = 0; i < n; ++i) {
        ScopedFd mine = proc_fs::getfd(c.tid, fds[i]);
        if (!mine) return -EBADF;
        fds[i] = mine.get();
        passed.push_back(std::move(mine));
      }
    }
  }
  iovec one{data.data(), total};
  msghdr out{};
  out.msg_name = m.msg_name != nullptr && m.msg_namelen > 0 ? &name : nullptr;
  out.msg_namelen = out.msg_name ? m.msg_namelen : 0;
  out.msg_iov = total > 0 ? &one : nullptr;
  out.msg_iovlen = total > 0 ? 1 : 0;
  out.msg_control = control.empty() ? nullptr : control.data();
  out.msg_controllen = control.size();
  ssize_t n = ::sendmsg(sock, &out, flags | MSG_NOSIGNAL);
  if (n < 0 && errno == EPIPE && !(flags & MSG_NOSIGNAL))
    syscall(SYS_tgkill, c.tgid, c.tid, SIGPIPE);
  return n < 0 ? -errno : n;
}

Outcome NetEmulator::sendmsg(const Caller& c) {
  const bool many = c.data->nr == SYS_sendmmsg;
  ScopedFd sock = proc_fs::getfd(c.tid, as_fd(c.arg(0)));
  if (!sock) return Outcome::error(EBADF);
  int domain = 0;
  socklen_t dl = sizeof domain;
  if (getsockopt(sock.get(), SOL_SOCKET, SO_DOMAIN, &domain, &dl) != 0)
    return Outcome::error(errno);
  const bool inet = domain == AF_INET || domain == AF_INET6;
  // Not the network (unix, netlink): as is, unless the fd could be swapped meanwhile.
  if (!inet && can_continue(c)) return Outcome::proceed();
  if (!ctx_.listener.id_valid(c.id)) return Outcome::error(ESRCH);
  if (!many) {
    long r = send_one(c, sock.get(), domain, c.arg(1), static_cast<int>(c.arg(2)));
    return Outcome::from_ret(r);
  }
  // sendmmsg: each message in turn; the count sent, or the first error if none was.
  unsigned vlen = static_cast<unsigned>(c.arg(2));
  if (vlen > UIO_MAXIOV) vlen = UIO_MAXIOV;
  const int flags = static_cast<int>(c.arg(3));
  unsigned sent = 0;
  for (; sent < vlen; ++sent) {
    uint64_t at = c.arg(1) + sent * sizeof(mmsghdr);
    long r = send_one(c, sock.get(), domain, at, flags);
    if (r < 0) {
      if (sent == 0) return Outcome::error(static_cast<int>(-r));
      break;
    }
    // msg_len of this entry, written back into the caller.
    auto len = static_cast<unsigned>(r);
    iovec local{&len, sizeof len};
    iovec remote{reinterpret_cast<void*>(at + offsetof(mmsghdr, msg_len)), sizeof len};
    if (process_vm_writev(c.tid, &local, 1, &remote, 1, 0) != sizeof len) break;
  }
  return Outcome::result(sent);
}

}  // namespace agentsh::tracer
