#include "agentsh/detect.h"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/scoped_fd.h"

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

namespace agentsh::detect {

namespace {

// Runs fn in a forked child and returns its exit status (fn's return value, 0–255), or
// -1 if the child could not be started or died of a signal. The child never returns.
int in_child(const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) _exit(fn() & 0xff);
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// Probe children report errno through their exit status (0 = success).
std::string child_error(int status) {
  if (status < 0) return "the probe process crashed";
  return strerror(status);
}

std::string read_first_line(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

int install_filter(unsigned int flags, int nr_to_notify) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, static_cast<__u32>(nr_to_notify), 0, 1),
      BPF_STMT(BPF_RET | BPF_K, nr_to_notify >= 0 ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {static_cast<unsigned short>(sizeof f / sizeof f[0]), f};
  return static_cast<int>(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &prog));
}

DetectProbe probe_hook(const std::vector<std::string>& cands) {
  DetectProbe p{"hook", "LD_PRELOAD hook", false, "", 25, "fast path: in-process checks", ""};
  for (const auto& c : cands) {
    char magic[4] = {};
    ScopedFd fd(open(c.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd && read(fd.get(), magic, 4) == 4 && memcmp(magic, "\177ELF", 4) == 0) {
      p.available = true;
      char real[PATH_MAX];
      p.detail = realpath(c.c_str(), real) ? real : c;
      return p;
    }
  }
  std::string list;
  for (const auto& c : cands) list += (list.empty() ? "" : ", ") + c;
  p.detail = "libagentsh_hook.so not found (looked at " + list + ")";
  p.advice = "build it with `make` or install it with `make install`";
  return p;
}

DetectProbe probe_ptrace() {
  DetectProbe p{"ptrace", "ptrace", false,
                "",       35,       "tracer: safety net for static binaries, raw syscalls",
                ""};
  std::string yama = read_first_line("/proc/sys/kernel/yama/ptrace_scope");
  pid_t pid = fork();
  if (pid < 0) {
    p.detail = std::string("fork failed: ") + strerror(errno);
    return p;
  }
  if (pid == 0) {
    if (ptrace(PTRACE_TRACEME, 0, nullptr, nullptr) != 0) _exit(errno & 0xff);
    raise(SIGSTOP);
    _exit(0);
  }
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  if (WIFSTOPPED(st)) {
    p.available = true;
    p.detail = "PTRACE_TRACEME works";
    kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
  } else {
    p.detail = "PTRACE_TRACEME failed: " +
               (WIFEXITED(st) ? child_error(WEXITSTATUS(st)) : std::string("probe crashed"));
    p.advice =
        "allow ptrace: in a container add CAP_SYS_PTRACE / a seccomp profile that permits "
        "ptrace; with Yama, set kernel.yama.ptrace_scope to 0 or 1";
  }
  if (!yama.empty()) p.detail += " (yama ptrace_scope=" + yama + ")";
  return p;
}

DetectProbe probe_seccomp() {
  DetectProbe p{"seccomp", "seccomp-bpf",
                false,     "",
                25,        "kernel prefilter under the tracer; foreign ABIs denied",
                ""};
  int st = in_child([] {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno;
    return install_filter(0, -1) == 0 ? 0 : errno;
  });
  p.available = st == 0;
  p.detail = p.available ? "a filter installs (SECCOMP_SET_MODE_FILTER)"
                         : "SECCOMP_SET_MODE_FILTER failed: " + child_error(st);
  if (!p.available)
    p.advice = "use a kernel with CONFIG_SECCOMP_FILTER, and let the container call seccomp()";
  return p;
}

void probe_user_notif(DetectProbe* notif, DetectProbe* sync) {
  *notif = {
      "user_notif", "seccomp user-notify", false, "", 15, "decisions without a ptrace stop", ""};
  *sync = {"sync_wakeup", "user-notify SYNC_WAKE_UP", false, "", 0, "", ""};
  __u32 action = SECCOMP_RET_USER_NOTIF;
  if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) {
    notif->detail = std::string("SECCOMP_RET_USER_NOTIF not available: ") + strerror(errno);
    notif->advice = "needs Linux 5.0 or later";
    sync->detail = "needs user-notify";
    return;
  }
  // Exit status: 0 = listener + sync flag, 1 = listener only; otherwise errno + 2 of
  // the listener failure (so it cannot collide with 0/1).
  int st = in_child([] {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return errno + 2;
    // 1023 is no syscall: the filter exists but never fires.
    int fd = install_filter(SECCOMP_FILTER_FLAG_NEW_LISTENER, 1023);
    if (fd < 0) return errno + 2;
    __u64 flags = SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP;
    return ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS, flags) == 0 ? 0 : 1;
  });
  notif->available = st == 0 || st == 1;
  notif->detail = notif->available ? "a listener fd is returned (SECCOMP_FILTER_FLAG_NEW_LISTENER)"
                                   : "NEW_LISTENER failed: " + child_error(st < 0 ? st : st - 2);
  if (!notif->available) notif->advice = "needs Linux 5.0 or later with seccomp allowed";
  sync->available = st == 0;
  sync->detail = sync->available
                     ? "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP accepted (faster round trips)"
                     : "not accepted (Linux before 6.6): user-notify works, a little slower";
}

