// The RTLD_NEXT table (see real_fns.h): each slot is looked up on first use in the GNU
// hash tables of the objects after ours (dlsym only for what that cannot answer). House
// rules: no exceptions, no stdio, no locks; a lookup only reads mapped ELF tables, so it
// is safe in signal handlers, vfork children and threads racing to fill the same slot.
#include "preload/real_fns.h"

#include "preload/reentry_guard.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>

#include <cstdint>
#include <cstring>

namespace agentsh::hook {

RealFns g_real = {};

namespace real_fns {

namespace {

// What dlsym(RTLD_NEXT, name) does, in one pass and without its per-call overhead (the
// caller's object looked up again, the loader lock, an error-catching frame: ~200 ns a
// symbol, ~16 µs for the table — in every process). The objects after ours in the
// link-map chain are, at constructor time, exactly the global search scope that
// RTLD_NEXT walks (preloads after us, then the program's libraries, libc). Each keeps a
// GNU hash table; a name is found the way ld.so finds it (bloom filter, bucket, chain)
// and accepted under dlsym's rules for an unversioned lookup: defined, a function,
// unversioned or the default version (never a hidden, older one: posix_spawn@GLIBC_2.2.5
// is skipped for posix_spawn@@GLIBC_2.15). Anything this does not handle — an object
// without DT_GNU_HASH, an IFUNC, a name not found — is left to dlsym itself.
struct Object {
  ElfW(Addr) base = 0;
  const ElfW(Sym) * symtab = nullptr;
  const char* strtab = nullptr;
  const uint32_t* gnu_hash = nullptr;
  const ElfW(Half) * versym = nullptr;
};

// ld.so relocates the d_ptr entries of writable dynamic sections; the vDSO's are not.
template <typename T>
const T* dyn_ptr(ElfW(Addr) v, ElfW(Addr) base) noexcept {
  return reinterpret_cast<const T*>(v < base ? v + base : v);
}

bool describe(const struct link_map* m, Object* o) noexcept {
  if (m->l_ld == nullptr) return false;
  o->base = m->l_addr;
  for (const ElfW(Dyn)* d = m->l_ld; d->d_tag != DT_NULL; ++d) {
    switch (d->d_tag) {
      case DT_SYMTAB:
        o->symtab = dyn_ptr<ElfW(Sym)>(d->d_un.d_ptr, m->l_addr);
        break;
      case DT_STRTAB:
        o->strtab = dyn_ptr<char>(d->d_un.d_ptr, m->l_addr);
        break;
      case DT_GNU_HASH:
        o->gnu_hash = dyn_ptr<uint32_t>(d->d_un.d_ptr, m->l_addr);
        break;
      case DT_VERSYM:
        o->versym = dyn_ptr<ElfW(Half)>(d->d_un.d_ptr, m->l_addr);
        break;
      default:
        break;
    }
  }
  return o->symtab != nullptr && o->strtab != nullptr && o->gnu_hash != nullptr;
}

uint32_t gnu_hash(const char* s) noexcept {
  uint32_t h = 5381;
  for (; *s != '\0'; ++s) h = h * 33 + static_cast<unsigned char>(*s);
  return h;
}

enum class Found { kNo, kYes, kAskDlsym };

Found lookup(const Object& o, const char* name, uint32_t h, void** out) noexcept {
  const uint32_t nbuckets = o.gnu_hash[0], symoffset = o.gnu_hash[1];
  const uint32_t bloom_size = o.gnu_hash[2], bloom_shift = o.gnu_hash[3];
  if (nbuckets == 0 || bloom_size == 0) return Found::kNo;
  const auto* bloom = reinterpret_cast<const ElfW(Addr)*>(o.gnu_hash + 4);
  const auto* buckets = reinterpret_cast<const uint32_t*>(bloom + bloom_size);
  const uint32_t* chain = buckets + nbuckets;
  constexpr unsigned kBits = sizeof(ElfW(Addr)) * 8;
  const ElfW(Addr) word = bloom[(h / kBits) & (bloom_size - 1)];
  const ElfW(Addr) mask =
      (ElfW(Addr){1} << (h % kBits)) | (ElfW(Addr){1} << ((h >> bloom_shift) % kBits));
  if ((word & mask) != mask) return Found::kNo;
  uint32_t i = buckets[h % nbuckets];
  if (i < symoffset) return Found::kNo;
  for (;; ++i) {
    const uint32_t h2 = chain[i - symoffset];
    const ElfW(Sym)& sym = o.symtab[i];
    if ((h | 1) == (h2 | 1) && strcmp(o.strtab + sym.st_name, name) == 0 &&
        sym.st_shndx != SHN_UNDEF) {
      const unsigned type = ELF64_ST_TYPE(sym.st_info);
      const bool hidden =
          o.versym != nullptr && (o.versym[i] & 0x7fff) >= 2 && (o.versym[i] & 0x8000) != 0;
      if (!hidden) {
        if (type == STT_GNU_IFUNC) return Found::kAskDlsym;
        if (type != STT_FUNC) return Found::kAskDlsym;
        *out = reinterpret_cast<void*>(o.base + sym.st_value);
        return Found::kYes;
      }
    }
    if ((h2 & 1) != 0) break;
  }
  return Found::kNo;
}

extern "C" const ElfW(Ehdr) __ehdr_start;  // the linker's symbol for our own ELF header

// The objects RTLD_NEXT would search, in order (at most kMaxObjects; more → dlsym).
constexpr int kMaxObjects = 16;
Object g_next[kMaxObjects];
int g_next_count = -2;  // -2: not gathered yet; -1: unusable (dlsym only)

void gather() noexcept {
  // Our own link map: the one loaded at our ELF header (l_addr is the load bias, and our
  // first segment starts at offset 0). _r_debug.r_map is ld.so's chain of every object.
  const auto self_base = reinterpret_cast<ElfW(Addr)>(&__ehdr_start);
  const struct link_map* self = nullptr;
  for (const struct link_map* m = _r_debug.r_map; m != nullptr && self == nullptr; m = m->l_next) {
    if (m->l_addr == self_base) self = m;
  }
  if (self == nullptr) {
    __atomic_store_n(&g_next_count, -1, __ATOMIC_RELEASE);
    return;
  }
  int n = 0;
  for (const struct link_map* m = self->l_next; m != nullptr; m = m->l_next) {
    if (n == kMaxObjects || !describe(m, &g_next[n])) {  // unusual: let dlsym walk it
      __atomic_store_n(&g_next_count, -1, __ATOMIC_RELEASE);
      return;
    }
    ++n;
  }
  __atomic_store_n(&g_next_count, n, __ATOMIC_RELEASE);
}

}  // namespace

void* find(const char* name) noexcept {
  if (__atomic_load_n(&g_next_count, __ATOMIC_ACQUIRE) == -2) gather();
  const int n = __atomic_load_n(&g_next_count, __ATOMIC_ACQUIRE);
  if (n >= 0) {
    const uint32_t h = gnu_hash(name);
    for (int i = 0; i < n; ++i) {
      void* p = nullptr;
      Found f = lookup(g_next[i], name, h, &p);
      if (f == Found::kYes) return p;
      if (f == Found::kAskDlsym) break;
    }
  }
  // Rare (an IFUNC, an object without DT_GNU_HASH, a name libc lacks): dlsym, which is
  // not async-signal-safe — none of glibc's x86_64 symbols the hook uses lands here.
  ReentryGuard guard;
  return dlsym(RTLD_NEXT, name);
}

void resolve_all() noexcept {
  if (__atomic_load_n(&g_next_count, __ATOMIC_ACQUIRE) == -2) gather();
  // exec_guard.cc reads these two slots directly; everything else resolves on first use.
  // (Stored as found: nullptr, not the "missing" marker, if libc lacks them.)
  if (g_real.posix_spawn == nullptr) {
    g_real.posix_spawn = reinterpret_cast<decltype(g_real.posix_spawn)>(find("posix_spawn"));
  }
  if (g_real.posix_spawnp == nullptr) {
    g_real.posix_spawnp = reinterpret_cast<decltype(g_real.posix_spawnp)>(find("posix_spawnp"));
  }
}

}  // namespace real_fns

}  // namespace agentsh::hook
