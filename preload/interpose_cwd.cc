// Interposed: chdir, fchdir, chroot, unshare, setns, daemon, nftw, nftw64, fts_read,
// fts_children, fts_close, fts64_read, fts64_children, fts64_close. None of them is
// decided (policies do not name chdir); they are here because each may change the
// current directory the hook caches (cwd_cache.h): the real call runs, then the cache is
// invalidated. glibc's nftw(FTW_CHDIR) and fts change directory with internal calls the
// hook cannot see, hence the wrappers around them.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno as the
// real call left it.
#include <sched.h>
#include <sys/syscall.h>

#include "preload/cwd_cache.h"
#include "preload/interpose.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

using agentsh::hook::CwdCache;
using agentsh::hook::g_real;
using agentsh::hook::HookState;
using agentsh::hook::no_real;
using agentsh::hook::ret_int;
namespace sys = agentsh::hook::sys;

namespace {

constexpr int kFtwChdir = 4;  // FTW_CHDIR (<ftw.h>)

// The real table may not be filled yet when another library's constructor runs first.
void ensure_real() noexcept {
  HookState& s = HookState::get();
  if (__builtin_expect(!s.ready(), 0)) s.init();
}

// Invalidates the cache when it goes out of scope: after the real call returned.
struct InvalidateAfter {
  ~InvalidateAfter() { CwdCache::get().invalidate(); }
};

}  // namespace

HOOK_EXPORT int hook_chdir(const char* p) __asm__("chdir");
HOOK_EXPORT int hook_fchdir(int fd) __asm__("fchdir");
HOOK_EXPORT int hook_chroot(const char* p) __asm__("chroot");
HOOK_EXPORT int hook_unshare(int flags) __asm__("unshare");
HOOK_EXPORT int hook_setns(int fd, int nstype) __asm__("setns");
HOOK_EXPORT int hook_daemon(int nochdir, int noclose) __asm__("daemon");
HOOK_EXPORT int hook_nftw(const char* d, void* fn, int n, int flags) __asm__("nftw");
HOOK_EXPORT int hook_nftw64(const char* d, void* fn, int n, int flags) __asm__("nftw64");
HOOK_EXPORT void* hook_fts_read(void* f) __asm__("fts_read");
HOOK_EXPORT void* hook_fts_children(void* f, int o) __asm__("fts_children");
HOOK_EXPORT int hook_fts_close(void* f) __asm__("fts_close");
HOOK_EXPORT void* hook_fts64_read(void* f) __asm__("fts64_read");
HOOK_EXPORT void* hook_fts64_children(void* f, int o) __asm__("fts64_children");
HOOK_EXPORT int hook_fts64_close(void* f) __asm__("fts64_close");

int hook_chdir(const char* p) {
  ensure_real();
  int r = HOOK_REAL(chdir, "chdir") != nullptr ? HOOK_REAL(chdir, "chdir")(p)
                                               : ret_int(sys::direct(SYS_chdir, sys::arg(p)));
  CwdCache::get().note_chdir();
  return r;
}

int hook_fchdir(int fd) {
  ensure_real();
  int r = HOOK_REAL(fchdir, "fchdir") != nullptr ? HOOK_REAL(fchdir, "fchdir")(fd)
                                                 : ret_int(sys::direct(SYS_fchdir, fd));
  CwdCache::get().note_chdir();
  return r;
}

int hook_chroot(const char* p) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(chroot, "chroot") != nullptr ? HOOK_REAL(chroot, "chroot")(p)
                                                : ret_int(sys::direct(SYS_chroot, sys::arg(p)));
}

int hook_unshare(int flags) {
  ensure_real();
  int r = HOOK_REAL(unshare, "unshare") != nullptr ? HOOK_REAL(unshare, "unshare")(flags)
                                                   : ret_int(sys::direct(SYS_unshare, flags));
  // CLONE_NEWNS implies CLONE_FS: this thread's cwd may now differ from the others'.
  if ((flags & (CLONE_FS | CLONE_NEWNS)) != 0) {
    CwdCache::get().disable();
  } else {
    CwdCache::get().invalidate();
  }
  return r;
}

int hook_setns(int fd, int nstype) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(setns, "setns") != nullptr ? HOOK_REAL(setns, "setns")(fd, nstype)
                                              : ret_int(sys::direct(SYS_setns, fd, nstype));
}

int hook_daemon(int nochdir, int noclose) {
  ensure_real();
  if (HOOK_REAL(daemon, "daemon") == nullptr) return no_real();
  int r = HOOK_REAL(daemon, "daemon")(nochdir, noclose);
  CwdCache::get().note_chdir();  // the child that returns is a new process
  return r;
}

namespace {

int nftw_common(int (*real)(const char*, void*, int, int), const char* d, void* fn, int n,
                int flags) noexcept {
  if (real == nullptr) return no_real();
  if ((flags & kFtwChdir) == 0) return real(d, fn, n, flags);
  // The callback runs with the cwd nftw chose: no caching until it returns.
  CwdCache::get().enter_unsafe();
  int r = real(d, fn, n, flags);
  CwdCache::get().leave_unsafe();
  return r;
}

}  // namespace

int hook_nftw(const char* d, void* fn, int n, int flags) {
  ensure_real();
  return nftw_common(HOOK_REAL(nftw, "nftw"), d, fn, n, flags);
}

int hook_nftw64(const char* d, void* fn, int n, int flags) {
  ensure_real();
  return nftw_common(HOOK_REAL(nftw64, "nftw64"), d, fn, n, flags);
}

void* hook_fts_read(void* f) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(fts_read, "fts_read") != nullptr ? HOOK_REAL(fts_read, "fts_read")(f) : nullptr;
}

void* hook_fts_children(void* f, int o) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(fts_children, "fts_children") != nullptr
             ? HOOK_REAL(fts_children, "fts_children")(f, o)
             : nullptr;
}

int hook_fts_close(void* f) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(fts_close, "fts_close") != nullptr ? HOOK_REAL(fts_close, "fts_close")(f)
                                                      : no_real();
}

void* hook_fts64_read(void* f) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(fts64_read, "fts64_read") != nullptr ? HOOK_REAL(fts64_read, "fts64_read")(f)
                                                        : nullptr;
}

void* hook_fts64_children(void* f, int o) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(fts64_children, "fts64_children") != nullptr
             ? HOOK_REAL(fts64_children, "fts64_children")(f, o)
             : nullptr;
}

int hook_fts64_close(void* f) {
  ensure_real();
  InvalidateAfter inv;
  return HOOK_REAL(fts64_close, "fts64_close") != nullptr ? HOOK_REAL(fts64_close, "fts64_close")(f)
                                                          : no_real();
}
