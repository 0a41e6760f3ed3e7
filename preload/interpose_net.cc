// Interposed: connect (TCP redirected to the session's proxy, see net_guard.h), sendto,
// sendmsg, sendmmsg (datagrams to an address; port 53 redirected to the DNS proxy),
// recvfrom, recvmsg, recvmmsg, getpeername (redirected sockets show the peer the program
// asked for),
// getaddrinfo, gethostbyname, gethostbyname2, gethostbyname_r, gethostbyname2_r (their
// answers go into the NameTable so a later connect() by IP is decided by domain; before
// they run, this thread's resolver is pointed at the session's DNS proxy, since libc's
// own query sockets are out of the hook's reach),
// and, pointed the same way (see the section at the end): getnameinfo, gethostbyaddr,
// gethostbyaddr_r, the res_* API (res_query, res_search, res_querydomain, res_send, their
// res_n* forms on the caller's state, res_init, res_ninit; `res_x` and `__res_x` names),
// getaddrinfo_a (resolved in the caller's thread).
//
// House rules: no exceptions, no malloc on the decision path (the resolver wrappers call
// libc's resolver, which allocates for the program as it always does), no locks, no
// stdio, raw syscalls, errno preserved on the allow path, re-entry passes through.
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <cstring>

#include "policy/cidr.h"
#include "preload/interpose.h"
#include "preload/name_table.h"
#include "preload/net_guard.h"
#include "preload/net_guard_resolver.h"
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
HOOK_EXPORT ssize_t hook_recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* sa,
                                  socklen_t* len) __asm__("recvfrom");
HOOK_EXPORT ssize_t hook_recvmsg(int fd, struct msghdr* msg, int flags) __asm__("recvmsg");
HOOK_EXPORT int hook_recvmmsg(int fd, struct mmsghdr* v, unsigned n, int flags,
                              struct timespec* timeout) __asm__("recvmmsg");
HOOK_EXPORT int hook_getpeername(int fd, struct sockaddr* sa,
                                 socklen_t* len) __asm__("getpeername");
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
    if (HOOK_REAL(connect, "connect") != nullptr) return HOOK_REAL(connect, "connect")(fd, sa, len);
    return ret_int(sys::direct(SYS_connect, fd, sys::arg(sa), len));
  }
  return ret_int(net_guard::connect(fd, sa, len));
}

ssize_t hook_sendto(int fd, const void* buf, size_t n, int flags, const struct sockaddr* sa,
                    socklen_t len) {
  if (!governed() || sa == nullptr) {
    if (HOOK_REAL(sendto, "sendto") != nullptr)
      return HOOK_REAL(sendto, "sendto")(fd, buf, n, flags, sa, len);
    return ret_long(
        sys::direct(SYS_sendto, fd, sys::arg(buf), sys::arg(n), flags, sys::arg(sa), len));
  }
  if ((flags & MSG_FASTOPEN) != 0 && net_guard::redirects_stream(fd)) {
    // TCP Fast Open connects as it sends: connect through the proxy, then send.
    long r = net_guard::connect(fd, sa, len);
    if (r < 0 && r != -EINPROGRESS) return ret_long(r);
    return ret_long(
        sys::call(SYS_sendto, fd, sys::arg(buf), sys::arg(n), flags & ~MSG_FASTOPEN, 0, 0));
  }
  struct sockaddr_storage tmp;
  const struct sockaddr* to = sa;
  socklen_t tolen = len;
  net_guard::NetOutcome o = net_guard::decide_datagram(fd, sa, len, &tmp, &to, &tolen);
  if (!o.allow) return ret_long(-o.err);
  return ret_long(
      sys::call(SYS_sendto, fd, sys::arg(buf), sys::arg(n), flags, sys::arg(to), tolen));
}

