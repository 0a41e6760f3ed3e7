// Interposed: execve, execveat, fexecve, execv, execvp, execvpe, execl, execlp, execle,
// posix_spawn, posix_spawnp, system, popen.
//
// glibc's exec*p, execl* and posix_spawn* call the kernel (or __execve) internally, so
// interposing execve alone would miss them: each is taken here and routed through
// exec_guard. The exec family runs in vfork children: nothing here allocates (argv of
// execl* lives on the stack; an mmap only past kStackArgs arguments).
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// preserved on the allow path, re-entry passes through.
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "preload/exec_guard.h"
#include "preload/interpose.h"
#include "preload/real_fns.h"
#include "preload/sys.h"

extern char** environ;

using agentsh::hook::g_real;
using agentsh::hook::governed;
using agentsh::hook::no_real;
using agentsh::hook::ret_int;
namespace exec_guard = agentsh::hook::exec_guard;
namespace sys = agentsh::hook::sys;

HOOK_EXPORT int hook_execve(const char* p, char* const a[], char* const e[]) __asm__("execve");
HOOK_EXPORT int hook_execveat(int d, const char* p, char* const a[], char* const e[],
                              int f) __asm__("execveat");
HOOK_EXPORT int hook_fexecve(int fd, char* const a[], char* const e[]) __asm__("fexecve");
HOOK_EXPORT int hook_execv(const char* p, char* const a[]) __asm__("execv");
HOOK_EXPORT int hook_execvp(const char* f, char* const a[]) __asm__("execvp");
HOOK_EXPORT int hook_execvpe(const char* f, char* const a[], char* const e[]) __asm__("execvpe");
HOOK_EXPORT int hook_execl(const char* p, const char* arg, ...) __asm__("execl");
HOOK_EXPORT int hook_execlp(const char* f, const char* arg, ...) __asm__("execlp");
HOOK_EXPORT int hook_execle(const char* p, const char* arg, ...) __asm__("execle");
HOOK_EXPORT int hook_posix_spawn(pid_t* pid, const char* p, const posix_spawn_file_actions_t* fa,
                                 const posix_spawnattr_t* at, char* const a[],
                                 char* const e[]) __asm__("posix_spawn");
HOOK_EXPORT int hook_posix_spawnp(pid_t* pid, const char* f, const posix_spawn_file_actions_t* fa,
                                  const posix_spawnattr_t* at, char* const a[],
                                  char* const e[]) __asm__("posix_spawnp");
HOOK_EXPORT int hook_system(const char* cmd) __asm__("system");
HOOK_EXPORT FILE* hook_popen(const char* cmd, const char* type) __asm__("popen");

int hook_execve(const char* p, char* const a[], char* const e[]) {
  if (!governed()) {
    if (HOOK_REAL(execve, "execve") != nullptr) return HOOK_REAL(execve, "execve")(p, a, e);
    return ret_int(sys::direct(SYS_execve, sys::arg(p), sys::arg(a), sys::arg(e)));
  }
  return ret_int(exec_guard::execve(AT_FDCWD, p, a, e, 0));
}

int hook_execveat(int d, const char* p, char* const a[], char* const e[], int f) {
  if (!governed()) {
    if (HOOK_REAL(execveat, "execveat") != nullptr)
      return HOOK_REAL(execveat, "execveat")(d, p, a, e, f);
    return ret_int(sys::direct(SYS_execveat, d, sys::arg(p), sys::arg(a), sys::arg(e), f));
  }
  return ret_int(exec_guard::execve(d, p, a, e, f));
}

int hook_fexecve(int fd, char* const a[], char* const e[]) {
  if (!governed())
    return HOOK_REAL(fexecve, "fexecve") != nullptr ? HOOK_REAL(fexecve, "fexecve")(fd, a, e)
                                                    : no_real();
  return ret_int(exec_guard::execve(fd, "", a, e, AT_EMPTY_PATH));
}

int hook_execv(const char* p, char* const a[]) {
  if (!governed())
    return HOOK_REAL(execv, "execv") != nullptr ? HOOK_REAL(execv, "execv")(p, a) : no_real();
  return ret_int(exec_guard::execve(AT_FDCWD, p, a, environ, 0));
}

int hook_execvp(const char* f, char* const a[]) {
  if (!governed())
    return HOOK_REAL(execvp, "execvp") != nullptr ? HOOK_REAL(execvp, "execvp")(f, a) : no_real();
  return ret_int(exec_guard::execvpe(f, a, environ));
}

