// Exec governance (see exec_guard.h). House rules: no exceptions, no malloc, no locks,
// no stdio, raw syscalls, errno untouched on the allow path; vfork-safe (stack only).
#include "preload/exec_guard.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "common/broker_protocol.h"
#include "preload/broker_client.h"
#include "preload/env_fixer.h"
#include "preload/hook_state.h"
#include "preload/line_buf.h"
#include "preload/path_resolver.h"
#include "preload/real_fns.h"
#include "preload/reentry_guard.h"
#include "preload/sys.h"

extern char** environ;

namespace agentsh::hook::exec_guard {

namespace {

using path_resolver::kPathMax;

enum class Kind : unsigned char { kAllow, kDeny, kRedirect };

struct Verdict {
  Kind kind = Kind::kAllow;
  int err = 0;
};

constexpr size_t kMaxRedirectArgs = 64;

const char* base_name(const char* p) noexcept {
  const char* b = strrchr(p, '/');
  return b != nullptr && b[1] != '\0' ? b + 1 : p;
}

// Shells keep searching PATH after EACCES (dash tries every entry; /bin/sudo and
// /usr/bin/sudo are the same file on merged-/usr systems), so one exec attempt can hit
// the same denial several times in one process, with the same argv array. For execve
// the line is printed once per (process, resolved path, argv array): the last denial is
// remembered (a vfork child shares this memory but has its own pid, so the parent is
// not silenced by it). Spawn/system/popen are checked once per call and always print.
uint64_t g_last_denied_hash = 0;
long g_last_denied_pid = 0;

uint64_t fnv1a(const char* s) noexcept {
  uint64_t h = 1469598103934665603ull;
  for (; *s != '\0'; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ull;
  return h;
}

bool first_denial(const char* resolved, char* const argv[]) noexcept {
  uint64_t h = fnv1a(resolved) ^ reinterpret_cast<uintptr_t>(argv);
  long pid = sys::getpid();
  if (__atomic_load_n(&g_last_denied_hash, __ATOMIC_RELAXED) == h &&
      __atomic_load_n(&g_last_denied_pid, __ATOMIC_RELAXED) == pid) {
    return false;
  }
  __atomic_store_n(&g_last_denied_hash, h, __ATOMIC_RELAXED);
  __atomic_store_n(&g_last_denied_pid, pid, __ATOMIC_RELAXED);
  return true;
}

void print_denial(const broker::Reply& reply, const char* name) noexcept {
  LineBuf line;
  if (reply.message[0] != '\0') {
    if (strncmp(reply.message, "agentsh:", 8) != 0) line.add("agentsh: ");
    line.add(reply.message);
  } else {
    line.add("agentsh: blocked by policy: rule=").add(reply.rule[0] ? reply.rule : "unknown");
    line.add(" command=").add(name);
  }
  if (line.size() == 0 || line.data()[line.size() - 1] != '\n') line.add_char('\n');
  sys::write_all(2, line.data(), line.size());
}

// The executable an exec names, resolved the way the kernel will find it (symlinks
// expanded), for the broker. Returns the length or -errno.
__attribute__((noinline)) long exec_target(int dirfd, const char* path, int at_flags,
                                           char* out) noexcept {
  if ((at_flags & AT_EMPTY_PATH) != 0 && path != nullptr && path[0] == '\0') {
    LineBuf link;
    link.add("/proc/self/fd/").add_int(dirfd);
    long n = sys::readlinkat(AT_FDCWD, link.data(), out, kPathMax - 1);
    if (n < 0) return n == -ENOENT ? -EBADF : n;
    out[n] = '\0';  // may be "/memfd:x (deleted)": still a name the broker can judge
    return n;
  }
  path_resolver::Target t;
  long r = path_resolver::build(dirfd, path, &t);
  if (r < 0) return r;
  path_resolver::Resolved rs;
  r = path_resolver::resolve(t.open, t.open_len, (at_flags & AT_SYMLINK_NOFOLLOW) == 0, &rs);
  if (r < 0) return r;
  const char* d = rs.magic ? t.dpath : rs.dpath;
  size_t dl = rs.magic ? t.dlen : rs.dlen;
  memcpy(out, d, dl + 1);
  return static_cast<long>(dl);
}

// Puts one exec to the broker. Prints the stderr line on denial.
Verdict ask(const char* resolved, char* const argv[], broker::Reply* reply, bool dedupe) noexcept {
  Verdict v;
  const char* name =
      (argv != nullptr && argv[0] != nullptr) ? base_name(argv[0]) : base_name(resolved);
  char cwd[kPathMax];
  if (sys::getcwd(cwd, sizeof cwd) < 0) cwd[0] = '\0';
  long r = broker_client::exec_check(resolved, cwd, argv, reply);
  if (r < 0) {
    LineBuf line;
    line.add("agentsh: exec denied (fail closed): cannot reach the agentsh broker at ");
    line.add(HookState::get().broker_socket()).add(" (errno ").add_int(-r).add(") command=");
    line.add(name).add_char('\n');
    sys::write_all(2, line.data(), line.size());
    v.kind = Kind::kDeny;
    v.err = EACCES;
    return v;
  }
  if (reply->decision != broker::ReplyDecision::kAllow) {
    if (!dedupe || first_denial(resolved, argv)) print_denial(*reply, name);
    v.kind = Kind::kDeny;
    v.err = reply->err > 0 ? reply->err : EACCES;
    return v;
  }
  if (reply->redirect != 0) v.kind = Kind::kRedirect;
  return v;
}

// The snapshot's exec fast table (policy/snapshot_format.h ExecFast): a plain allow
// whatever the argv — no wrapper, no rule with args_patterns, nothing but allow — is
// decided here, without the broker round trip, and its audit record handed to the
// broker without waiting (kExecAudit). When the record cannot be handed over (queue
// full, too big for one datagram, no door) the broker is asked as before and records
// the exec itself: an exec is never left unaudited. Stack only (vfork-safe).
bool allowed_in_process(const char* resolved, char* const argv[]) noexcept {
  if (argv == nullptr || argv[0] == nullptr) return false;
  if (!HookState::get().view().exec_fast_allow(argv[0], resolved)) return false;
  char cwd[kPathMax];
  if (sys::getcwd(cwd, sizeof cwd) < 0) cwd[0] = '\0';
  return broker_client::exec_audit(resolved, cwd, argv);
}

// PATH of the calling process (glibc's exec*p and posix_spawnp search that one).
const char* path_env() noexcept {
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  }
  return "/bin:/usr/bin";
}

// Joins PATH element [dir, dir+dlen) and file into out. False when too long.
bool join(const char* dir, size_t dlen, const char* file, char* out) noexcept {
  size_t fl = strlen(file);
  if (dlen + 1 + fl + 1 > kPathMax) return false;
  size_t n = 0;
  if (dlen > 0) {
    memcpy(out, dir, dlen);
    n = dlen;
    out[n++] = '/';
  }
  memcpy(out + n, file, fl + 1);
  return true;
}

// First PATH candidate that is an executable regular file. False when none.
bool path_search(const char* file, char* out) noexcept {
  const char* p = path_env();
  for (;;) {
    const char* s = p;
    while (*p != '\0' && *p != ':') ++p;
    if (join(s, static_cast<size_t>(p - s), file, out) &&
        sys::call(SYS_faccessat, AT_FDCWD, sys::arg(out), X_OK) == 0) {
      struct stat st;
      if (sys::call(SYS_newfstatat, AT_FDCWD, sys::arg(out), sys::arg(&st), 0) == 0 &&
          S_ISREG(st.st_mode)) {
        return true;
      }
    }
    if (*p == '\0') return false;
    ++p;
  }
}

// The exec syscall itself, with the environment fixed. `gated`: the hook decided this
// exec (broker mode), so it may run through the gate; otherwise the tracer must see it.
long exec_raw(int dirfd, const char* path, char* const argv[], char* const envp[], int at_flags,
              bool gated) noexcept {
  EnvFixer fx;
  char* const* e = fx.fix(envp);
  if (dirfd == AT_FDCWD && at_flags == 0) {
    return gated ? sys::call(SYS_execve, sys::arg(path), sys::arg(argv), sys::arg(e))
                 : sys::direct(SYS_execve, sys::arg(path), sys::arg(argv), sys::arg(e));
  }
  return gated
             ? sys::call(SYS_execveat, dirfd, sys::arg(path), sys::arg(argv), sys::arg(e), at_flags)
             : sys::direct(SYS_execveat, dirfd, sys::arg(path), sys::arg(argv), sys::arg(e),
                           at_flags);
}

// Splits Reply.redirect_argv (NUL-separated, double NUL at the end) into argv.
size_t redirect_args(broker::Reply* reply, char** out) noexcept {
  size_t k = 0;
  char* p = reply->redirect_argv;
  char* end = reply->redirect_argv + sizeof reply->redirect_argv;
  while (p < end && *p != '\0' && k + 1 < kMaxRedirectArgs) {
    out[k++] = p;
    p += strlen(p) + 1;
  }
  out[k] = nullptr;
  return k;
}

// Runs the broker's replacement command instead (not checked again: the broker chose it).
long exec_redirect(broker::Reply* reply, char* const envp[]) noexcept {
  char* rargv[kMaxRedirectArgs];
  if (redirect_args(reply, rargv) == 0) return -EACCES;
  char cand[kPathMax];
  const char* path = rargv[0];
  if (strchr(path, '/') == nullptr) {
    if (!path_search(path, cand)) return -ENOENT;
    path = cand;
  }
  return exec_raw(AT_FDCWD, path, rargv, envp, 0, true);
}

// execve with the decision; *denied tells a policy denial from a kernel error.
long execve_checked(int dirfd, const char* path, char* const argv[], char* const envp[],
                    int at_flags, bool* denied) noexcept {
  *denied = false;
  HookState& s = HookState::get();
  if (s.mode() == HookState::Mode::kFailClosed) {
    s.warn_fail_closed_once();
    *denied = true;
    return -EACCES;
  }
  if (path == nullptr) return -EFAULT;
  bool gated = false;
  if (s.exec_via_broker()) {
    char resolved[kPathMax];
    long r = exec_target(dirfd, path, at_flags, resolved);
    if (r < 0) return r;
    // Nothing would run (missing, not executable): the kernel's answer, and no question
    // to the broker — shells probe every PATH entry this way.
    if ((at_flags & AT_EMPTY_PATH) == 0) {
      long probe = sys::call(SYS_faccessat, AT_FDCWD, sys::arg(resolved), X_OK);
      if (probe < 0) return probe;
    }
    if (!allowed_in_process(resolved, argv)) {
      broker::Reply reply;
      Verdict v = ask(resolved, argv, &reply, true);
      if (v.kind == Kind::kDeny) {
        *denied = true;
        return -v.err;
      }
      if (v.kind == Kind::kRedirect) return exec_redirect(&reply, envp);
    }
    gated = true;
  }
  return exec_raw(dirfd, path, argv, envp, at_flags, gated);
}

// glibc's maybe_script_execute: a file without #! runs as "/bin/sh file args…".
long script_fallback(const char* file, char* const argv[], char* const envp[]) noexcept {
  size_t argc = 0;
  while (argv != nullptr && argv[argc] != nullptr) ++argc;
  constexpr size_t kStackArgs = 512;
  char* stack_args[kStackArgs];
  char** nargv = stack_args;
  size_t need = argc + 2;
  void* map = nullptr;
  size_t map_len = 0;
  if (need > kStackArgs) {
    map_len = (need * sizeof(char*) + 4095) & ~static_cast<size_t>(4095);
    long m =
        sys::mmap(nullptr, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m < 0 && m > -4096) return m;
    map = reinterpret_cast<void*>(m);
    nargv = static_cast<char**>(map);
  }
  nargv[0] = const_cast<char*>("/bin/sh");
  nargv[1] = const_cast<char*>(file);
  for (size_t i = 1; i < argc; ++i) nargv[i + 1] = argv[i];
  nargv[argc < 1 ? 2 : argc + 1] = nullptr;
  bool denied = false;
  long r = execve_checked(AT_FDCWD, "/bin/sh", nargv, envp, 0, &denied);
  if (map != nullptr) sys::munmap(map, map_len);
  return r;
}

}  // namespace

long execve(int dirfd, const char* path, char* const argv[], char* const envp[],
            int at_flags) noexcept {
  bool denied = false;
  return execve_checked(dirfd, path, argv, envp, at_flags, &denied);
}

long execvpe(const char* file, char* const argv[], char* const envp[]) noexcept {
  if (file == nullptr) return -EFAULT;
  if (file[0] == '\0') return -ENOENT;
  bool denied = false;
  if (strchr(file, '/') != nullptr) {
    long r = execve_checked(AT_FDCWD, file, argv, envp, 0, &denied);
    if (r == -ENOEXEC && !denied) r = script_fallback(file, argv, envp);
    return r;
  }
  const char* p = path_env();
  bool got_eacces = false;
  char cand[kPathMax];
  for (;;) {
    const char* s = p;
    while (*p != '\0' && *p != ':') ++p;
    if (join(s, static_cast<size_t>(p - s), file, cand)) {
      // Probe first so the broker is only asked about a file that exists.
      long probe = sys::call(SYS_faccessat, AT_FDCWD, sys::arg(cand), X_OK);
      if (probe == 0) {
        long r = execve_checked(AT_FDCWD, cand, argv, envp, 0, &denied);
        if (denied) return r;  // a policy "no" ends the search
        if (r == -ENOEXEC) return script_fallback(cand, argv, envp);
        if (r == -EACCES) {
          got_eacces = true;
        } else if (r != -ENOENT && r != -ESTALE && r != -ENOTDIR && r != -ENODEV &&
                   r != -ETIMEDOUT) {
          return r;
        }
      } else if (probe == -EACCES) {
        got_eacces = true;
      }
    }
    if (*p == '\0') break;
    ++p;
  }
  return got_eacces ? -EACCES : -ENOENT;
}

int spawn(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa,
          const posix_spawnattr_t* attr, char* const argv[], char* const envp[],
          bool search_path) noexcept {
  HookState& s = HookState::get();
  if (s.mode() == HookState::Mode::kFailClosed) {
    s.warn_fail_closed_once();
    return EACCES;
  }
  auto* real = search_path ? g_real.posix_spawnp : g_real.posix_spawn;
  if (real == nullptr || g_real.posix_spawn == nullptr) return ENOSYS;
  if (file == nullptr) return EFAULT;
  if (s.exec_via_broker()) {
    // glibc's posix_spawn clones and execs inside libc: nothing of ours runs in the
    // child, so the check happens here, in the parent, before the child exists.
    char cand[kPathMax];
    const char* exec_path = file;
    if (search_path && strchr(file, '/') == nullptr)
      exec_path = path_search(file, cand) ? cand : nullptr;
    if (exec_path != nullptr) {
      char resolved[kPathMax];
      long r = exec_target(AT_FDCWD, exec_path, 0, resolved);
      if (r >= 0 && !allowed_in_process(resolved, argv)) {
        broker::Reply reply;
        Verdict v = ask(resolved, argv, &reply, false);
        if (v.kind == Kind::kDeny) return v.err;
        if (v.kind == Kind::kRedirect) {
          char* rargv[kMaxRedirectArgs];
          if (redirect_args(&reply, rargv) == 0) return EACCES;
          const char* rpath = rargv[0];
          if (strchr(rpath, '/') == nullptr) {
            if (!path_search(rpath, cand)) return ENOENT;
            rpath = cand;
          }
          EnvFixer fx;
          ReentryGuard guard;
          return g_real.posix_spawn(pid, rpath, fa, attr, rargv, fx.fix(envp));
        }
      }
    }
  }
  EnvFixer fx;
  char* const* e = fx.fix(envp);
  ReentryGuard guard;
  return real(pid, file, fa, attr, argv, e);
}

int check_shell_command(const char* command) noexcept {
  HookState& s = HookState::get();
  if (s.mode() == HookState::Mode::kFailClosed) {
    s.warn_fail_closed_once();
    return EACCES;
  }
  if (!s.exec_via_broker() || command == nullptr) return 0;
  char resolved[kPathMax];
  if (exec_target(AT_FDCWD, "/bin/sh", 0, resolved) < 0) memcpy(resolved, "/bin/sh", 8);
  char* argv[] = {const_cast<char*>("sh"), const_cast<char*>("-c"), const_cast<char*>(command),
                  nullptr};
  broker::Reply reply;
  Verdict v = ask(resolved, argv, &reply, false);
  // A redirect is applied when the shell execs the command (its exec is checked again).
  return v.kind == Kind::kDeny ? v.err : 0;
}

}  // namespace agentsh::hook::exec_guard