ssize_t hook_sendmsg(int fd, const struct msghdr* msg, int flags) {
  if (!governed() || msg == nullptr || msg->msg_name == nullptr) {
    if (HOOK_REAL(sendmsg, "sendmsg") != nullptr)
      return HOOK_REAL(sendmsg, "sendmsg")(fd, msg, flags);
    return ret_long(sys::direct(SYS_sendmsg, fd, sys::arg(msg), flags));
  }
  if ((flags & MSG_FASTOPEN) != 0 && net_guard::redirects_stream(fd)) {
    long r = net_guard::connect(fd, static_cast<const struct sockaddr*>(msg->msg_name),
                                msg->msg_namelen);
    if (r < 0 && r != -EINPROGRESS) return ret_long(r);
    struct msghdr m = *msg;
    m.msg_name = nullptr;
    m.msg_namelen = 0;
    return ret_long(sys::call(SYS_sendmsg, fd, sys::arg(&m), flags & ~MSG_FASTOPEN));
  }
  struct sockaddr_storage tmp;
  const struct sockaddr* to = nullptr;
  socklen_t tolen = 0;
  net_guard::NetOutcome o = net_guard::decide_datagram(
      fd, static_cast<const struct sockaddr*>(msg->msg_name), msg->msg_namelen, &tmp, &to, &tolen);
  if (!o.allow) return ret_long(-o.err);
  // A rewritten destination goes in a copy of the header: the program's is const.
  struct msghdr m = *msg;
  m.msg_name = const_cast<struct sockaddr*>(to);
  m.msg_namelen = tolen;
  return ret_long(sys::call(SYS_sendmsg, fd, sys::arg(&m), flags));
}

int hook_sendmmsg(int fd, struct mmsghdr* v, unsigned n, int flags) {
  if (!governed() || v == nullptr) {
    if (HOOK_REAL(sendmmsg, "sendmmsg") != nullptr)
      return HOOK_REAL(sendmmsg, "sendmmsg")(fd, v, n, flags);
    return ret_int(sys::direct(SYS_sendmmsg, fd, sys::arg(v), n, flags));
  }
  // Send the allowed prefix; a denied datagram first in line fails the call.
  unsigned ok = 0;
  int err = 0;
  bool rewritten = false;
  for (; ok < n; ++ok) {
    const struct msghdr& m = v[ok].msg_hdr;
    if (m.msg_name == nullptr) continue;
    struct sockaddr_storage tmp;
    const struct sockaddr* to = nullptr;
    socklen_t tolen = 0;
    net_guard::NetOutcome o = net_guard::decide_datagram(
        fd, static_cast<const struct sockaddr*>(m.msg_name), m.msg_namelen, &tmp, &to, &tolen);
    if (!o.allow) {
      err = o.err;
      break;
    }
    rewritten = rewritten || to != m.msg_name;
  }
  if (ok == 0 && n > 0) return ret_int(-err);
  if (!rewritten) return ret_int(sys::call(SYS_sendmmsg, fd, sys::arg(v), ok, flags));
  // Some destinations are redirected (DNS): one message at a time, each with its own
  // rewritten copy of the header, so the program's array is never modified.
  unsigned sent = 0;
  for (; sent < ok; ++sent) {
    struct msghdr m = v[sent].msg_hdr;
    struct sockaddr_storage tmp;
    if (m.msg_name != nullptr) {
      const struct sockaddr* to = nullptr;
      socklen_t tolen = 0;
      net_guard::decide_datagram(fd, static_cast<const struct sockaddr*>(m.msg_name), m.msg_namelen,
                                 &tmp, &to, &tolen, /*decide=*/false);
      m.msg_name = const_cast<struct sockaddr*>(to);
      m.msg_namelen = tolen;
    }
    long r = sys::call(SYS_sendmsg, fd, sys::arg(&m), flags);
    if (r < 0) {
      if (sent == 0) return ret_int(r);
      break;
    }
    v[sent].msg_len = static_cast<unsigned>(r);
  }
  return static_cast<int>(sent);
}

ssize_t hook_recvfrom(int fd, void* buf, size_t n, int flags, struct sockaddr* sa, socklen_t* len) {
  socklen_t cap = len != nullptr ? *len : 0;
  ssize_t r;
  if (HOOK_REAL(recvfrom, "recvfrom") != nullptr) {
    r = HOOK_REAL(recvfrom, "recvfrom")(fd, buf, n, flags, sa, len);
  } else {
    r = ret_long(sys::direct(SYS_recvfrom, fd, sys::arg(buf), sys::arg(n), flags, sys::arg(sa),
                             sys::arg(len)));
  }
  if (r >= 0 && sa != nullptr && governed()) net_guard::restore_source(fd, sa, len, cap);
  return r;
}

