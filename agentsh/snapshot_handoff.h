// Hands the compiled policy snapshot to every hooked process as an inherited descriptor,
// so the hook's constructor maps it without a path lookup (under the tracer an open by
// path is a supervisor round trip in every process).
//
// The descriptor is a memfd sealed against every change (F_SEAL_WRITE|GROW|SHRINK|SEAL):
// nobody — not the agent, not through /proc/self/fd/N reopened for writing — can alter
// what later processes map. It is close-on-exec in agentsh; only the command's child
// clears the flag (release_to_child) right before its execve. The environment names it
// as AGENTSH_SNAPSHOT_FD=<fd>:<st_dev>:<st_ino>; the hook (preload/hook_state.cc) trusts
// the number only when fstat says it is still that object, and otherwise opens
// AGENTSH_SNAPSHOT by path as before (a program may close the number or reuse it).
#pragma once

#include <string>
#include <string_view>

#include "common/scoped_fd.h"

namespace agentsh::snapshot_handoff {

inline constexpr char kEnvVar[] = "AGENTSH_SNAPSHOT_FD";
// The descriptor is moved to the first free number at or above this one: far from the
// 0–9 shells hand out and from what programs open first.
inline constexpr int kMinFd = 100;

struct Handoff {
  ScopedFd fd;
  std::string env_value;  // "<fd>:<st_dev>:<st_ino>"
};

// Creates the sealed memfd holding `bytes`. Returns false with *err set ("memfd_create:
// …") when the kernel cannot; callers then go on without it (the hook opens by path).
bool create(std::string_view bytes, Handoff* out, std::string* err);

// In the forked child, right before execve (async-signal- and vfork-safe: one fcntl):
// lets `fd` survive the exec.
void release_to_child(int fd) noexcept;

}  // namespace agentsh::snapshot_handoff
