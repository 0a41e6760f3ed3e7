// File decisions (see file_policy.h). House rules: no exceptions, no malloc, no locks, no
// stdio, raw syscalls, errno untouched.
#include "preload/file_policy.h"

#include <cerrno>
#include <cstring>

#include "preload/allow_cache.h"
#include "preload/broker_client.h"
#include "preload/hook_state.h"
#include "preload/line_buf.h"

namespace agentsh::hook::file_policy {

namespace {

using policy::Decision;
using policy::FileOp;

constexpr policy::OpMask kReadOnlyOps =
    policy::op_bit(FileOp::kRead) | policy::op_bit(FileOp::kOpen) | policy::op_bit(FileOp::kStat) |
    policy::op_bit(FileOp::kList) | policy::op_bit(FileOp::kReadlink) |
    policy::op_bit(FileOp::kAccess) | policy::op_bit(FileOp::kExec);

// The hook's own library and snapshot stay readable whatever the policy says: a child
// that cannot map them cannot be governed at all.
bool own_file(const char* path, size_t len) noexcept {
  const HookState& s = HookState::get();
  return (len == s.hook_library_len() && len != 0 && memcmp(path, s.hook_library(), len) == 0) ||
         (len == s.snapshot_path_len() && len != 0 && memcmp(path, s.snapshot_path(), len) == 0);
}

const char* op_name(FileOp op) noexcept {
  return policy::kFileOpNames[static_cast<int>(op)].data();  // names are literals: NUL-ended
}

// Expands {{.Path}} and {{.Operation}} in a rule's message template.
void expand(const char* tmpl, const char* path, FileOp op, LineBuf* out) noexcept {
  const char* p = tmpl;
  while (*p != '\0') {
    if (strncmp(p, "{{.Path}}", 9) == 0) {
      out->add(path);
      p += 9;
    } else if (strncmp(p, "{{.Operation}}", 14) == 0) {
      out->add(op_name(op));
      p += 14;
    } else {
      out->add_char(*p++);
    }
  }
}

struct Pick {
  snapshot::FileVerdict v;
  FileOp op;
};

Pick strictest(const char* path, size_t len, Ops ops) noexcept {
  const snapshot::View& view = HookState::get().view();
  Pick p{view.check_file(path, len, ops.a), ops.a};
  if (ops.b != FileOp::kCount) {
    snapshot::FileVerdict v2 = view.check_file(path, len, ops.b);
    if (static_cast<int>(v2.decision) > static_cast<int>(p.v.decision)) p = Pick{v2, ops.b};
  }
  return p;
}

}  // namespace

bool peek_allows(const char* path, size_t len, Ops ops) noexcept {
  if (!HookState::get().active()) return false;
  // Asked once per (path, op) and process: the snapshot never changes (allow_cache.h).
  const uint32_t need =
      policy::op_bit(ops.a) | (ops.b == FileOp::kCount ? 0 : policy::op_bit(ops.b));
  AllowCache& cache = AllowCache::get();
  if (cache.allows(path, len, need)) return true;
  const snapshot::View& view = HookState::get().view();
  if (view.check_file(path, len, ops.a).decision != Decision::kAllow) return false;
  if (ops.b != FileOp::kCount && view.check_file(path, len, ops.b).decision != Decision::kAllow) {
    cache.remember(path, len, policy::op_bit(ops.a));
    return false;
  }
  cache.remember(path, len, need);
  return true;
}

void audit(FileOp op, const char* target, const char* rule, const char* decision,
           const char* message, int err) noexcept {
  broker_client::audit(op_name(op), target, rule, decision, message, err);
}

Outcome decide(const char* path, size_t len, Ops ops) noexcept {
  HookState& s = HookState::get();
  Outcome o;
  if (s.mode() == HookState::Mode::kFailClosed) {
    s.warn_fail_closed_once();
    o.act = Outcome::Act::kDeny;
    o.err = EACCES;
    o.rule = "agentsh-fail-closed";
    return o;
  }
  Pick p = strictest(path, len, ops);
  o.op = p.op;
  o.rule = p.v.rule;
  o.message = p.v.message;
  Decision d = p.v.decision;
  if (d != Decision::kAllow && own_file(path, len) && (policy::op_bit(ops.a) & kReadOnlyOps) &&
      (ops.b == FileOp::kCount || (policy::op_bit(ops.b) & kReadOnlyOps))) {
    return o;  // proceed
  }
  const bool enforce = s.enforce();
  LineBuf msg;
  expand(p.v.message, path, p.op, &msg);
  switch (d) {
    case Decision::kAllow:
      return o;
    case Decision::kAudit:
      audit(p.op, path, o.rule, "audit", msg.data(), 0);
      return o;
    case Decision::kRedirect:
      audit(p.op, path, o.rule, "redirect", msg.data(), 0);
      if (enforce && p.v.redirect_to != nullptr && p.v.redirect_to[0] != '\0') {
        o.act = Outcome::Act::kRedirect;
        o.redirect_to = p.v.redirect_to;
      }
      return o;
    case Decision::kSoftDelete:
      if (enforce && (p.op == FileOp::kDelete || p.op == FileOp::kRmdir)) {
        o.act = Outcome::Act::kSoftDelete;  // the caller moves it and audits the result
      } else {
        audit(p.op, path, o.rule, "soft_delete", msg.data(), 0);
      }
      return o;
    case Decision::kApprove: {
      policy::ApprovalMode m = s.approval_mode();
      if (!enforce || m == policy::ApprovalMode::kShadow) {
        audit(p.op, path, o.rule, "approve", msg.data(), 0);
        return o;
      }
      if (m == policy::ApprovalMode::kApi || m == policy::ApprovalMode::kTty) {
        if (broker_client::approve("file", op_name(p.op), path, o.rule, msg.data())) return o;
        o.act = Outcome::Act::kDeny;
        o.err = EACCES;
        return o;  // the broker audits the approval and its answer
      }
      o.act = Outcome::Act::kDeny;
      o.err = EACCES;
      o.message = "approval required";
      audit(p.op, path, o.rule, "deny", "approval required", EACCES);
      return o;
    }
    case Decision::kDeny:
      break;
  }
  if (!enforce) {
    audit(p.op, path, o.rule, "deny", msg.data(), 0);  // observe mode: recorded, not enforced
    return o;
  }
  audit(p.op, path, o.rule, "deny", msg.data(), EACCES);
  o.act = Outcome::Act::kDeny;
  o.err = EACCES;
  return o;
}

}  // namespace agentsh::hook::file_policy