DetectProbe probe_landlock() {
  DetectProbe p{"landlock", "Landlock", false, "", 0, "", ""};
  long abi = syscall(SYS_landlock_create_ruleset, nullptr, 0, LANDLOCK_CREATE_RULESET_VERSION);
  p.available = abi > 0;
  p.detail =
      p.available
          ? "ABI version " + std::to_string(abi)
          : std::string("unavailable: ") + strerror(errno) +
                (errno == EOPNOTSUPP ? " (built in but disabled: add landlock to lsm=)" : "");
  return p;
}

DetectProbe probe_ebpf() {
  DetectProbe p{"ebpf", "eBPF", false, "", 0, "", ""};
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;  // r0 = 0
  insns[1].code = BPF_JMP | BPF_EXIT;
  union bpf_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
  attr.insns = reinterpret_cast<__u64>(insns);
  attr.insn_cnt = 2;
  static const char kLicense[] = "GPL";
  attr.license = reinterpret_cast<__u64>(kLicense);
  ScopedFd fd(static_cast<int>(syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr)));
  p.available = fd.valid();
  p.detail = p.available ? "BPF_PROG_LOAD permitted"
                         : std::string("BPF_PROG_LOAD refused: ") + strerror(errno);
  return p;
}

DetectProbe probe_cgroup2() {
  DetectProbe p{"cgroup2", "cgroups v2", false, "", 0, "", ""};
  std::ifstream mi("/proc/self/mountinfo");
  std::string line, mount_point;
  while (std::getline(mi, line)) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream rest(line.substr(dash + 3));
    std::string fstype;
    rest >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head(line.substr(0, dash));
    std::string f[5];
    for (auto& x : f) head >> x;
    mount_point = f[4];
    break;
  }
  if (mount_point.empty()) {
    p.detail = "no cgroup2 mount (cgroup v1 or none)";
    return p;
  }
  std::string rel = "/";
  std::ifstream cg("/proc/self/cgroup");
  while (std::getline(cg, line))
    if (line.rfind("0::", 0) == 0) rel = line.substr(3);
  std::string dir = mount_point + (rel == "/" ? "" : rel);
  struct statvfs sv;
  bool ro = statvfs(dir.c_str(), &sv) == 0 && (sv.f_flag & ST_RDONLY);
  p.available = !ro && access(dir.c_str(), W_OK) == 0;
  p.detail = dir + (p.available ? " is writable" : ro ? " is read-only" : " is not writable");
  return p;
}

DetectProbe probe_ns(const char* id, const char* name, int flag) {
  DetectProbe p{id, name, false, "", 0, "", ""};
  int st = in_child([flag] { return unshare(flag) == 0 ? 0 : errno; });
  p.available = st == 0;
  p.detail = p.available ? "unshare works" : "unshare failed: " + child_error(st);
  return p;
}

DetectProbe probe_fuse() {
  DetectProbe p{"fuse", "FUSE", false, "", 0, "", ""};
  ScopedFd fd(open("/dev/fuse", O_RDWR | O_CLOEXEC));
  if (!fd) {
    p.detail = std::string("/dev/fuse: ") + strerror(errno);
    return p;
  }
  const char* fm = nullptr;
  for (const char* c : {"/usr/bin/fusermount3", "/bin/fusermount3", "/usr/local/bin/fusermount3"})
    if (access(c, X_OK) == 0) {
      fm = c;
      break;
    }
  p.available = fm != nullptr || geteuid() == 0;
  p.detail =
      std::string("/dev/fuse opens; ") + (fm ? fm : "no fusermount3 (root can mount directly)");
  return p;
}

}  // namespace

