// Every execve/execveat of the tree, decided in two steps:
//
//  1. At the seccomp notification (check): copy the path and argv, resolve the file from
//     the caller's cwd/dirfd, refuse fileless images (memfd, deleted files), follow #!
//     interpreters the way the kernel will (up to 4 levels), and ask the Decider about
//     the program and every interpreter. Denied: EACCES, one line on the caller's
//     stderr ("agentsh: blocked by policy: rule=R command=C"), one audit record.
//     Allowed: record what must run — the identity (dev, inode) of the image the kernel
//     will load and the exact argv it will see — then let the call continue.
//  2. At PTRACE_EVENT_EXEC (verify, on the ptrace thread): the process is now single-
//     threaded and its new image is fixed. If /proc/<pid>/exe is not the approved file
//     or /proc/<pid>/cmdline is not the approved argv — another thread rewrote the
//     path or argv after step 1, or swapped the file — the process is killed before it
//     runs one instruction of the new image. An exec with no approval is killed too.
//
// Thread-safety: check() runs on workers, verify() on the ptrace thread; they meet in
// the process table.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "tracer/fs_emulator.h"
#include "tracer/image_header_cache.h"
#include "tracer/notification.h"
#include "tracer/supervisor_context.h"

namespace agentsh::tracer {

class ExecChecker {
 public:
  ExecChecker(SupervisorContext& ctx, FsEmulator& fs) : ctx_(ctx), fs_(fs) {}

  Outcome check(const Caller& c);
  // True if the new image of `tgid` (exec'd by thread `former_tid`) is what was
  // approved. False: the caller must kill it (the audit record is written here).
  bool verify(pid_t tgid, pid_t former_tid);

  // #! parsing exactly as binfmt_script does. False if `head` is not a script.
  static bool parse_shebang(const std::string& head, std::string* interp, std::string* arg);
  // The argv the kernel builds for a script: [interp, arg?, filename, argv[1..]].
  static std::vector<std::string> script_argv(const std::vector<std::string>& argv,
                                              const std::string& interp, const std::string& arg,
                                              const std::string& filename);

 private:
  Outcome deny(const Caller& c, const std::vector<std::string>& argv, const std::string& path,
               const Verdict& v);
  bool verify_image(pid_t tgid, pid_t former_tid);
  // Whether the new image's argv, read from its initial stack, is exactly `expect`.
  bool argv_on_stack(pid_t tgid, const std::vector<std::string>& expect);
  bool accept(pid_t tgid, const ExecApproval& a);
  SupervisorContext& ctx_;
  FsEmulator& fs_;
  ImageHeaderCache headers_;
};

}  // namespace agentsh::tracer
