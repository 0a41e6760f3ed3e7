// Interposed: connect, sendto, sendmsg, sendmmsg (datagrams to an address),
// getaddrinfo, gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r (their
// answers go into the NameTable so a later connect() by IP is decided by domain).
//
// House rules: no exceptions, no malloc on the decision path (the resolver wrappers call
// libc's resolver, which allocates for the program as it always does), no locks, no
// stdio, raw syscalls, errno preserved on the allow path, re-entry passes through.
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstring>

#include "policy/cidr.h"
#include "preload/interpose.h"
#include "preload/name_table.h"
#include "preload/net_guard.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

using agentsh::hook::g_real;
using agentsh::hook::governed;
using agentsh::hook::NameTable;
using agentsh::hook::no_real;
using agentsh::hook::ret_int;
using agentsh::hook::ret_long;
namespace net_guard = agentsh::hook::net_guard;
namespace sys = agentsh::hook::sys;
namespace cidr = agentsh::cidr;

HOOK_EXPORT int hook_connect(int fd, const struct sockaddr* sa, socklen_t len) __asm__("connect");
HOOK_EXPORT ssize_t hook_sendto(int fd, const void* buf, size_t n, int flags,
                                const struct sockaddr* sa, socklen_t len) __asm__("sendto");
HOOK_EXPORT ssize_t hook_sendmsg(int fd, const struct msghdr* msg, int flags) __asm__("sendmsg");
HOOK_EXPORT int hook_sendmmsg(int fd, struct mmsghdr* v, unsigned n, int flags) __asm__("sendmmsg");
HOOK_EXPORT int hook_getaddrinfo(const char* node, const char* service,
                                 const struct addrinfo* hints,
                                 struct addrinfo** res) __asm__("getaddrinfo");
HOOK_EXPORT struct hostent* hook_gethostbyname(const char* name) __asm__("gethostbyname");
HOOK_EXPORT struct hostent* hook_gethostbyname2(const char* name, int af) __asm__("gethostbyname2");
HOOK_EXPORT int hook_gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t len,
                                     struct hostent** result,
                                     int* h_errnop) __asm__("gethostbyname_r");
HOOK_EXPORT int hook_gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf,
                                      size_t len, struct hostent** result,
                                      int* h_errnop) __asm__("gethostbyname2_r");

namespace {

// A literal address is not a name: nothing to learn from "resolving" it.
bool is_literal(const char* node) noexcept {
  cidr::IpAddr ip;
  return cidr::parse_ip(node, strlen(node), &ip);
}

void record_hostent(const char* name, const struct hostent* h) noexcept {
  if (h == nullptr || name == nullptr || is_literal(name)) return;
  if (h->h_addrtype != AF_INET && h->h_addrtype != AF_INET6) return;
  for (char** a = h->h_addr_list; a != nullptr && *a != nullptr; ++a) {
    cidr::IpAddr ip;
    uint16_t port = 0;
    if (h->h_addrtype == AF_INET) {
      struct sockaddr_in sin;
      memset(&sin, 0, sizeof sin);
      sin.sin_family = AF_INET;
      memcpy(&sin.sin_addr, *a, 4);
      if (!cidr::from_sockaddr(reinterpret_cast<sockaddr*>(&sin), sizeof sin, &ip, &port)) continue;
    } else {
      struct sockaddr_in6 sin6;
      memset(&sin6, 0, sizeof sin6);
      sin6.sin6_family = AF_INET6;
      memcpy(&sin6.sin6_addr, *a, 16);
      if (!cidr::from_sockaddr(reinterpret_cast<sockaddr*>(&sin6), sizeof sin6, &ip, &port)) {
        continue;
      }
    }
    NameTable::get().record(name, ip);
  }
}

}  // namespace

int hook_connect(int fd, const struct sockaddr* sa, socklen_t len) {
  if (!governed()) {
    if (g_real.connect != nullptr) return g_real.connect(fd, sa, len);
    return ret_int(sys::direct(SYS_connect, fd, sys::arg(sa), len));
  }
  net_guard::NetOutcome o = net_guard::decide_connect(sa, len);
  if (!o.allow) return ret_int(-o.err);
  return ret_int(sys::call(SYS_connect, fd, sys::arg(sa), len));
}

ssize_t hook_sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* sa,
                    socklen_t len) {
  if (!governed() || sa == nullptr) {
    if (g_real.sendto != nullptr) return g_real.sendto(fd, buf, n, flags, sa, len);
    return ret_long(
        sys::direct(SYS_sendto, fd, sys::arg(buf), sys::arg(n), flags, sys::arg(sa), len));
  }
  net_guard::NetOutcome o = net_guard::decide_connect(sa, len);
  if (!o.allow) return ret_long(-o.err);
  return ret_long(sys::call(SYS_sendto, fd, sys::arg(buf), sys::arg(n), flags, sys::arg(sa), len));
}

