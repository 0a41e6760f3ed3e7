// Installs agentsh-shell-shim as <root>/bin/bash (and, without bash_only, <root>/bin/sh),
// keeping the real shell beside it as bash.real / sh.real.
//
// * Paths are resolved inside the root: directory symlinks are followed as the tree
//   itself sees them (absolute targets relative to the root, ".." never above it), so on
//   merged-/usr systems <root>/bin/bash lands on <root>/usr/bin/bash. The last component
//   is never followed: a /bin/sh → dash symlink is moved aside as sh.real (still pointing
//   at dash) and dash itself is left alone.
// * Never a moment without a shell: the original is first hard-linked (or, if the
//   filesystem refuses, copied with mode, owner and times) to NAME.real, then the shim is
//   written to a temp file and renamed over NAME. Uninstall renames NAME.real back, so
//   the original returns byte for byte (same inode when the hard link worked).
// * The state (what was replaced, its SHA-256 or link target, mode, size) is recorded in
//   <root>/var/lib/agentsh/shim-state (JSON) at install; uninstall refuses to restore a
//   NAME.real whose checksum changed, or to overwrite a NAME that is no longer the shim,
//   unless forced.
// * The installed copy of the shim gets the path of <root>/etc/agentsh/shim.conf patched
//   into its slot (shim/conf_slot.h).
// * Idempotent: installing over an identical shim changes nothing and says so.
// * Refuses to touch the host (root "/") without `acknowledged`, unless dry-running.
//
// Output goes to the given streams (plain lines, one per action). Not thread-safe;
// one installer per process at a time (the state file is rewritten whole).
#pragma once

#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace agentsh {

struct ShellInstallOptions {
  std::string root = "/";
  std::string shim_path;  // the agentsh-shell-shim to install ("" = find it)
  bool bash_only = false;
  bool dry_run = false;
  bool force = false;
  bool acknowledged = false;  // --i-understand-this-modifies-the-host
};

class ShellInstaller {
 public:
  ShellInstaller(ShellInstallOptions opts, FILE* out, FILE* err);

  // Each returns a process exit status: 0 done (or nothing to do), 1 failed or
  // inconsistent (message says what and how to fix), 2 refused / bad usage.
  int install();
  int uninstall();
  int status();

  // The default shim: agentsh-shell-shim next to this executable, then /usr/local/bin,
  // /usr/bin, /usr/lib/agentsh. "" if none.
  static std::string find_default_shim();
  // Lowercase hex SHA-256 of a file's bytes; "" (and errno set) if unreadable.
  static std::string sha256_file(const std::string& path);

 private:
  struct Target {
    std::string name;     // "bash" | "sh"
    std::string in_root;  // e.g. /usr/bin/bash (as the tree sees it)
    std::string host;     // <root>/usr/bin/bash
    std::string real;     // <root>/usr/bin/bash.real
  };
  int prepare(const char* verb, bool modifies);
  bool resolve_targets(std::vector<Target>* out);
  bool load_shim(std::string* bytes);
  bool load_state();
  bool save_state();
  int install_one(const Target& t, const std::string& shim);
  int uninstall_one(const Target& t, bool have_record);
  void act(const std::string& what);  // prints "would …" in dry-run mode

  ShellInstallOptions opts_;
  FILE* out_;
  FILE* err_;
  std::string root_;  // realpath of the root; "" when the root is "/"
  std::string state_path_, conf_path_;
  nlohmann::json state_;  // {"version":1,"entries":{"bash":{…},"sh":{…}}}
};

}  // namespace agentsh
