// Network decisions for connect/sendto/sendmsg on AF_INET/AF_INET6: the snapshot's
// network rules (snapshot::View::check_net) with the domain the program resolved for
// that IP (NameTable) when there is one. The proxy and DNS ports of the session on
// loopback are always reachable (the View handles that).
//
// decide_connect() is the one seam for outbound connections: redirecting them to the
// proxy (a later issue) belongs here and nowhere else.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// untouched. Async-signal-safe except for an `approve` decision (blocks on the broker).
#pragma once

#include <sys/socket.h>

namespace agentsh::hook::net_guard {

struct NetOutcome {
  bool allow = true;
  int err = 0;  // EACCES when denied
};

// Decides a connection (or datagram) to `sa`. Families other than AF_INET/AF_INET6
// (unix sockets, netlink…) are not network policy: allowed.
NetOutcome decide_connect(const struct sockaddr* sa, socklen_t len) noexcept;

}  // namespace agentsh::hook::net_guard
