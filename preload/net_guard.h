// Network decisions for connect/sendto/sendmsg on AF_INET/AF_INET6: the snapshot's
// network rules (snapshot::View::check_net) with the domain the program resolved for
// that IP (NameTable) when there is one. The proxy and DNS ports of the session on
// loopback are always reachable (the View handles that).
//
// When the session has a proxy (snapshot header proxy_port != 0), connect() of a TCP
// socket to any address other than agentsh's own ports is not decided here at all: the
// socket is connected to the proxy, which decides (domain from its DNS name map, the
// TLS SNI, the HTTP Host, CIDR and port) and connects upstream — see connect() below and
// proxy/transparent_protocol.h. Datagrams to port 53 go to the session's DNS proxy.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// untouched. Async-signal-safe except for an `approve` decision (blocks on the broker).
#pragma once

#include <resolv.h>
#include <sys/socket.h>

namespace agentsh::hook::net_guard {

struct NetOutcome {
  bool allow = true;
  int err = 0;  // EACCES when denied
};

// Decides a connection (or datagram) to `sa`. Families other than AF_INET/AF_INET6
// (unix sockets, netlink…) are not network policy: allowed.
NetOutcome decide_connect(const struct sockaddr* sa, socklen_t len) noexcept;

// connect(fd, sa, len) for the program; returns 0 or -errno.
//  * TCP to an inet address, session with a proxy: the socket is connected to
//    127.0.0.1:<proxy_port> (::ffff:127.0.0.1 for an AF_INET6 socket; an unbound
//    IPV6_V6ONLY socket has the flag cleared first, a bound one tries [::1]), the
//    288-byte transparent header is written and the proxy's status byte read, all
//    blocking (O_NONBLOCK is cleared for the handshake and restored: loopback is fast,
//    and a non-blocking caller cannot be given a later SO_ERROR other than 0).
//    Status 0 → 0, or -EINPROGRESS for a non-blocking socket (it is already connected:
//    poll says writable, SO_ERROR is 0); status e → -e. The original destination is
//    remembered for getpeername() (PeerTable).
//  * UDP to port 53, session with a DNS proxy: connected to the DNS proxy instead.
//  * A unix socket of a local resolver daemon (nscd, systemd-resolved's varlink; the list
//    is common/resolver_daemon_sockets.h), hook active: -ECONNREFUSED ("daemon not
//    running" to glibc, which then resolves through the DNS agentsh points it at), one
//    audit record (rule dns-daemon-bypass); -ENOENT without a record when it is absent.
//  * Anything else: decide_connect(), then the real connect.
// Blocks for as long as the proxy takes to decide (an approval, an upstream connect).
long connect(int fd, const struct sockaddr* sa, socklen_t len) noexcept;

// True when `fd` is a TCP (AF_INET/AF_INET6 SOCK_STREAM) socket and the session has a
// proxy: a TCP Fast Open send (sendto/sendmsg with MSG_FASTOPEN and an address) on it
// must go through connect() above instead of reaching the address directly.
bool redirects_stream(int fd) noexcept;

// Datagram destination `sa` of sendto/sendmsg/sendmmsg on `fd`: decided; port 53 (when
// the session has a DNS proxy) is rewritten into *buf and *out/*out_len point there,
// otherwise they are sa/len. Only called with a non-null sa. `decide` false: only the
// rewrite (a destination already decided, e.g. sendmmsg's second pass), no decision or
// audit record again.
NetOutcome decide_datagram(int fd, const struct sockaddr* sa, socklen_t len,
                           struct sockaddr_storage* buf, const struct sockaddr** out,
                           socklen_t* out_len, bool decide = true) noexcept;

// After recvfrom/recvmsg filled `from` (*len bytes): a datagram from the session's DNS
// proxy on a socket whose queries were redirected is reported as coming from the
// resolver the program addressed (resolvers drop answers from unexpected sources).
void restore_source(int fd, struct sockaddr* from, socklen_t* len, socklen_t cap) noexcept;

// After getpeername filled `sa`: for a redirected socket, the original destination.
void restore_peer(int fd, struct sockaddr* sa, socklen_t* len, socklen_t cap) noexcept;

// Before the libc resolver runs in this thread (getaddrinfo, gethostbyname*,
// gethostbyaddr*, getnameinfo, res_query & co., and after res_init): when the
// session has a DNS proxy, this thread's resolver state (`_res`, per thread in glibc)
// is initialised if needed and its name servers replaced by 127.0.0.1:<dns_port>.
// glibc's resolver sends its queries with internal socket calls the hook cannot
// interpose, so without this, hook-only mode would let them reach the configured
// resolver (a DNS exfiltration channel). glibc (>= 2.26) keeps an application-modified
// `_res` as is (no reload from resolv.conf). Idempotent and cheap once done; may
// allocate (res_init), like the resolver call it precedes; errno preserved.
void point_resolver_at_session_dns() noexcept;

// Before a res_n* call (res_nquery, res_nsend, …) runs on the caller's own state, and
// after res_ninit filled one from resolv.conf: when the session has a DNS proxy, `st`'s
// name servers become 127.0.0.1:<dns_port> only (nscount 1; slot 0 as an AF_INET
// address, which glibc prefers to an IPv6 server kept in _u._ext). Done whatever
// st->options says: a program may fill a state by hand without res_ninit, and glibc's
// res_n* functions use the state as given. Only the server fields (and RES_NORELOAD) are
// written; no allocation, errno untouched.
void point_state_at_session_dns(struct __res_state* st) noexcept;

}  // namespace agentsh::hook::net_guard
