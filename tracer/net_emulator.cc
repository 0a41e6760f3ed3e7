#include "tracer/net_emulator.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "tracer/remote_memory.h"

namespace agentsh::tracer {

namespace {
constexpr size_t kMaxPayload = 64u << 20;
int as_fd(uint64_t v) { return static_cast<int>(static_cast<uint32_t>(v)); }
}  // namespace

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
    if (can_continue(c)) return Outcome::proceed();
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
  if (inet && alen >= sizeof(sa_family_t) && !permit(c, ss, "sendto"))
    return Outcome::error(EACCES);
  if (len > kMaxPayload) return Outcome::error(EMSGSIZE);
  std::vector<char> buf(len);
  r = remote_memory::read(c.tid, c.arg(1), buf.data(), len);
  if (r < 0) return Outcome::error(r == -EPERM ? EACCES : -r);
  if (!ctx_.listener.id_valid(c.id)) return Outcome::error(ESRCH);
  // MSG_NOSIGNAL: a broken pipe must not signal the supervisor; the caller gets its
  // SIGPIPE below if it did not ask for MSG_NOSIGNAL itself.
  ssize_t n = ::sendto(sock.get(), buf.data(), len, flags | MSG_NOSIGNAL,
                       reinterpret_cast<sockaddr*>(&ss), alen);
  if (n < 0 && errno == EPIPE && !(flags & MSG_NOSIGNAL))
    syscall(SYS_tgkill, c.tgid, c.tid, SIGPIPE);
  return Outcome::from_ret(n < 0 ? -errno : n);
}

}  // namespace agentsh::tracer
