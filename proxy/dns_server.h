// DnsServer: the DNS proxy the agent's resolver is pointed at (UDP and TCP, one port).
//
// Every query is decided by its name (NetDecider with port 0 = any port: a lookup does
// not say which port will follow; the connect is decided again with its port):
//   denied          → NXDOMAIN, never forwarded (no leak of the name upstream);
//   dns_redirects   → answered locally with resolve_to (A or AAAA as fits the query);
//   allowed / ask   → forwarded to the resolv.conf upstream (fresh id, answer checked
//                     against the question), answer returned verbatim.
// A and AAAA answers (and redirects) are recorded in the NameMap, so that a later
// connect to the address is decided by the name. Each query → one audit record
// (type dns, operation resolve). Malformed queries get FORMERR/NOTIMP, or nothing when
// not even a header is there.
//
// Loop thread only. Bounded: TCP clients (max kMaxTcpClients, each with a 64 KiB input
// cap and an idle timeout); upstream queries in flight (UpstreamResolver).
#pragma once

#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "common/scoped_fd.h"
#include "proxy/byte_queue.h"
#include "proxy/event_loop.h"
#include "proxy/ip_address.h"
#include "proxy/proxy_context.h"

namespace agentsh::proxy {

class DnsServer {
 public:
  static constexpr size_t kMaxTcpClients = 256;

  explicit DnsServer(ProxyContext* ctx);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds UDP and TCP on ip:*port (0 = pick one free for both). Loop thread or before
  // the loop runs.
  bool start(const IpAddress& ip, uint16_t* port, std::string* error);
  void check_timeouts(EventLoop::Clock::time_point now);

 private:
  class UdpHandler;
  class TcpListener;
  class TcpClient;
  using Reply = std::function<void(const std::string&)>;

  void on_udp();
  void on_accept();
  void handle_query(const std::string& pkt, Reply reply, const std::string& peer);
  void close_tcp(uint64_t id);

  ProxyContext* ctx_;
  ScopedFd udp_, tcp_;
  std::unique_ptr<UdpHandler> udp_handler_;
  std::unique_ptr<TcpListener> tcp_handler_;
  std::unordered_map<uint64_t, std::unique_ptr<TcpClient>> tcp_clients_;
  uint64_t next_tcp_id_ = 1;
};

}  // namespace agentsh::proxy
