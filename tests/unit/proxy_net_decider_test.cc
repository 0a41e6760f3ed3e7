#include "proxy/net_decider.h"

#include <gtest/gtest.h>

namespace agentsh::proxy {
namespace {

NetDecision d(NetEffect e, bool matched, const char* rule) {
  NetDecision x;
  x.effect = e;
  x.matched = matched;
  x.rule = rule;
  x.decision = e == NetEffect::kAllow ? "allow" : e == NetEffect::kDeny ? "deny" : "approve";
  return x;
}

TEST(ProxyNetDecider, CombineNameAndAddress) {
  using net_decider::combine;
  auto allow_name = d(NetEffect::kAllow, true, "allow-npm");
  auto deny_name = d(NetEffect::kDeny, true, "block-evil");
  auto default_deny = d(NetEffect::kDeny, false, "default-deny");
  auto deny_cidr = d(NetEffect::kDeny, true, "block-private");
  auto allow_cidr = d(NetEffect::kAllow, true, "allow-localhost");
  auto ask_name = d(NetEffect::kAsk, true, "approve-unknown");
  // An allowed name resolving to a denied address is denied like the address.
  EXPECT_EQ(combine(true, allow_name, deny_cidr).rule, "block-private");
  // An allowed name at an address no rule mentions stays allowed.
  EXPECT_EQ(combine(true, allow_name, default_deny).rule, "allow-npm");
  // A denied name stays denied even at an allowed address.
  EXPECT_EQ(combine(true, deny_name, allow_cidr).rule, "block-evil");
  // A name nobody mentions at an explicitly allowed address (localhost → 127.0.0.1).
  EXPECT_EQ(combine(true, default_deny, allow_cidr).rule, "allow-localhost");
  EXPECT_EQ(combine(true, default_deny, default_deny).effect, NetEffect::kDeny);
  EXPECT_EQ(combine(true, ask_name, default_deny).effect, NetEffect::kAsk);
  EXPECT_EQ(combine(true, ask_name, deny_cidr).effect, NetEffect::kDeny);
  // No name: the address decides, default included.
  EXPECT_EQ(combine(false, allow_name, default_deny).rule, "default-deny");
  EXPECT_EQ(combine(false, default_deny, allow_cidr).rule, "allow-localhost");
}

}  // namespace
}  // namespace agentsh::proxy
