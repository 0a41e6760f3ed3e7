#include "proxy/net_decider.h"

namespace agentsh::proxy::net_decider {

NetDecision combine(bool has_name, const NetDecision& by_name, const NetDecision& by_addr) {
  if (!has_name) return by_addr;
  if (by_addr.matched && by_addr.effect == NetEffect::kDeny) return by_addr;
  if (permits(by_name)) return by_name;
  if (!by_name.matched && by_addr.matched && permits(by_addr)) return by_addr;
  return by_name;
}

}  // namespace agentsh::proxy::net_decider
