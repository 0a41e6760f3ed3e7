// Network decisions (see net_guard.h). House rules: no exceptions, no malloc, no locks,
// no stdio, raw syscalls, errno untouched.
#include "preload/net_guard.h"

#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include "policy/cidr.h"
#include "preload/broker_client.h"
#include "preload/hook_state.h"
#include "preload/line_buf.h"
#include "preload/name_table.h"

namespace agentsh::hook::net_guard {

namespace {

using policy::Decision;

void describe(const char* domain, size_t dlen, const cidr::IpAddr& ip, uint16_t port,
              LineBuf* out) noexcept {
  char ipbuf[64];
  size_t n = cidr::format(ip, ipbuf, sizeof ipbuf);
  if (dlen != 0) {
    out->add(domain, dlen).add_char(':').add_int(port).add(" (").add(ipbuf, n).add_char(')');
  } else if (!ip.is_v4()) {
    out->add_char('[').add(ipbuf, n).add("]:").add_int(port);
  } else {
    out->add(ipbuf, n).add_char(':').add_int(port);
  }
}

}  // namespace

NetOutcome decide_connect(const struct sockaddr* sa, socklen_t len) noexcept {
  NetOutcome o;
  HookState& s = HookState::get();
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return o;
  if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) return o;
  cidr::IpAddr ip;
  uint16_t port = 0;
  if (!cidr::from_sockaddr(sa, len, &ip, &port)) return o;  // the kernel will say EINVAL
  if (s.mode() == HookState::Mode::kFailClosed) {
    s.warn_fail_closed_once();
    o.allow = false;
    o.err = EACCES;
    return o;
  }
  char domain[NameTable::kNameMax];
  size_t dlen = NameTable::get().lookup(ip, domain, sizeof domain);
  snapshot::NetVerdict v = s.view().check_net(dlen != 0 ? domain : nullptr, dlen, &ip, port);
  if (v.decision == Decision::kAllow) return o;

  LineBuf target;
  describe(domain, dlen, ip, port, &target);
  const bool enforce = s.enforce();
  switch (v.decision) {
    case Decision::kAllow:
      return o;
    case Decision::kAudit:
    case Decision::kRedirect:    // connection redirects: the proxy's job (later issue)
    case Decision::kSoftDelete:  // meaningless for a connection: allow, but say so
      broker_client::audit("connect", target.data(), v.rule,
                           policy::decision_name(v.decision).data(), v.message, 0);
      return o;
    case Decision::kApprove: {
      policy::ApprovalMode m = s.approval_mode();
      if (!enforce || m == policy::ApprovalMode::kShadow) {
        broker_client::audit("connect", target.data(), v.rule, "approve", v.message, 0);
        return o;
      }
      if ((m == policy::ApprovalMode::kApi || m == policy::ApprovalMode::kTty) &&
          broker_client::approve("network", "connect", target.data(), v.rule, v.message)) {
        return o;
      }
      if (m == policy::ApprovalMode::kNone) {
        broker_client::audit("connect", target.data(), v.rule, "deny", "approval required", EACCES);
      }
      o.allow = false;
      o.err = EACCES;
      return o;
    }
    case Decision::kDeny:
      break;
  }
  broker_client::audit("connect", target.data(), v.rule, "deny", v.message, enforce ? EACCES : 0);
  if (enforce) {
    o.allow = false;
    o.err = EACCES;
  }
  return o;
}

}  // namespace agentsh::hook::net_guard