ssize_t hook_recvmsg(int fd, struct msghdr* msg, int flags) {
  socklen_t cap = msg != nullptr ? msg->msg_namelen : 0;
  ssize_t r;
  if (HOOK_REAL(recvmsg, "recvmsg") != nullptr) {
    r = HOOK_REAL(recvmsg, "recvmsg")(fd, msg, flags);
  } else {
    r = ret_long(sys::direct(SYS_recvmsg, fd, sys::arg(msg), flags));
  }
  if (r >= 0 && msg != nullptr && msg->msg_name != nullptr && governed()) {
    net_guard::restore_source(fd, static_cast<struct sockaddr*>(msg->msg_name), &msg->msg_namelen,
                              cap);
  }
  return r;
}

int hook_recvmmsg(int fd, struct mmsghdr* v, unsigned n, int flags, struct timespec* timeout) {
  // The capacities are overwritten by the kernel: keep the first few (no allocation;
  // DNS clients receive one or two answers at a time).
  constexpr unsigned kKeep = 16;
  socklen_t caps[kKeep];
  for (unsigned i = 0; v != nullptr && i < n && i < kKeep; ++i) caps[i] = v[i].msg_hdr.msg_namelen;
  int r;
  if (HOOK_REAL(recvmmsg, "recvmmsg") != nullptr) {
    r = HOOK_REAL(recvmmsg, "recvmmsg")(fd, v, n, flags, timeout);
  } else {
    r = ret_int(sys::direct(SYS_recvmmsg, fd, sys::arg(v), n, flags, sys::arg(timeout)));
  }
  if (r > 0 && governed()) {
    for (unsigned i = 0; i < static_cast<unsigned>(r) && i < kKeep; ++i) {
      struct msghdr& m = v[i].msg_hdr;
      if (m.msg_name != nullptr) {
        net_guard::restore_source(fd, static_cast<struct sockaddr*>(m.msg_name), &m.msg_namelen,
                                  caps[i]);
      }
    }
  }
  return r;
}

namespace {
int real_getpeername(int fd, struct sockaddr* sa, socklen_t* len) {
  if (HOOK_REAL(getpeername, "getpeername") != nullptr)
    return HOOK_REAL(getpeername, "getpeername")(fd, sa, len);
  return ret_int(sys::direct(SYS_getpeername, fd, sys::arg(sa), sys::arg(len)));
}
}  // namespace

int hook_getpeername(int fd, struct sockaddr* sa, socklen_t* len) {
  if (sa == nullptr || len == nullptr || static_cast<int>(*len) < 0 || !governed())
    return real_getpeername(fd, sa, len);  // the kernel's EFAULT/EINVAL, or not ours
  // The whole address into our own buffer first: a caller's short buffer (the kernel
  // truncates and reports the full size) would hide whether the peer is agentsh's.
  const socklen_t cap = *len;
  struct sockaddr_storage full;
  socklen_t flen = sizeof full;
  int r = real_getpeername(fd, reinterpret_cast<struct sockaddr*>(&full), &flen);
  if (r != 0) return r;
  net_guard::restore_peer(fd, reinterpret_cast<struct sockaddr*>(&full), &flen, sizeof full);
  memcpy(sa, &full, flen < cap ? flen : cap);
  *len = flen;
  return 0;
}