std::vector<std::string> default_hook_candidates() {
  std::vector<std::string> c;
  char self[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    std::string s(self, static_cast<size_t>(n));
    std::string dir = s.substr(0, s.find_last_of('/'));
    c.push_back(dir + "/../lib/libagentsh_hook.so");
    c.push_back(dir + "/../lib/agentsh/libagentsh_hook.so");
  }
  for (const char* d : {"/usr/local/lib/agentsh", "/usr/lib/agentsh", "/usr/local/lib", "/usr/lib"})
    c.push_back(std::string(d) + "/libagentsh_hook.so");
  return c;
}

DetectReport run(const std::vector<std::string>& hook_candidates) {
  DetectReport r;
  r.probes.push_back(
      probe_hook(hook_candidates.empty() ? default_hook_candidates() : hook_candidates));
  r.probes.push_back(probe_ptrace());
  r.probes.push_back(probe_seccomp());
  DetectProbe notif, sync;
  probe_user_notif(&notif, &sync);
  r.probes.push_back(notif);
  r.probes.push_back(sync);
  r.probes.push_back(probe_landlock());
  r.probes.push_back(probe_ebpf());
  r.probes.push_back(probe_cgroup2());
  r.probes.push_back(probe_ns("userns", "user namespaces", CLONE_NEWUSER));
  r.probes.push_back(probe_ns("mountns", "mount namespaces", CLONE_NEWNS));
  r.probes.push_back(probe_ns("netns", "network namespaces", CLONE_NEWNET));
  r.probes.push_back(probe_ns("pidns", "pid namespaces", CLONE_NEWPID));
  r.probes.push_back(probe_fuse());
  for (const auto& p : r.probes)
    if (p.available) r.score += p.weight;
  return r;
}

std::string render_text(const DetectReport& r) {
  std::string out = "agentsh detect: what this machine allows\n\n";
  char line[1024];
  for (const auto& p : r.probes) {
    snprintf(line, sizeof line, "  [%s] %-26s %s\n", p.available ? " ok " : "MISS", p.name.c_str(),
             p.detail.c_str());
    out += line;
  }
  out += "\nLayers agentsh will use:\n";
  bool any = false;
  for (const auto& p : r.probes) {
    if (p.use.empty() || !p.available) continue;
    out += "  - " + p.name + ": " + p.use + "\n";
    any = true;
  }
  if (!any) out += "  (none: agentsh cannot enforce policy on this machine)\n";
  out += "\nProtection Score: " + std::to_string(r.score) + "/100\n";
  out +=
      "  weighting (layers this build uses): hook 25, ptrace 35, seccomp-bpf 25, seccomp "
      "user-notify 15;\n  Landlock, eBPF, cgroups v2, namespaces and FUSE are reported but not "
      "used, so they score 0\n";
  std::string raise;
  for (const auto& p : r.probes)
    if (!p.available && p.weight > 0 && !p.advice.empty())
      raise += "  - " + p.name + " (+" + std::to_string(p.weight) + "): " + p.advice + "\n";
  out += raise.empty() ? "Nothing to raise: every layer agentsh uses is available.\n"
                       : "To raise it:\n" + raise;
  return out;
}

nlohmann::json render_json(const DetectReport& r) {
  nlohmann::json probes = nlohmann::json::array(), layers = nlohmann::json::array(),
                 advice = nlohmann::json::array();
  for (const auto& p : r.probes) {
    probes.push_back({{"id", p.id},
                      {"name", p.name},
                      {"available", p.available},
                      {"detail", p.detail},
                      {"weight", p.weight},
                      {"used_by_agentsh", !p.use.empty()}});
    if (p.available && !p.use.empty()) layers.push_back(p.id);
    if (!p.available && p.weight > 0 && !p.advice.empty())
      advice.push_back({{"probe", p.id}, {"points", p.weight}, {"advice", p.advice}});
  }
  return {{"probes", probes}, {"layers", layers}, {"score", r.score}, {"raise", advice}};
}

}  // namespace agentsh::detect