int hook_execvpe(const char* f, char* const a[], char* const e[]) {
  if (!governed())
    return HOOK_REAL(execvpe, "execvpe") != nullptr ? HOOK_REAL(execvpe, "execvpe")(f, a, e)
                                                    : no_real();
  return ret_int(exec_guard::execvpe(f, a, e));
}

namespace {

constexpr size_t kStackArgs = 1024;

enum class Variant { kExecl, kExeclp, kExecle };

// execl* -> the execv* equivalent, with argv gathered on the stack (vfork-safe).
int exec_list(Variant v, const char* path, const char* arg0, va_list ap) {
  va_list count;
  va_copy(count, ap);
  size_t argc = 1;
  if (arg0 != nullptr) {
    while (va_arg(count, char*) != nullptr) ++argc;
  } else {
    argc = 0;
  }
  va_end(count);

  char* stack_argv[kStackArgs];
  char** argv = stack_argv;
  void* map = nullptr;
  size_t map_len = 0;
  if (argc + 1 > kStackArgs) {
    map_len = ((argc + 1) * sizeof(char*) + 4095) & ~static_cast<size_t>(4095);
    long m =
        sys::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m < 0 && m > -4096) return ret_int(m);
    map = reinterpret_cast<void*>(m);
    argv = static_cast<char**>(map);
  }
  if (argc > 0) {
    argv[0] = const_cast<char*>(arg0);
    for (size_t i = 1; i < argc; ++i) argv[i] = va_arg(ap, char*);
    (void)va_arg(ap, char*);  // the terminating NULL
  }
  argv[argc] = nullptr;
  char* const* envp = environ;
  if (v == Variant::kExecle) envp = va_arg(ap, char* const*);

  int r;
  switch (v) {
    case Variant::kExecl:
      r = hook_execve(path, argv, envp);
      break;
    case Variant::kExecle:
      r = hook_execve(path, argv, envp);
      break;
    case Variant::kExeclp:
      r = hook_execvpe(path, argv, envp);
      break;
  }
  if (map != nullptr) {
    int e = errno;
    sys::munmap(map, map_len);
    errno = e;
  }
  return r;
}

}  // namespace

int hook_execl(const char* p, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int r = exec_list(Variant::kExecl, p, arg, ap);
  va_end(ap);
  return r;
}
int hook_execlp(const char* f, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int r = exec_list(Variant::kExeclp, f, arg, ap);
  va_end(ap);
  return r;
}
int hook_execle(const char* p, const char* arg, ...) {
  va_list ap;
  va_start(ap, arg);
  int r = exec_list(Variant::kExecle, p, arg, ap);
  va_end(ap);
  return r;
}

int hook_posix_spawn(pid_t* pid, const char* p, const posix_spawn_file_actions_t* fa,
                     const posix_spawnattr_t* at, char* const a[], char* const e[]) {
  if (!governed()) {
    return g_real.posix_spawn != nullptr ? g_real.posix_spawn(pid, p, fa, at, a, e) : ENOSYS;
  }
  int saved = errno;
  int r = exec_guard::spawn(pid, p, fa, at, a, e, false);
  errno = saved;
  return r;
}

int hook_posix_spawnp(pid_t* pid, const char* f, const posix_spawn_file_actions_t* fa,
                      const posix_spawnattr_t* at, char* const a[], char* const e[]) {
  if (!governed()) {
    return g_real.posix_spawnp != nullptr ? g_real.posix_spawnp(pid, f, fa, at, a, e) : ENOSYS;
  }
  int saved = errno;
  int r = exec_guard::spawn(pid, f, fa, at, a, e, true);
  errno = saved;
  return r;
}

// system()/popen(): glibc spawns "/bin/sh -c cmd" internally; the command line is put
// to the broker first (it unwraps sh -c), and the shell's own execs are checked again.
int hook_system(const char* cmd) {
  if (HOOK_REAL(system, "system") == nullptr) return no_real();
  if (!governed() || cmd == nullptr) return HOOK_REAL(system, "system")(cmd);
  int err = exec_guard::check_shell_command(cmd);
  if (err != 0) return 126 << 8;  // as if the shell exited 126: "cannot execute"
  return HOOK_REAL(system, "system")(cmd);
}

FILE* hook_popen(const char* cmd, const char* type) {
  if (HOOK_REAL(popen, "popen") == nullptr) {
    errno = ENOSYS;
    return nullptr;
  }
  if (!governed() || cmd == nullptr) return HOOK_REAL(popen, "popen")(cmd, type);
  int err = exec_guard::check_shell_command(cmd);
  if (err != 0) {
    errno = err;
    return nullptr;
  }
  return HOOK_REAL(popen, "popen")(cmd, type);
}
