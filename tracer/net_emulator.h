// Decides and performs a caller's connect() and sendto(addr) in the supervisor.
//
// The destination is copied once, decided, and the call is made on a duplicate of the
// caller's socket (pidfd_getfd) with the copy: the socket is the same open file
// description, so the caller's socket ends up connected (or the datagram sent) exactly
// as decided, whatever its other threads write into the sockaddr afterwards.
// When the session has a proxy (ctx.proxy_port != 0), a TCP connect to any inet address
// other than agentsh's own ports is redirected: the duplicate is connected to
// 127.0.0.1:<proxy_port>, the transparent header (proxy/transparent_protocol.h) written
// and the status byte read here, and the caller gets 0 (-EINPROGRESS for a non-blocking
// socket, already connected) or the proxy's errno. The proxy decides, audits and
// connects upstream; the tracer makes no local decision for those.
// The original destination of every socket redirected that way (and of DNS sockets
// connected to the DNS proxy) is remembered by socket cookie, and getpeername on such a
// socket writes it into the caller's memory; other getpeername calls are continued.
// Sockets that are not AF_INET/AF_INET6 are outside network policy (except connects to a
// local resolver daemon's unix socket: refused, see refuse_resolver_daemon); their calls are
// continued when the caller cannot swap the fd underneath (single-threaded, file table
// not shared), emulated otherwise.
// Thread-safety: as FsEmulator.
#pragma once

#include <sys/socket.h>

#include <string>

#include "tracer/net_emulator_peer_map.h"
#include "tracer/notification.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class NetEmulator {
 public:
  explicit NetEmulator(SupervisorContext& ctx) : ctx_(ctx) {}
  Outcome connect(const Caller& c);
  Outcome sendto(const Caller& c);
  Outcome sendmsg(const Caller& c);  // sendmsg and sendmmsg
  // getpeername(fd, addr, addrlen): the original destination of a redirected socket
  // (truncated to *addrlen like the kernel does, *addrlen set to its size); continued
  // for every other socket.
  Outcome getpeername(const Caller& c);

  // "ip", port from an inet sockaddr (v4-mapped v6 shown as v4). False for other families.
  static bool describe(const sockaddr_storage& ss, std::string* ip, uint16_t* port);

 private:
  bool permit(const Caller& c, const sockaddr_storage& ss, const char* op);
  // One msghdr at `addr` of the caller, copied and sent on `sock`. Returns bytes sent or
  // -errno (-EACCES when its destination is denied).
  long send_one(const Caller& c, int sock, int domain, uint64_t addr, int flags);
  bool can_continue(const Caller& c) const;
  // A connect to a local resolver daemon's unix socket (common/resolver_daemon_sockets.h),
  // the path resolved in the caller's root and cwd: ECONNREFUSED (audited, rule
  // dns-daemon-bypass), or ENOENT/ENOTDIR when a listed spelling reaches nothing; 0 for
  // any other address.
  int refuse_resolver_daemon(const Caller& c, const sockaddr_storage& ss, socklen_t len);
  // A datagram socket's destination port 53 → the session's DNS proxy (rewrites *ss and
  // *len in place; true if it did). Decided by the DNS proxy, per name.
  bool dns_rewrite(int sock, int domain, sockaddr_storage* ss, socklen_t* len) const;
  // *ss/*len := 127.0.0.1:<dns_port> in `domain` (v4-mapped for AF_INET6).
  bool rewrite_dns_address(int domain, sockaddr_storage* ss, socklen_t* len) const;
  // The proxy redirect of a TCP connect (see above); a syscall-style return.
  long redirect(const Caller& c, int sock, int domain, const sockaddr_storage& ss);
  // Records `original` as what getpeername on `sock` must show.
  void remember_peer(int sock, const sockaddr_storage& original);
  SupervisorContext& ctx_;
  NetEmulatorPeerMap peers_;
};

}  // namespace agentsh::tracer
