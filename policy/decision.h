// Decisions and file operations: the vocabulary every module shares.
// Hook-safe: constexpr tables only, no allocation.
#pragma once

#include <cstdint>
#include <string_view>

namespace agentsh::policy {

// What a rule says. Order matters: a larger value is stricter when decisions are
// combined ("the strictest decision wins" for unwrapped command lines).
enum class Decision : uint8_t {
  kAllow = 0,
  kAudit = 1,       // allow + an audit record
  kRedirect = 2,    // allow, but somewhere else (file: redirect_to; command: redirect_to)
  kSoftDelete = 3,  // delete becomes a move to the session's trash
  kApprove = 4,     // a person must say yes; fails closed when nobody can
  kDeny = 5,
};
inline constexpr int kDecisionCount = 6;

constexpr std::string_view decision_name(Decision d) {
  switch (d) {
    case Decision::kAllow:
      return "allow";
    case Decision::kAudit:
      return "audit";
    case Decision::kRedirect:
      return "redirect";
    case Decision::kSoftDelete:
      return "soft_delete";
    case Decision::kApprove:
      return "approve";
    case Decision::kDeny:
      return "deny";
  }
  return "deny";
}

// Parses a policy's decision string (case-insensitive). Returns false if unknown.
bool parse_decision(std::string_view s, Decision* out) noexcept;

// File operations as named by policies. Bit positions in an OpMask.
enum class FileOp : uint8_t {
  kRead = 0,
  kOpen,
  kStat,
  kList,
  kReadlink,
  kAccess,
  kWrite,
  kCreate,
  kDelete,
  kRmdir,
  kMkdir,
  kRename,
  kLink,
  kSymlink,
  kChmod,
  kChown,
  kMknod,
  kExec,
  kCount
};
using OpMask = uint32_t;
inline constexpr OpMask kAllOps = (1u << static_cast<int>(FileOp::kCount)) - 1;
constexpr OpMask op_bit(FileOp op) {
  return 1u << static_cast<int>(op);
}

inline constexpr std::string_view kFileOpNames[] = {
    "read",  "open",  "stat",   "list", "readlink", "access", "write", "create", "delete",
    "rmdir", "mkdir", "rename", "link", "symlink",  "chmod",  "chown", "mknod",  "exec"};
static_assert(sizeof(kFileOpNames) / sizeof(kFileOpNames[0]) ==
              static_cast<size_t>(FileOp::kCount));

constexpr std::string_view file_op_name(FileOp op) {
  return kFileOpNames[static_cast<int>(op)];
}
// Accepts the names above and "*" (all). `debug policy-test` also accepts "file_read" etc.
bool parse_file_op(std::string_view s, OpMask* out) noexcept;

// How `approve` behaves when it is the decision.
enum class ApprovalMode : uint8_t {
  kNone = 0,    // nobody can approve: approve = deny ("approval required"). The default.
  kShadow = 1,  // explicit `approvals.mode: shadow`: approve = allow + audit
  kApi = 2,     // ask through the server's approvals API (blocking, with timeout)
  kTty = 3,     // ask the person at the agentsh terminal
};

}  // namespace agentsh::policy
