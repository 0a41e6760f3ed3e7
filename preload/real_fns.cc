// The RTLD_NEXT table (see real_fns.h), filled in one pass over the GNU hash tables of
// the objects after ours (dlsym only for what that pass cannot answer). House rules: no
// exceptions, no stdio, no locks; resolve_all() runs once, at start-up.
#include "preload/real_fns.h"

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
int g_next_count = -1;  // -1: not gathered (or unusable: dlsym only)

void gather() noexcept {
  // Our own link map: the one loaded at our ELF header (l_addr is the load bias, and our
  // first segment starts at offset 0). _r_debug.r_map is ld.so's chain of every object.
  const auto self_base = reinterpret_cast<ElfW(Addr)>(&__ehdr_start);
  const struct link_map* self = nullptr;
  for (const struct link_map* m = _r_debug.r_map; m != nullptr && self == nullptr; m = m->l_next) {
    if (m->l_addr == self_base) self = m;
  }
  if (self == nullptr) return;
  int n = 0;
  for (const struct link_map* m = self->l_next; m != nullptr; m = m->l_next) {
    if (n == kMaxObjects) return;  // unusual: let dlsym walk it
    if (!describe(m, &g_next[n])) return;
    ++n;
  }
  g_next_count = n;
}

template <typename T>
void get(T* slot, const char* name) noexcept {
  if (*slot != nullptr) return;
  if (g_next_count >= 0) {
    const uint32_t h = gnu_hash(name);
    for (int i = 0; i < g_next_count; ++i) {
      void* p = nullptr;
      Found f = lookup(g_next[i], name, h, &p);
      if (f == Found::kYes) {
        *slot = reinterpret_cast<T>(p);
        return;
      }
      if (f == Found::kAskDlsym) break;
    }
  }
  *slot = reinterpret_cast<T>(dlsym(RTLD_NEXT, name));
}

}  // namespace

void resolve_all() noexcept {
  RealFns& r = g_real;
  if (g_next_count < 0) gather();
  get(&r.open, "open");
  get(&r.open64, "open64");
  get(&r.openat, "openat");
  get(&r.openat64, "openat64");
  get(&r.open_2, "__open_2");
  get(&r.open64_2, "__open64_2");
  get(&r.openat_2, "__openat_2");
  get(&r.openat64_2, "__openat64_2");
  get(&r.creat, "creat");
  get(&r.creat64, "creat64");
  get(&r.fopen, "fopen");
  get(&r.fopen64, "fopen64");
  get(&r.freopen, "freopen");
  get(&r.freopen64, "freopen64");
  get(&r.fdopen, "fdopen");
  get(&r.opendir, "opendir");
  get(&r.fdopendir, "fdopendir");
  get(&r.stat, "stat");
  get(&r.stat64, "stat64");
  get(&r.lstat, "lstat");
  get(&r.lstat64, "lstat64");
  get(&r.fstatat, "fstatat");
  get(&r.fstatat64, "fstatat64");
  get(&r.statx, "statx");
  get(&r.access, "access");
  get(&r.faccessat, "faccessat");
  get(&r.euidaccess, "euidaccess");
  get(&r.eaccess, "eaccess");
  get(&r.readlink, "readlink");
  get(&r.readlinkat, "readlinkat");
  get(&r.unlink, "unlink");
  get(&r.unlinkat, "unlinkat");
  get(&r.rmdir, "rmdir");
  get(&r.remove, "remove");
  get(&r.mkdir, "mkdir");
  get(&r.mkdirat, "mkdirat");
  get(&r.rename, "rename");
  get(&r.renameat, "renameat");
  get(&r.renameat2, "renameat2");
  get(&r.link, "link");
  get(&r.linkat, "linkat");
  get(&r.symlink, "symlink");
  get(&r.symlinkat, "symlinkat");
  get(&r.chmod, "chmod");
  get(&r.fchmodat, "fchmodat");
  get(&r.lchmod, "lchmod");
  get(&r.chown, "chown");
  get(&r.lchown, "lchown");
  get(&r.fchownat, "fchownat");
  get(&r.truncate, "truncate");
  get(&r.truncate64, "truncate64");
  get(&r.mknod, "mknod");
  get(&r.mknodat, "mknodat");
  get(&r.mkfifo, "mkfifo");
  get(&r.mkfifoat, "mkfifoat");
  get(&r.execve, "execve");
  get(&r.execveat, "execveat");
  get(&r.fexecve, "fexecve");
  get(&r.execv, "execv");
  get(&r.execvp, "execvp");
  get(&r.execvpe, "execvpe");
  get(&r.posix_spawn, "posix_spawn");
  get(&r.posix_spawnp, "posix_spawnp");
  get(&r.system, "system");
  get(&r.popen, "popen");
  get(&r.chdir, "chdir");
  get(&r.fchdir, "fchdir");
  get(&r.chroot, "chroot");
  get(&r.unshare, "unshare");
  get(&r.setns, "setns");
  get(&r.daemon, "daemon");
  get(&r.nftw, "nftw");
  get(&r.nftw64, "nftw64");
  get(&r.fts_read, "fts_read");
  get(&r.fts_children, "fts_children");
  get(&r.fts_close, "fts_close");
  get(&r.fts64_read, "fts64_read");
  get(&r.fts64_children, "fts64_children");
  get(&r.fts64_close, "fts64_close");
  get(&r.connect, "connect");
  get(&r.sendto, "sendto");
  get(&r.sendmsg, "sendmsg");
  get(&r.sendmmsg, "sendmmsg");
  get(&r.recvfrom, "recvfrom");
  get(&r.recvmsg, "recvmsg");
  get(&r.recvmmsg, "recvmmsg");
  get(&r.getpeername, "getpeername");
  get(&r.getaddrinfo, "getaddrinfo");
  get(&r.gethostbyname, "gethostbyname");
  get(&r.gethostbyname2, "gethostbyname2");
  get(&r.gethostbyname_r, "gethostbyname_r");
  get(&r.gethostbyname2_r, "gethostbyname2_r");
}

}  // namespace real_fns

}  // namespace agentsh::hook
