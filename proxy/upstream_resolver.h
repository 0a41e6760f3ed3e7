// UpstreamResolver: asynchronous name resolution on the proxy's event loop — no thread,
// no blocking call, ever.
//
//   resolve(name)  dns_redirects first, then the hosts file (re-read when it changes),
//                  then a small TTL cache, then A and AAAA queries over UDP to the
//                  nameservers of resolv.conf (per-query socket and random id, retried
//                  over the servers `attempts` times with `timeout` each). Concurrent
//                  lookups of one name share one query.
//   forward(pkt)   sends a client's DNS query upstream (fresh id) and hands back the
//                  matching response, for the DNS proxy.
//
// Callbacks are always called later from the loop, never from inside resolve()/forward().
// cancel() guarantees the callback will not run. Loop thread only. Bounded: at most
// max_inflight queries on the wire; beyond that requests fail at once ("busy").
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "proxy/dns_config.h"
#include "proxy/event_loop.h"
#include "proxy/ip_address.h"

namespace agentsh::proxy {

class RedirectTable;

class UpstreamResolver {
 public:
  struct Options {
    dns_config::ResolvConf conf;
    std::string hosts_path = "/etc/hosts";
    const RedirectTable* redirects = nullptr;  // dns_redirects; may be null
    size_t max_inflight = 1024;
    size_t cache_capacity = 4096;
  };

  struct Result {
    bool ok = false;
    std::string error;             // why not, for humans ("no such host", "DNS timeout", ...)
    std::vector<IpAddress> addrs;  // IPv4 first, then IPv6
    std::string source;            // "hosts", "cache", "dns", or "redirect:<rule>"
  };
  using ResolveCallback = std::function<void(const Result&)>;
  // ok=false: `error` says why. On success `response` is the upstream's packet (its id is
  // the one we sent; the caller restores its own).
  using ForwardCallback =
      std::function<void(bool ok, const std::string& response, const std::string& error)>;

  UpstreamResolver(EventLoop* loop, Options options);
  ~UpstreamResolver();
  UpstreamResolver(const UpstreamResolver&) = delete;
  UpstreamResolver& operator=(const UpstreamResolver&) = delete;

  // `name` must be normalised (ip_literal::normalize_host). Returns a request id.
  uint64_t resolve(const std::string& name, ResolveCallback cb);
  uint64_t forward(std::string query, ForwardCallback cb);
  void cancel(uint64_t request_id);
  size_t inflight() const { return exchanges_.size(); }

 private:
  class Exchange;
  struct Lookup;
  struct CacheEntry {
    std::vector<IpAddress> addrs;
    EventLoop::Clock::time_point expires;
    std::list<std::string>::iterator lru;
  };

  using ExchangeDone =
      std::function<void(bool ok, const std::string& response, const std::string& error)>;
  // Starts one query transaction; false if too many are in flight.
  bool start_exchange(uint64_t owner, std::string packet, ExchangeDone done, uint64_t* xid);
  void finish_exchange(uint64_t xid);
  void on_answer(uint64_t lookup_id, uint16_t qtype, bool ok, const std::string& response,
                 const std::string& error);
  void complete_lookup(uint64_t lookup_id);
  void reload_hosts_if_changed();
  void cache_put(const std::string& name, const std::vector<IpAddress>& addrs, uint32_t ttl);
  bool cache_get(const std::string& name, std::vector<IpAddress>* addrs);
  void deliver_later(uint64_t request_id, Result r);

  EventLoop* loop_;
  Options opt_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::unique_ptr<Exchange>> exchanges_;
  std::unordered_map<uint64_t, std::unique_ptr<Lookup>> lookups_;
  std::unordered_map<std::string, uint64_t> lookup_by_name_;
  // request id → (lookup id, callback) for resolve(); (exchange id, callback) for forward().
  struct Waiter {
    uint64_t lookup = 0;    // resolve() waiting on a lookup
    uint64_t exchange = 0;  // forward() waiting on an exchange
    ResolveCallback resolve_cb;
    ForwardCallback forward_cb;
  };
  std::unordered_map<uint64_t, Waiter> waiters_;
  dns_config::HostsTable hosts_;
  struct stat hosts_stat_ {};
  EventLoop::Clock::time_point hosts_checked_{};
  std::unordered_map<std::string, CacheEntry> cache_;
  std::list<std::string> cache_lru_;
};

}  // namespace agentsh::proxy
