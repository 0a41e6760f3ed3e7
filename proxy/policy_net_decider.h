// PolicyNetDecider: the proxy's NetDecider over the compiled policy (policy::Engine).
//
// Engine::check_network is pure and const, so one adapter may be shared by threads.
// NetDecision::matched is derived from the shape of the rule that decided (looked up by
// name in the policy at construction): for an address question, the rule has CIDRs; for
// a name question, it has a domain pattern other than "*". The engine's fallback
// ("default-deny-network" when no rule matched) and catch-alls such as the reference's
// `approve-unknown-https` (ports only) or `default-deny-network` (domains: ["*"]) are
// not "about" the destination — that is what lets the proxy tell "a CIDR rule denies
// this address" from "nothing in particular is said about this address".
//
// Approvals: the engine says kAsk only when someone can approve (approvals api/tty);
// how to ask is the integrator's business, so it is a callback here. Without one, an
// "approve" decision fails closed.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "policy/engine.h"
#include "proxy/net_decider.h"

namespace agentsh::proxy {

class PolicyNetDecider : public NetDecider {
 public:
  using Approver = std::function<void(const NetQuestion&, std::function<void(bool)>)>;

  // `engine` must outlive the decider. `approver` may be empty.
  explicit PolicyNetDecider(const policy::Engine& engine, Approver approver = {});

  NetDecision decide(std::string_view domain, std::string_view ip, uint16_t port) override;
  void ask(const NetQuestion& q, std::function<void(bool approved)> done) override;
  // True when some rule with domain patterns and a decision other than deny covers
  // `port` (no ports = every port). Computed from the policy at construction.
  bool name_may_permit(uint16_t port) override;

  // The engine's name for "no rule matched".
  static constexpr const char* kDefaultRule = "default-deny-network";

 private:
  struct Shape {
    bool cidrs = false;
    bool specific_domains = false;
  };
  const policy::Engine& engine_;
  Approver approver_;
  std::unordered_map<std::string, Shape> shapes_;  // rule name → what it is about
  // Ports some domain rule may permit: inclusive ranges, or every port.
  std::vector<std::pair<uint16_t, uint16_t>> name_ports_;
  bool name_any_port_ = false;
};

}  // namespace agentsh::proxy
