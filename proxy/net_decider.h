// NetDecider: the one question the proxy asks the policy — may the agent reach this
// (domain, address, port)? — and how the proxy combines the answers it gets for the
// name the agent asked for and the address it actually connects to.
//
// The proxy never talks to policy::Engine directly: it codes against this interface so
// that it can be tested with a fake; proxy/policy_net_decider.h adapts the real engine.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace agentsh::proxy {

// What happens to the connection / lookup.
enum class NetEffect : uint8_t {
  kAllow,
  kDeny,
  kAsk,  // the policy says "approve": someone must say yes (NetDecider::ask)
};

struct NetDecision {
  NetEffect effect = NetEffect::kDeny;
  std::string decision = "deny";  // the policy's own word: allow/deny/approve/audit/...
  std::string rule;               // matching rule, or the policy's default-rule name
  std::string message;            // rule message, if any
  // True when a rule about this very destination matched: for an address, a rule with
  // CIDRs; for a name, a rule with domain patterns other than a bare "*". False for the
  // policy's default and for catch-alls (ports-only rules, `domains: ["*"]`). The address
  // check only overrides the name check with a rule that really is about the address.
  bool matched = false;
};

// A pending approval, for NetDecider::ask.
struct NetQuestion {
  std::string domain;  // may be empty
  std::string ip;      // may be empty
  uint16_t port = 0;
  int64_t pid = 0;  // the agent process, if known (transparent mode)
  NetDecision decision;
};

class NetDecider {
 public:
  virtual ~NetDecider() = default;

  // `domain` may be empty (decide by address only), `ip` may be empty (decide by name
  // only). Port 0 means "any port" (used for DNS lookups). Called on the proxy's event
  // loop thread; it must be fast (no I/O, no waiting) — a slow decider stalls every
  // connection. If one decider is shared by several proxies it must be thread-safe.
  virtual NetDecision decide(std::string_view domain, std::string_view ip, uint16_t port) = 0;

  // Asks someone to approve `q` (decision effect kAsk). Must not block: call `done`
  // exactly once, from any thread, with the answer. The default implementation says no
  // at once — nobody can approve, so "approve" fails closed.
  virtual void ask(const NetQuestion& q, std::function<void(bool approved)> done) {
    (void)q;
    done(false);
  }

  // Could a name the agent shows later (TLS SNI, HTTP Host) permit a connection to
  // `port`, i.e. is there any rule with domain patterns that allows (or asks about) this
  // port? The proxy asks it for a bare address that only the policy's default denies:
  // false → refused at once (EACCES at connect); true → "connected" and decided by the
  // SNI/Host that follows. Must be conservative: false only when no name can ever help.
  // Same threading contract as decide(). Default: true (the decider cannot tell).
  virtual bool name_may_permit(uint16_t port) {
    (void)port;
    return true;
  }
};

namespace net_decider {

// Combines the decision for the name the agent asked for with the decision for the
// address the proxy is about to connect to (both made with the same port):
//   * no name (an IP literal): the address decision, default included;
//   * a CIDR rule that matched and denies wins over any name rule — a name that
//     resolves to 10.0.0.1 or 169.254.169.254 is denied like the address itself;
//   * otherwise a name that is allowed (or needs approval) stays so;
//   * a name no specific rule mentions may still be allowed by a CIDR rule that matched
//     (e.g. `localhost` → 127.0.0.1 under an allow-localhost CIDR rule);
//   * otherwise the name decision (a deny).
NetDecision combine(bool has_name, const NetDecision& by_name, const NetDecision& by_addr);

// True if the effect lets the operation go ahead (possibly after approval).
inline bool permits(const NetDecision& d) {
  return d.effect != NetEffect::kDeny;
}

}  // namespace net_decider
}  // namespace agentsh::proxy
