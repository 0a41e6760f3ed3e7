// The next definitions (libc's) of the resolver entry points the hook interposes on top
// of real_fns.h: the res_* API (res_query, res_nsend, res_init, …) and the reverse
// lookups (getnameinfo, gethostbyaddr*). Kept apart from real_fns so the resolver
// wrappers (interpose_net.cc) and net_guard can reach libc's res_init/res_ninit without
// going through their own interposers.
//
// Names: glibc >= 2.34 defines res_query & co. in libc with the default version
// GLIBC_2.34 (`res_query@@GLIBC_2.34`) and keeps the old `__res_query@GLIBC_2.2.5` as a
// compat (hidden) version that dlsym cannot see; older glibc has them in libresolv
// under `__res_*` (the default). Each slot is looked up by the public name first, then
// the `__res_` one. res_init/res_ninit are only ever `__res_init`/`__res_ninit`.
//
// House rules: no exceptions, no stdio, no locks of our own. The table is filled by this
// file's constructor (dlsym may allocate there: no program code runs yet); a resolver
// call made by another library's constructor before ours fills it on first use (dlsym
// then takes the loader's lock — that caller is about to run libc's resolver, which
// allocates and locks anyway). Afterwards it is read-only. A null slot means libc lacks
// the symbol: the wrapper fails the call (h_errno NETDB_INTERNAL, errno ENOSYS).
#pragma once

#include <netdb.h>
#include <resolv.h>
#include <signal.h>
#include <sys/socket.h>

namespace agentsh::hook::net_guard_resolver {

struct ResolverFns {
  int (*res_init)();
  int (*res_ninit)(res_state);
  int (*res_query)(const char*, int, int, unsigned char*, int);
  int (*res_search)(const char*, int, int, unsigned char*, int);
  int (*res_querydomain)(const char*, const char*, int, int, unsigned char*, int);
  int (*res_send)(const unsigned char*, int, unsigned char*, int);
  int (*res_nquery)(res_state, const char*, int, int, unsigned char*, int);
  int (*res_nsearch)(res_state, const char*, int, int, unsigned char*, int);
  int (*res_nquerydomain)(res_state, const char*, const char*, int, int, unsigned char*, int);
  int (*res_nsend)(res_state, const unsigned char*, int, unsigned char*, int);
  int (*getnameinfo)(const struct sockaddr*, socklen_t, char*, socklen_t, char*, socklen_t, int);
  struct hostent* (*gethostbyaddr)(const void*, socklen_t, int);
  int (*getaddrinfo_a)(int, struct gaicb**, int, struct sigevent*);
  int (*gethostbyaddr_r)(const void*, socklen_t, int, struct hostent*, char*, size_t,
                         struct hostent**, int*);
};

// The table (filled on first use if the constructor has not run yet).
const ResolverFns& fns() noexcept;

}  // namespace agentsh::hook::net_guard_resolver
