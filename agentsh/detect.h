// `agentsh detect`: what this machine lets agentsh do, probed for real (not guessed from
// the kernel version).
//
// Probes (each one that could change the process runs in a forked child, so agentsh
// itself is never left traced, filtered or in a new namespace):
//   hook        libagentsh_hook.so present where agentsh loads it from
//   ptrace      fork + PTRACE_TRACEME + SIGSTOP seen by the parent (+ yama ptrace_scope)
//   seccomp     a seccomp-bpf filter installs (no_new_privs + SECCOMP_SET_MODE_FILTER)
//   user_notif  SECCOMP_RET_USER_NOTIF available and a listener fd is returned
//   sync_wakeup SECCOMP_IOCTL_NOTIF_SET_FLAGS(SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) accepted
//   landlock    landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) ABI
//   ebpf        bpf(BPF_PROG_LOAD) of a two-instruction socket filter
//   cgroup2     a cgroup2 mount exists and our cgroup directory is writable
//   userns / mountns / netns / pidns   unshare(CLONE_NEW…) in a child
//   fuse        /dev/fuse opens read-write and fusermount3 exists
//
// Protection Score (0–100) counts only the layers this build of agentsh actually uses,
// weighted by what they protect:
//   hook 25        fast in-process checks for every dynamically linked program
//   ptrace 35      the safety net: static binaries, raw syscalls, dropped LD_PRELOAD
//   seccomp 25     the kernel prefilter (and the foreign-ABI deny) under the tracer
//   user_notif 15  synchronous decisions without a ptrace stop
// The other probes are reported (they matter to isolation tools and to future layers)
// but score 0: claiming protection from a feature agentsh does not use would be a lie.
// sync_wakeup only makes user-notify faster, so it scores 0 too.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agentsh {

struct DetectProbe {
  std::string id;    // "ptrace", …
  std::string name;  // human name
  bool available = false;
  std::string detail;  // what was seen (errno text, ABI version, path)
  int weight = 0;      // points it is worth in the score
  std::string use;     // how agentsh uses it ("" = not used by this build)
  std::string advice;  // what to do when it is missing ("" = nothing useful)
};

struct DetectReport {
  std::vector<DetectProbe> probes;
  int score = 0;
};

namespace detect {

// Runs every probe. `hook_candidates` overrides where the hook is looked for (tests).
DetectReport run(const std::vector<std::string>& hook_candidates = {});
// Where agentsh looks for libagentsh_hook.so, relative to this executable and installed.
std::vector<std::string> default_hook_candidates();
std::string render_text(const DetectReport& r);
nlohmann::json render_json(const DetectReport& r);

}  // namespace detect
}  // namespace agentsh