int hook_getaddrinfo(const char* node, const char* service, const struct addrinfo* hints,
                     struct addrinfo** res) {
  if (HOOK_REAL(getaddrinfo, "getaddrinfo") == nullptr) return EAI_SYSTEM;
  if (!governed()) return HOOK_REAL(getaddrinfo, "getaddrinfo")(node, service, hints, res);
  int r;
  {
    agentsh::hook::ReentryGuard guard;
    net_guard::point_resolver_at_session_dns();
    r = HOOK_REAL(getaddrinfo, "getaddrinfo")(node, service, hints, res);
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
  if (HOOK_REAL(gethostbyname, "gethostbyname") == nullptr) return nullptr;
  if (!governed()) return HOOK_REAL(gethostbyname, "gethostbyname")(name);
  struct hostent* h;
  {
    agentsh::hook::ReentryGuard guard;
    net_guard::point_resolver_at_session_dns();
    h = HOOK_REAL(gethostbyname, "gethostbyname")(name);
  }
  record_hostent(name, h);
  return h;
}

struct hostent* hook_gethostbyname2(const char* name, int af) {
  if (HOOK_REAL(gethostbyname2, "gethostbyname2") == nullptr) return nullptr;
  if (!governed()) return HOOK_REAL(gethostbyname2, "gethostbyname2")(name, af);
  struct hostent* h;
  {
    agentsh::hook::ReentryGuard guard;
    net_guard::point_resolver_at_session_dns();
    h = HOOK_REAL(gethostbyname2, "gethostbyname2")(name, af);
  }
  record_hostent(name, h);
  return h;
}

int hook_gethostbyname_r(const char* name, struct hostent* ret, char* buf, size_t len,
                         struct hostent** result, int* h_errnop) {
  if (HOOK_REAL(gethostbyname_r, "gethostbyname_r") == nullptr) return ENOSYS;
  if (!governed())
    return HOOK_REAL(gethostbyname_r, "gethostbyname_r")(name, ret, buf, len, result, h_errnop);
  int r;
  {
    agentsh::hook::ReentryGuard guard;
    net_guard::point_resolver_at_session_dns();
    r = HOOK_REAL(gethostbyname_r, "gethostbyname_r")(name, ret, buf, len, result, h_errnop);
  }
  if (r == 0 && result != nullptr) record_hostent(name, *result);
  return r;
}

int hook_gethostbyname2_r(const char* name, int af, struct hostent* ret, char* buf, size_t len,
                          struct hostent** result, int* h_errnop) {
  if (HOOK_REAL(gethostbyname2_r, "gethostbyname2_r") == nullptr) return ENOSYS;
  if (!governed())
    return HOOK_REAL(gethostbyname2_r, "gethostbyname2_r")(name, af, ret, buf, len, result,
                                                           h_errnop);
  int r;
  {
    agentsh::hook::ReentryGuard guard;
    net_guard::point_resolver_at_session_dns();
    r = HOOK_REAL(gethostbyname2_r, "gethostbyname2_r")(name, af, ret, buf, len, result, h_errnop);
  }
  if (r == 0 && result != nullptr) record_hostent(name, *result);
  return r;
}

// ---- the res_* API and reverse lookups ----------------------------------------------
// A program may ask the resolver directly (res_query, res_send of its own packet,
// res_nquery on its own state, …) without ever calling getaddrinfo. glibc's resolver
// sends with internal socket calls the hook cannot see, so before each of these runs,
// the state it will use — this thread's `_res`, or the caller's res_state — is pointed
// at the session's DNS proxy (net_guard::point_*). res_init/res_ninit re-read
// resolv.conf, so the state is pointed again after them. Both spellings are exported:
// `res_query` (what glibc >= 2.34 binds, version GLIBC_2.34) and `__res_query` (what
// older binaries bind). res_mkquery, dn_expand, dn_comp, ns_* only build or parse
// packets: nothing to do. The answers are not recorded in the NameTable: a connect by IP
// is decided by the proxy, which learnt the name when it answered.

namespace {

namespace resolver = agentsh::hook::net_guard_resolver;

// libc's answer for a resolver entry point it lacks.
int no_resolver() noexcept {
  h_errno = NETDB_INTERNAL;
  errno = ENOSYS;
  return -1;
}

}  // namespace

// <resolv.h> maps res_init/res_ninit to __res_init/__res_ninit; the plain names are
// exported too for binaries from other headers.
HOOK_EXPORT int hook_res_init() __asm__("__res_init");
HOOK_EXPORT int hook_res_init2() __asm__("res_init");
HOOK_EXPORT int hook_res_ninit(res_state st) __asm__("__res_ninit");
HOOK_EXPORT int hook_res_ninit2(res_state st) __asm__("res_ninit");

namespace {

int do_res_init() noexcept {
  auto real = resolver::fns().res_init;
  if (real == nullptr) return no_resolver();
  if (!governed()) return real();
  agentsh::hook::ReentryGuard guard;
  int r = real();
  if (r == 0) net_guard::point_resolver_at_session_dns();
  return r;
}

int do_res_ninit(res_state st) noexcept {
  auto real = resolver::fns().res_ninit;
  if (real == nullptr) return no_resolver();
  if (!governed()) return real(st);
  agentsh::hook::ReentryGuard guard;
  int r = real(st);
  if (r == 0) net_guard::point_state_at_session_dns(st);
  return r;
}

}  // namespace

int hook_res_init() {
  return do_res_init();
}
int hook_res_init2() {
  return do_res_init();
}
int hook_res_ninit(res_state st) {
  return do_res_ninit(st);
}
int hook_res_ninit2(res_state st) {
  return do_res_ninit(st);
}

// Each `_res` entry point: point this thread's state, then call libc's, under the
// re-entry guard (libresolv and NSS modules call back into libc through the PLT).
#define AGENTSH_RES_THREAD(fn, params, args)            \
  HOOK_EXPORT int hook_##fn params __asm__(#fn);        \
  HOOK_EXPORT int hook___##fn params __asm__("__" #fn); \
  namespace {                                           \
  int do_##fn params {                                  \
    auto real = resolver::fns().fn;                     \
    if (real == nullptr) return no_resolver();          \
    if (!governed()) return real args;                  \
    agentsh::hook::ReentryGuard guard;                  \
    net_guard::point_resolver_at_session_dns();         \
    return real args;                                   \
  }                                                     \
  }                                                     \
  int hook_##fn params {                                \
    return do_##fn args;                                \
  }                                                     \
  int hook___##fn params {                              \
    return do_##fn args;                                \
  }

