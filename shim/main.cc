// agentsh-shell-shim: installed as /bin/bash (the real shell kept as /bin/bash.real).
//
//   stdin is a TTY          → exec `agentsh exec -- <self>.real ARGS…` (a person or an
//                             agent driving a terminal: everything goes through policy)
//   stdin is not a TTY      → exec <self>.real with argv untouched (argv[0] preserved so
//                             login shells work), so pipes, scripts and binary data pass
//                             byte for byte at the cost of one extra exec
//     …unless forced          AGENTSH_SHIM_FORCE=1, or force=true in the shim.conf whose
//                             path the installer patched into this copy (conf_slot.h)
//   already inside agentsh  → exec <self>.real (AGENTSH_SNAPSHOT / AGENTSH_IN_SESSION set:
//                             the supervisor already governs this process; going through
//                             agentsh again would nest sessions)
//
// <self> is this binary's real path (/proc/self/exe): installed as <root>/usr/bin/bash
// it runs <root>/usr/bin/bash.real, whatever name or symlink it was started through.
// agentsh is looked for next to <self>, then /usr/local/bin, /usr/bin, then $PATH.
//
// Exit status: whatever the shell or agentsh returns (126 = blocked by policy, from
// agentsh); 127 when the real shell or agentsh cannot be found or run, with one line
// naming what was missing and where it looked.
//
// Deliberately tiny: plain libc, fixed buffers, no exceptions, no stdio buffering (it
// execs on every path), no yaml/sqlite. Nothing here allocates except getenv's reads.
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/scoped_fd.h"
#include "shim/conf_slot.h"

