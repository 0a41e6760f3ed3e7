// Read-only decisions over a mapped snapshot (see snapshot_format.h).
// Contract: no allocation, no exceptions, no locks, no syscalls — safe in the hook,
// in a vfork child and in signal handlers. The blob must outlive the view.
#pragma once

#include <cstddef>
#include <cstdint>

#include "policy/cidr.h"
#include "policy/decision.h"
#include "policy/snapshot_format.h"

namespace agentsh::snapshot {

// The outcome of one question. Pointers point into the blob (NUL-terminated there).
struct FileVerdict {
  policy::Decision decision;  // what the matching rule says
  const char* rule;           // rule name; "default-deny-files" when nothing matched
  const char* message;        // the rule's message template ("" if none)
  const char* redirect_to;    // for kRedirect
  bool protected_path;        // decided by agentsh's own protection, not by a rule
};

struct NetVerdict {
  policy::Decision decision;
  const char* rule;  // "default-deny-network" when nothing matched
  const char* message;
};

class View {
 public:
  View() noexcept = default;
  // Validates the header and every offset against `size`. Returns false (and the view
  // stays empty) for a blob that is truncated, of another version, or malformed.
  bool attach(const void* data, size_t size) noexcept;
  bool attached() const noexcept { return hdr_ != nullptr; }
  const Header& header() const noexcept { return *hdr_; }

  // `path` must be absolute and normalised (see common/path_util.h); the hook resolves
  // symlinks before asking. First matching rule wins; nothing matched = deny.
  FileVerdict check_file(const char* path, size_t len, policy::FileOp op) const noexcept;

  // `domain` may be null/empty (connect by IP with no known name); `ip` may be null
  // (a name not yet resolved). A rule with domains needs the domain to match; a rule
  // with cidrs needs the ip to match; a rule with ports needs the port to match.
  NetVerdict check_net(const char* domain, size_t dlen, const cidr::IpAddr* ip,
                       uint16_t port) const noexcept;

  // The exec fast path (hook-only mode). True when the broker's engine would answer a
  // plain allow for an exec of `resolved` (the path as the hook resolved it; may be null)
  // named `argv0`, whatever the other arguments: no wrapper to look inside, no rule with
  // args_patterns naming either name, every matching rule (or the default) allows.
  // False = ask the broker (also without a fast table, or for an empty argv0).
  bool exec_fast_allow(const char* argv0, const char* resolved) const noexcept;

  // String accessor (returns "" for an empty Str).
  const char* str(const Str& s) const noexcept;
  size_t str_len(const Str& s) const noexcept { return s.len; }

 private:
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  const Header* hdr_ = nullptr;
  const ExecFast* exec_ = nullptr;  // null: no fast table

  // The first plain rule matching the command name `n` (kExecNoRule: none), the way
  // the engine matches names; false when a rule with args_patterns matches it.
  bool exec_name(const char* n, size_t len, uint32_t* plain) const noexcept;
  const ExecKey* exec_key(bool path, const char* text, size_t len) const noexcept;
};

}  // namespace agentsh::snapshot