// Each res_n* entry point: the caller's state is pointed instead.
#define AGENTSH_RES_STATE(fn, params, args)             \
  HOOK_EXPORT int hook_##fn params __asm__(#fn);        \
  HOOK_EXPORT int hook___##fn params __asm__("__" #fn); \
  namespace {                                           \
  int do_##fn params {                                  \
    auto real = resolver::fns().fn;                     \
    if (real == nullptr) return no_resolver();          \
    if (!governed()) return real args;                  \
    agentsh::hook::ReentryGuard guard;                  \
    net_guard::point_state_at_session_dns(st);          \
    return real args;                                   \
  }                                                     \
  }                                                     \
  int hook_##fn params {                                \
    return do_##fn args;                                \
  }                                                     \
  int hook___##fn params {                              \
    return do_##fn args;                                \
  }

AGENTSH_RES_THREAD(res_query, (const char* d, int c, int t, unsigned char* a, int n),
                   (d, c, t, a, n))
AGENTSH_RES_THREAD(res_search, (const char* d, int c, int t, unsigned char* a, int n),
                   (d, c, t, a, n))
AGENTSH_RES_THREAD(res_querydomain,
                   (const char* d, const char* dom, int c, int t, unsigned char* a, int n),
                   (d, dom, c, t, a, n))
AGENTSH_RES_THREAD(res_send, (const unsigned char* q, int ql, unsigned char* a, int n),
                   (q, ql, a, n))
AGENTSH_RES_STATE(res_nquery, (res_state st, const char* d, int c, int t, unsigned char* a, int n),
                  (st, d, c, t, a, n))
AGENTSH_RES_STATE(res_nsearch, (res_state st, const char* d, int c, int t, unsigned char* a, int n),
                  (st, d, c, t, a, n))
AGENTSH_RES_STATE(res_nquerydomain,
                  (res_state st, const char* d, const char* dom, int c, int t, unsigned char* a,
                   int n),
                  (st, d, dom, c, t, a, n))
AGENTSH_RES_STATE(res_nsend,
                  (res_state st, const unsigned char* q, int ql, unsigned char* a, int n),
                  (st, q, ql, a, n))
#undef AGENTSH_RES_THREAD
#undef AGENTSH_RES_STATE

// Reverse lookups go through NSS's dns module, which asks with this thread's `_res`.
HOOK_EXPORT int hook_getnameinfo(const struct sockaddr* sa, socklen_t salen, char* host,
                                 socklen_t hostlen, char* serv, socklen_t servlen,
                                 int flags) __asm__("getnameinfo");
HOOK_EXPORT struct hostent* hook_gethostbyaddr(const void* addr, socklen_t len,
                                               int type) __asm__("gethostbyaddr");
HOOK_EXPORT int hook_gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret,
                                     char* buf, size_t buflen, struct hostent** result,
                                     int* h_errnop) __asm__("gethostbyaddr_r");

int hook_getnameinfo(const struct sockaddr* sa, socklen_t salen, char* host, socklen_t hostlen,
                     char* serv, socklen_t servlen, int flags) {
  auto real = resolver::fns().getnameinfo;
  if (real == nullptr) return EAI_SYSTEM;
  if (!governed()) return real(sa, salen, host, hostlen, serv, servlen, flags);
  agentsh::hook::ReentryGuard guard;
  // Only a name lookup asks DNS (NI_NUMERICHOST never does).
  if (host != nullptr && hostlen != 0 && (flags & NI_NUMERICHOST) == 0) {
    net_guard::point_resolver_at_session_dns();
  }
  return real(sa, salen, host, hostlen, serv, servlen, flags);
}