namespace {

using agentsh::shim_slot::kMagicLen;
using agentsh::shim_slot::kPathCap;

// The patchable slot: magic prefix, then the NUL-padded shim.conf path. `used` keeps
// it in the binary; it is read through launder() so the compiler cannot fold the
// default path into the code (the installer changes the bytes after compilation).
__attribute__((used)) char g_conf_slot[kMagicLen + kPathCap] =
    "AGENTSH-SHIM-CONF-SLOT-v1:/etc/agentsh/shim.conf";
static_assert(sizeof("AGENTSH-SHIM-CONF-SLOT-v1:") - 1 == kMagicLen);

const char* launder(const char* p) {
  asm volatile("" : "+r"(p));
  return p;
}

// One line to stderr, unbuffered (we are about to exec or exit).
void say(const char* fmt, ...) {
  char buf[8192];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  size_t len = static_cast<size_t>(n) < sizeof buf - 1 ? static_cast<size_t>(n) : sizeof buf - 2;
  buf[len++] = '\n';
  for (size_t off = 0; off < len;) {
    ssize_t w = write(STDERR_FILENO, buf + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    off += static_cast<size_t>(w);
  }
}

bool env_set(const char* name) {
  const char* v = getenv(name);
  return v && *v;
}

bool env_true(const char* name) {
  const char* v = getenv(name);
  return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0 || strcasecmp(v, "yes") == 0);
}

bool is_executable_file(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

// shim.conf: "key=value" lines, '#' comments, blanks ignored. Only `force` is read.
bool conf_forces(const char* path) {
  agentsh::ScopedFd fd(open(path, O_RDONLY | O_CLOEXEC));
  if (!fd) return false;
  char buf[4096];
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd.get(), buf + len, sizeof buf - 1 - len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += static_cast<size_t>(n);
    if (len == sizeof buf - 1) break;
  }
  buf[len] = '\0';
  bool force = false;
  for (char* line = buf; line && *line;) {
    char* next = strchr(line, '\n');
    if (next) *next++ = '\0';
    while (*line == ' ' || *line == '\t') ++line;
    if (*line != '#' && strncmp(line, "force", 5) == 0) {
      char* v = line + 5;
      while (*v == ' ' || *v == '\t') ++v;
      if (*v == '=') {
        ++v;
        while (*v == ' ' || *v == '\t') ++v;
        char* end = v + strlen(v);
        while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = '\0';
        force = strcasecmp(v, "true") == 0 || strcmp(v, "1") == 0 || strcasecmp(v, "yes") == 0;
      }
    }
    line = next;
  }
  return force;
}

// Appends "sep+s" to the `looked` list (truncating silently if it is full).
void note(char* looked, size_t cap, const char* s) {
  size_t used = strlen(looked);
  snprintf(looked + used, cap - used, "%s%s", used ? ", " : "", s);
}

// Finds agentsh: next to the shim's real path, /usr/local/bin, /usr/bin, then $PATH.
bool find_agentsh(const char* self, char* out, size_t cap, char* looked, size_t looked_cap) {
  char cand[PATH_MAX];
  const char* slash = strrchr(self, '/');
  if (slash) {
    snprintf(cand, sizeof cand, "%.*s/agentsh", static_cast<int>(slash - self), self);
    note(looked, looked_cap, cand);
    if (is_executable_file(cand)) return snprintf(out, cap, "%s", cand) < static_cast<int>(cap);
  }
  for (const char* fixed : {"/usr/local/bin/agentsh", "/usr/bin/agentsh"}) {
    note(looked, looked_cap, fixed);
    if (is_executable_file(fixed)) return snprintf(out, cap, "%s", fixed) < static_cast<int>(cap);
  }
  const char* path = getenv("PATH");
  if (!path || !*path) {
    note(looked, looked_cap, "$PATH (unset)");
    return false;
  }
  for (const char* p = path; *p;) {
    const char* colon = strchr(p, ':');
    size_t n = colon ? static_cast<size_t>(colon - p) : strlen(p);
    if (n > 0 && p[0] == '/') {  // relative $PATH entries are not trusted here
      snprintf(cand, sizeof cand, "%.*s/agentsh", static_cast<int>(n), p);
      note(looked, looked_cap, cand);
      if (is_executable_file(cand)) return snprintf(out, cap, "%s", cand) < static_cast<int>(cap);
    }
    p += n + (colon ? 1 : 0);
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  static char fallback_name[] = "bash";
  char* fallback_argv[] = {fallback_name, nullptr};
  if (argc < 1 || !argv[0]) {
    argv = fallback_argv;
    argc = 1;
  }

  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) {
    say("agentsh-shell-shim: cannot find its own path (/proc/self/exe: %s); is /proc mounted?",
        strerror(errno));
    return 127;
  }
  self[n] = '\0';
  static const char kDeleted[] = " (deleted)";  // replaced while running (re-install)
  if (static_cast<size_t>(n) > sizeof kDeleted - 1 &&
      strcmp(self + n - (sizeof kDeleted - 1), kDeleted) == 0)
    self[n - (sizeof kDeleted - 1)] = '\0';

  char real[PATH_MAX];
  if (snprintf(real, sizeof real, "%s.real", self) >= static_cast<int>(sizeof real)) {
    say("agentsh-shell-shim: path too long: %s.real", self);
    return 127;
  }
  if (!is_executable_file(real)) {
    say("agentsh-shell-shim: the real shell %s is missing or not executable (%s); "
        "run 'agentsh shim status' to see the install, 'agentsh shim uninstall-shell' to restore",
        real, access(real, F_OK) == 0 ? "not executable" : strerror(errno));
    return 127;
  }

  const char* conf = launder(g_conf_slot) + kMagicLen;
  bool inside = env_set("AGENTSH_SNAPSHOT") || env_set("AGENTSH_IN_SESSION");
  bool force = env_true("AGENTSH_SHIM_FORCE") || conf_forces(conf);
  if (inside || (!force && !isatty(STDIN_FILENO))) {
    execv(real, argv);
    say("agentsh-shell-shim: cannot run %s: %s", real, strerror(errno));
    return errno == ENOENT ? 127 : 126;
  }

  char agentsh[PATH_MAX];
  char looked[4096] = "";
  if (!find_agentsh(self, agentsh, sizeof agentsh, looked, sizeof looked)) {
    say("agentsh-shell-shim: agentsh not found (looked at: %s); install agentsh or put it "
        "next to the shim",
        looked);
    return 127;
  }

  // agentsh exec -- <real> [-l] ARGS…  (a login shell's "-bash" argv[0] becomes -l: the
  // real shell is started by path here, so its argv[0] is not ours to choose).
  const int extra = 4 + (argv[0][0] == '-' ? 1 : 0);
  char** nargv = static_cast<char**>(calloc(static_cast<size_t>(argc + extra + 1), sizeof *nargv));
  if (!nargv) {
    say("agentsh-shell-shim: out of memory");
    return 127;
  }
  static char kExec[] = "exec", kDashDash[] = "--", kLogin[] = "-l";
  int k = 0;
  nargv[k++] = agentsh;
  nargv[k++] = kExec;
  nargv[k++] = kDashDash;
  nargv[k++] = real;
  if (argv[0][0] == '-') nargv[k++] = kLogin;
  for (int i = 1; i < argc; ++i) nargv[k++] = argv[i];
  nargv[k] = nullptr;
  execv(agentsh, nargv);
  say("agentsh-shell-shim: cannot run %s: %s", agentsh, strerror(errno));
  return 127;
}
