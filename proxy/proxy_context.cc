#include "proxy/proxy_context.h"

#include <chrono>

#include "proxy/connection.h"

namespace agentsh::proxy {

ProxyContext::ProxyContext() = default;
ProxyContext::~ProxyContext() = default;

Connection* ProxyContext::find(uint64_t id) {
  auto it = connections.find(id);
  return it == connections.end() ? nullptr : it->second.get();
}

void ProxyContext::release(uint64_t id) {
  auto it = connections.find(id);
  if (it == connections.end()) return;
  // The connection is probably on the stack (it called us): destroy it after this
  // loop iteration.
  std::shared_ptr<Connection> doomed(std::move(it->second));
  connections.erase(it);
  loop->defer([doomed] {});
}

void ProxyContext::emit(std::string_view type, std::string_view operation, std::string_view target,
                        std::string_view decision, std::string_view effective,
                        std::string_view rule, std::string_view message, int64_t pid) const {
  if (!audit) return;
  AuditEvent ev;
  ev.ts_us = std::chrono::duration_cast<std::chrono::microseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  ev.session = session_id;
  ev.pid = pid;
  ev.type = type;
  ev.operation = operation;
  ev.target = target;
  ev.decision = decision;
  ev.effective = effective;
  ev.rule = rule;
  ev.message = message;
  ev.source = "proxy";
  audit(ev);
}

bool ProxyContext::is_self(const IpAddress& ip, uint16_t port) const {
  if (port != http_port && port != dns_port) return false;
  // A listener on 0.0.0.0 / :: answers on every local address.
  return ip == listen_ip || listen_ip.is_unspecified();
}

}  // namespace agentsh::proxy