struct hostent* hook_gethostbyaddr(const void* addr, socklen_t len, int type) {
  auto real = resolver::fns().gethostbyaddr;
  if (real == nullptr) return nullptr;
  if (!governed()) return real(addr, len, type);
  agentsh::hook::ReentryGuard guard;
  net_guard::point_resolver_at_session_dns();
  return real(addr, len, type);
}

int hook_gethostbyaddr_r(const void* addr, socklen_t len, int type, struct hostent* ret, char* buf,
                         size_t buflen, struct hostent** result, int* h_errnop) {
  auto real = resolver::fns().gethostbyaddr_r;
  if (real == nullptr) return ENOSYS;
  if (!governed()) return real(addr, len, type, ret, buf, buflen, result, h_errnop);
  agentsh::hook::ReentryGuard guard;
  net_guard::point_resolver_at_session_dns();
  return real(addr, len, type, ret, buf, buflen, result, h_errnop);
}

// getaddrinfo_a: glibc runs each getaddrinfo in a helper thread of its own, with a fresh
// `_res` the hook cannot reach before it asks resolv.conf's server. So in a governed
// process the requests are resolved here, one after the other, in the caller's thread
// through the getaddrinfo interposer above (which points this thread's resolver), and
// the completion is notified as glibc does (SIGEV_SIGNAL: a queued signal with code
// SI_ASYNCNL; SIGEV_THREAD: a new thread, detached unless the caller gave attributes).
// The visible difference: GAI_NOWAIT returns once the lookups are done rather than at
// once (gai_error then says done, gai_suspend does not wait, gai_cancel says
// EAI_ALLDONE — all as for requests that finished early).
HOOK_EXPORT int hook_getaddrinfo_a(int mode, struct gaicb* list[], int n,
                                   struct sigevent* sev) __asm__("getaddrinfo_a");

namespace {

struct GaiNotify {
  void (*fn)(union sigval);
  union sigval value;
};

void* gai_notify_thread(void* arg) {
  GaiNotify n = *static_cast<GaiNotify*>(arg);
  free(arg);
  n.fn(n.value);
  return nullptr;
}

void gai_notify(const struct sigevent* sev) noexcept {
  if (sev->sigev_notify == SIGEV_SIGNAL) {
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_signo = sev->sigev_signo;
    info.si_code = SI_ASYNCNL;
    info.si_pid = static_cast<pid_t>(sys::direct(SYS_getpid));
    info.si_uid = static_cast<uid_t>(sys::direct(SYS_getuid));
    info.si_value = sev->sigev_value;
    sys::direct(SYS_rt_sigqueueinfo, info.si_pid, sev->sigev_signo, sys::arg(&info));
  } else if (sev->sigev_notify == SIGEV_THREAD && sev->sigev_notify_function != nullptr) {
    // The notification thread outlives this call: its argument goes on the heap (this is
    // the resolver path, which allocates anyway; not a decision path).
    auto* n = static_cast<GaiNotify*>(malloc(sizeof(GaiNotify)));
    if (n == nullptr) return;
    n->fn = sev->sigev_notify_function;
    n->value = sev->sigev_value;
    pthread_attr_t own;
    pthread_attr_t* attr = static_cast<pthread_attr_t*>(sev->sigev_notify_attributes);
    if (attr == nullptr) {
      pthread_attr_init(&own);
      pthread_attr_setdetachstate(&own, PTHREAD_CREATE_DETACHED);
      attr = &own;
    }
    pthread_t t;
    if (pthread_create(&t, attr, gai_notify_thread, n) != 0) free(n);
    if (attr == &own) pthread_attr_destroy(&own);
  }
}

}  // namespace

int hook_getaddrinfo_a(int mode, struct gaicb* list[], int n, struct sigevent* sev) {
  auto real = resolver::fns().getaddrinfo_a;
  if (real == nullptr) return EAI_SYSTEM;
  // Bad arguments: libc's own answer (EAI_SYSTEM/EINVAL), nothing enqueued.
  if (!governed() || (mode != GAI_WAIT && mode != GAI_NOWAIT) || n < 0 || list == nullptr)
    return real(mode, list, n, sev);
  const int saved = errno;
  for (int i = 0; i < n; ++i) {
    struct gaicb* r = list[i];
    if (r == nullptr) continue;
    r->__return = hook_getaddrinfo(r->ar_name, r->ar_service, r->ar_request, &r->ar_result);
  }
  if (mode == GAI_NOWAIT && sev != nullptr) gai_notify(sev);
  errno = saved;
  return 0;
}