ssize_t hook_sendmsg(int fd, const struct msghdr* msg, int flags) {
  if (!governed() || msg == nullptr || msg->msg_name == nullptr) {
    if (g_real.sendmsg != nullptr) return g_real.sendmsg(fd, msg, flags);
    return ret_long(sys::direct(SYS_sendmsg, fd, sys::arg(msg), flags));
  }
  net_guard::NetOutcome o = net_guard::decide_connect(
      static_cast<const struct sockaddr*>(msg->msg_name), msg->msg_namelen);
  if (!o.allow) return ret_long(-o.err);
  return ret_long(sys::call(SYS_sendmsg, fd, sys::arg(msg), flags));
}

int hook_sendmmsg(int fd, struct mmsghdr* v, unsigned n, int flags) {
  if (!governed() || v == nullptr) {
    if (g_real.sendmmsg != nullptr) return g_real.sendmmsg(fd, v, n, flags);
    return ret_int(sys::direct(SYS_sendmmsg, fd, sys::arg(v), n, flags));
  }
  // Send the allowed prefix; a denied datagram first in line fails the call.
  unsigned ok = 0;
  int err = 0;
  for (; ok < n; ++ok) {
    const struct msghdr& m = v[ok].msg_hdr;
    if (m.msg_name == nullptr) continue;
    net_guard::NetOutcome o =
        net_guard::decide_connect(static_cast<const struct sockaddr*>(m.msg_name), m.msg_namelen);
    if (!o.allow) {
      err = o.err;
      break;
    }
  }
  if (ok == 0 && n > 0) return ret_int(-err);
  return ret_int(sys::call(SYS_sendmmsg, fd, sys::arg(v), ok, flags));
}

int hook_getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                     struct addrinfo** res) {
  if (g_real.getaddrinfo == nullptr) return EAI_SYSTEM;
  if (!governed()) return g_real.getaddrinfo(node, service, hints, res);
  int r;
  {
    agentsh::hook::ReentryGuard guard;
    r = g_real.getaddrinfo(node, service, hints, res);
  }
  if (r == 0 && node != nullptr && res != nullptr && !is_literal(node)) {
    for (const struct addrinfo* ai = *res; ai != nullptr; ai = ai->ai_next) {
      cidr::IpAddr ip;
      uint16_t port = 0;
      if (ai->ai_addr != nullptr && cidr::from_sockaddr(ai->ai_addr, ai->ai_addrlen, &ip, &port)) {
        NameTable::get().record(node, ip);
      }
    }
  }
  return r;
}

struct hostent* hook_gethostbyname(const char* name) {
  if (g_real.gethostbyname == nullptr) return nullptr;
  if (!governed()) return g_real.gethostbyname(name);
  struct hostent* h;
  {
    agentsh::hook::ReentryGuard guard;
    h = g_real.gethostbyname(name);
  }
  record_hostent(name, h);
  return h;
}

struct hostent* hook_gethostbyname2(const char* name, int af) {
  if (g_real.gethostbyname2 == nullptr) return nullptr;
  if (!governed()) return g_real.gethostbyname2(name, af);
  struct hostent* h;
  {
    agentsh::hook::ReentryGuard guard;
    h = g_real.gethostbyname2(name, af);
  }
  record_hostent(name, h);
  return h;
}

int hook_gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t len,
                         struct hostent** result, int* h_errnop) {
  if (g_real.gethostbyname_r == nullptr) return ENOSYS;
  if (!governed()) return g_real.gethostbyname_r(name, ret, buf, len, result, h_errnop);
  int r;
  {
    agentsh::hook::ReentryGuard guard;
    r = g_real.gethostbyname_r(name, ret, buf, len, result, h_errnop);
  }
  if (r == 0 && result != nullptr) record_hostent(name, *result);
  return r;
}

int hook_gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf, size_t len,
                          struct hostent** result, int* h_errnop) {
  if (g_real.gethostbyname2_r == nullptr) return ENOSYS;
  if (!governed()) return g_real.gethostbyname2_r(name, af, ret, buf, len, result, h_errnop);
  int r;
  {
    agentsh::hook::ReentryGuard guard;
    r = g_real.gethostbyname2_r(name, af, ret, buf, len, result, h_errnop);
  }
  if (r == 0 && result != nullptr) record_hostent(name, *result);
  return r;
}
