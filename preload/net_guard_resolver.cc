// dlsym(RTLD_NEXT) table of libc's resolver entry points (see net_guard_resolver.h).
#include "preload/net_guard_resolver.h"

#include <dlfcn.h>

namespace agentsh::hook::net_guard_resolver {
namespace {

ResolverFns g_fns;
bool g_ready = false;

template <typename T>
void get(T* slot, const char* name, const char* alt = nullptr) noexcept {
  void* p = dlsym(RTLD_NEXT, name);
  if (p == nullptr && alt != nullptr) p = dlsym(RTLD_NEXT, alt);
  *slot = reinterpret_cast<T>(p);
}

// Idempotent: a second run (two threads racing in before the constructor, which cannot
// happen in practice: no program thread exists before constructors end) stores the same
// values.
void resolve() noexcept {
  ResolverFns& r = g_fns;
  get(&r.res_init, "__res_init", "res_init");
  get(&r.res_ninit, "__res_ninit", "res_ninit");
  get(&r.res_query, "res_query", "__res_query");
  get(&r.res_search, "res_search", "__res_search");
  get(&r.res_querydomain, "res_querydomain", "__res_querydomain");
  get(&r.res_send, "res_send", "__res_send");
  get(&r.res_nquery, "res_nquery", "__res_nquery");
  get(&r.res_nsearch, "res_nsearch", "__res_nsearch");
  get(&r.res_nquerydomain, "res_nquerydomain", "__res_nquerydomain");
  get(&r.res_nsend, "res_nsend", "__res_nsend");
  get(&r.getnameinfo, "getnameinfo");
  get(&r.gethostbyaddr, "gethostbyaddr");
  get(&r.gethostbyaddr_r, "gethostbyaddr_r");
  get(&r.getaddrinfo_a, "getaddrinfo_a");  // libc >= 2.34; libanl before
  __atomic_store_n(&g_ready, true, __ATOMIC_RELEASE);
}

__attribute__((constructor)) void resolve_at_load() {
  resolve();
}

}  // namespace

const ResolverFns& fns() noexcept {
  if (__builtin_expect(!__atomic_load_n(&g_ready, __ATOMIC_ACQUIRE), 0)) resolve();
  return g_fns;
}

}  // namespace agentsh::hook::net_guard_resolver
