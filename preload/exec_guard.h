// Exec governance. When the snapshot sets kFlagHookExecViaBroker an exec or spawn the
// snapshot's exec fast table settles (a plain allow whatever the argv, see
// snapshot::View::exec_fast_allow) runs at once, its audit record handed to the broker
// without waiting (kExecAudit); every other exec, spawn,
// system() and popen() is first put to the supervisor's broker (which unwraps env, xargs,
// sh -c … with the full engine); a denial prints exactly one line to stderr
//   agentsh: blocked by policy: rule=<rule> command=<name>
// and fails with EACCES (or the errno the broker names). An unreachable broker denies
// (fail closed). When the flag is clear the tracer decides exec; the hook only keeps
// itself in the child's environment (EnvFixer) and execs with a plain syscall so the
// tracer sees it.
//
// Everything here runs in vfork children too: stack buffers only, no allocation, no
// locks; the broker socket is closed before the exec syscall.
//
// House rules: no exceptions, no malloc, no locks, no stdio, raw syscalls, errno
// untouched on the allow path.
#pragma once

#include <spawn.h>
#include <sys/types.h>

namespace agentsh::hook::exec_guard {

// execve / execveat / fexecve. Returns only on failure, with -errno.
// dirfd/at_flags as for execveat (AT_FDCWD / 0 for execve).
long execve(int dirfd, const char* path, char* const argv[], char* const envp[],
            int at_flags) noexcept;

// execvp / execvpe / execlp: PATH search (the caller's PATH, as glibc does), each
// candidate checked as execve; ENOEXEC scripts run through /bin/sh like glibc.
long execvpe(const char* file, char* const argv[], char* const envp[]) noexcept;

// posix_spawn / posix_spawnp. Return an error number like posix_spawn (0 = spawned).
int spawn(pid_t* pid, const char* file, const posix_spawn_file_actions_t* fa,
          const posix_spawnattr_t* attr, char* const argv[], char* const envp[],
          bool search_path) noexcept;

// system()/popen() pre-check of "sh -c <command>". Returns 0 to go ahead, else the errno
// to fail with (the stderr line is already printed).
int check_shell_command(const char* command) noexcept;

}  // namespace agentsh::hook::exec_guard
