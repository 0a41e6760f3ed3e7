#include "proxy/policy_net_decider.h"

namespace agentsh::proxy {

PolicyNetDecider::PolicyNetDecider(const policy::Engine& engine, Approver approver)
    : engine_(engine), approver_(std::move(approver)) {
  for (const auto& r : engine_.policy().network_rules) {
    Shape& s = shapes_[r.name];  // first rule of a name wins, as in the engine
    if (s.cidrs || s.specific_domains) continue;
    s.cidrs = !r.cidrs.empty();
    for (const auto& d : r.domains)
      s.specific_domains = s.specific_domains || (d != "*" && d != "**");
  }
  // Every rule with domains that does not deny, whatever its order: a deny rule earlier
  // in the list may shadow it for some names, but not necessarily for all of them.
  for (const auto& r : engine_.policy().network_rules) {
    if (r.domains.empty() || r.decision == policy::Decision::kDeny) continue;
    if (r.ports.empty()) name_any_port_ = true;
    name_ports_.insert(name_ports_.end(), r.ports.begin(), r.ports.end());
  }
}

bool PolicyNetDecider::name_may_permit(uint16_t port) {
  if (name_any_port_) return true;
  for (const auto& [lo, hi] : name_ports_)
    if (port >= lo && port <= hi) return true;
  return false;
}

NetDecision PolicyNetDecider::decide(std::string_view domain, std::string_view ip, uint16_t port) {
  const policy::Verdict v = engine_.check_network(domain, ip, port);
  NetDecision d;
  switch (v.effect) {
    case policy::Effect::kAllow:
      d.effect = NetEffect::kAllow;
      break;
    case policy::Effect::kDeny:
      d.effect = NetEffect::kDeny;
      break;
    case policy::Effect::kAsk:
      d.effect = NetEffect::kAsk;
      break;
  }
  d.decision = std::string(policy::decision_name(v.decision));
  d.rule = v.rule;
  d.message = v.message.empty() ? (v.effect == policy::Effect::kDeny ? v.reason : "") : v.message;
  auto it = shapes_.find(v.rule);
  if (it == shapes_.end()) {
    // Not a policy rule: the engine's own fallback (no rule matched) or a built-in such
    // as the rule that lets the agent reach the proxy itself.
    d.matched = !v.rule.empty() && v.rule != kDefaultRule;
  } else if (!ip.empty() && domain.empty()) {
    d.matched = it->second.cidrs;
  } else if (ip.empty()) {
    d.matched = it->second.specific_domains;
  } else {
    d.matched = it->second.cidrs || it->second.specific_domains;
  }
  return d;
}

void PolicyNetDecider::ask(const NetQuestion& q, std::function<void(bool approved)> done) {
  if (!approver_) {
    done(false);
    return;
  }
  approver_(q, std::move(done));
}

}  // namespace agentsh::proxy
