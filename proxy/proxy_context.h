// ProxyContext: what every connection of one Proxy shares — the loop, the decider, the
// resolver, the name map, the redirects, the audit sink, limits and timeouts — and the
// registry of live connections. Owned by Proxy; loop thread only unless noted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "agentsh/audit_event.h"
#include "proxy/event_loop.h"
#include "proxy/ip_address.h"
#include "proxy/net_decider.h"

namespace agentsh::proxy {

class Connection;
struct LlmInterceptContext;
class NameMap;
class RedirectTable;
class UpstreamResolver;

struct ProxyTimeouts {
  using ms = std::chrono::milliseconds;
  ms head{30000};           // from accept to a complete request head / transparent header
  ms connect{10000};        // one upstream TCP connect attempt
  ms client_hello{10000};   // once the first bytes of a ClientHello/HTTP head arrived
  ms deferred{10000};       // transparent/CONNECT to a bare address: wait for SNI/Host
  ms idle{15 * 60 * 1000};  // tunnel with no byte either way
  ms half_closed{60000};    // one direction finished, the other silent
  ms keep_alive{60000};     // HTTP connection waiting for its next request
  ms approval{5 * 60 * 1000};
  ms linger{2000};  // after an error answer: drain the client, then close
};

struct ProxyLimits {
  size_t max_connections = 16384;
  size_t max_head = 64 * 1024;  // request / response head, and client bytes held back
  size_t buffer = 64 * 1024;    // per direction, userspace buffers (plain HTTP)
  size_t pipe = 256 * 1024;     // per direction, kernel pipe for spliced tunnels (0 = copy)
  // SO_SNDBUF of sockets accepted on a loopback listener (the agent's side), 0 = kernel
  // autotuning (which grows it to MBs). On loopback the agent's ACKs follow its reads, so
  // this bounds the bytes written to the agent and not yet read: small enough that they
  // are still in cache when it reads them (bench: the agent's reads cost ~60 % less CPU,
  // a whole 1 GiB download ~20 % less), far more than a loopback round trip needs.
  // Remote listeners keep autotuning.
  size_t client_sndbuf = 128 * 1024;
  size_t peek = 24 * 1024;          // ClientHello / first HTTP head held for a decision
  size_t linger_discard = 4 << 20;  // bytes read and dropped while lingering
};

struct ProxyStats {
  std::atomic<uint64_t> accepted{0}, active{0}, refused_overload{0};
  std::atomic<uint64_t> allowed{0}, denied{0}, errors{0};
  std::atomic<uint64_t> dns_queries{0}, dns_denied{0};
};

// A way to reach the loop from other threads that stays safe after the proxy is gone:
// posts become no-ops once the proxy detaches it (approval answers can arrive late).
class LoopHandle {
 public:
  explicit LoopHandle(EventLoop* loop) : loop_(loop) {}
  void post(EventLoop::Task fn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (loop_) loop_->post(std::move(fn));
  }
  void detach() {
    std::lock_guard<std::mutex> lock(mu_);
    loop_ = nullptr;
  }

 private:
  std::mutex mu_;
  EventLoop* loop_;
};

struct ProxyContext {
  EventLoop* loop = nullptr;
  std::shared_ptr<LoopHandle> loop_handle;
  NetDecider* decider = nullptr;
  UpstreamResolver* resolver = nullptr;
  NameMap* names = nullptr;
  const RedirectTable* redirects = nullptr;
  std::function<void(const AuditEvent&)> audit;  // thread-safe sink; may be empty
  std::string session_id;
  ProxyTimeouts timeouts;
  ProxyLimits limits;
  IpAddress listen_ip;
  uint16_t http_port = 0, dns_port = 0;
  LlmInterceptContext* llm = nullptr;  // null: nothing is decrypted
  ProxyStats stats;
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections;

  ProxyContext();
  ~ProxyContext();
  Connection* find(uint64_t id);
  // Forgets a connection; it is destroyed after the current loop iteration.
  void release(uint64_t id);
  // One audit record from the proxy.
  void emit(std::string_view type, std::string_view operation, std::string_view target,
            std::string_view decision, std::string_view effective, std::string_view rule,
            std::string_view message, int64_t pid) const;
  // True if ip:port is one of our own listeners (connecting there would loop).
  bool is_self(const IpAddress& ip, uint16_t port) const;
};

}  // namespace agentsh::proxy
