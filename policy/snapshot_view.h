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

  // String accessor (returns "" for an empty Str).
  const char* str(const Str& s) const noexcept;
  size_t str_len(const Str& s) const noexcept { return s.len; }

 private:
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  const Header* hdr_ = nullptr;
};

}  // namespace agentsh::snapshot
