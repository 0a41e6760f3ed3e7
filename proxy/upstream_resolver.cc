#include "proxy/upstream_resolver.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/dns_message.h"
#include "proxy/redirect_table.h"

namespace agentsh::proxy {
namespace {

namespace dm = dns_message;

uint16_t random_id() {
  uint16_t id = 0;
  if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != sizeof(id)) {
    // Entropy pool not ready (early boot): fall back to something that still varies.
    id = static_cast<uint16_t>(EventLoop::Clock::now().time_since_epoch().count() * 2654435761u);
  }
  return id;
}

constexpr uint32_t kMinCacheTtl = 5;
constexpr uint32_t kMaxCacheTtl = 300;
constexpr auto kHostsRecheck = std::chrono::seconds(2);

}  // namespace

// One query on the wire: tries the nameservers in turn until one answers with a
// response that matches our id and question.
class UpstreamResolver::Exchange : public EventLoop::Handler {
 public:
  Exchange(UpstreamResolver* r, uint64_t xid, std::string packet, dm::Question q, ExchangeDone done)
      : r_(r), xid_(xid), packet_(std::move(packet)), q_(std::move(q)), done_(std::move(done)) {
    const size_t n = r_->opt_.conf.nameservers.size();
    max_tries_ = n * static_cast<size_t>(std::max(1, r_->opt_.conf.attempts));
  }

  // Sends to the next nameserver; finishes with an error when none is left.
  void try_next() {
    close_io();
    const auto& servers = r_->opt_.conf.nameservers;
    std::string last_error = "no nameserver configured";
    while (try_ < max_tries_) {
      const auto& ns = servers[try_ % servers.size()];
      ++try_;
      qid_ = random_id();
      dm::set_id(&packet_, qid_);
      ScopedFd fd(socket(ns.ip.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
      if (!fd) {
        last_error = std::string("socket: ") + std::strerror(errno);
        continue;
      }
      sockaddr_storage ss;
      socklen_t len = ns.ip.to_sockaddr(ns.port, &ss);
      if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
          send(fd.get(), packet_.data(), packet_.size(), MSG_NOSIGNAL) < 0) {
        last_error = "nameserver " + ns.ip.to_string() + ": " + std::strerror(errno);
        continue;
      }
      if (!r_->loop_->add(fd.get(), EPOLLIN, this)) {
        last_error = std::string("epoll: ") + std::strerror(errno);
        continue;
      }
      fd_ = std::move(fd);
      timer_ = r_->loop_->run_after(std::chrono::milliseconds(r_->opt_.conf.timeout_ms), [this] {
        timer_ = 0;
        last_error_ = "DNS timeout";
        try_next();
      });
      return;
    }
    finish(false, {}, last_error_.empty() ? last_error : last_error_);
  }

  void on_io(uint32_t) override {
    char buf[dm::kMaxUdp];
    while (fd_) {
      ssize_t n = recv(fd_.get(), buf, sizeof(buf), 0);
      if (n < 0) {
        if (errno == EAGAIN || errno == EINTR) return;
        last_error_ = std::string("nameserver: ") + std::strerror(errno);  // e.g. refused
        try_next();
        return;
      }
      std::string_view pkt(buf, static_cast<size_t>(n));
      dm::Response resp;
      std::string err;
      if (!dm::parse_response(pkt, &resp, &err) || resp.id != qid_ ||
          resp.question.name != q_.name || resp.question.qtype != q_.qtype ||
          resp.question.qclass != q_.qclass) {
        continue;  // not ours (or garbage): keep waiting for the real answer
      }
      finish(true, std::string(pkt), {});
      return;
    }
  }

  // Stops all I/O without calling back (cancel).
  void close_io() {
    if (timer_) {
      r_->loop_->cancel(timer_);
      timer_ = 0;
    }
    if (fd_) {
      r_->loop_->remove(fd_.get());
      fd_.reset();
    }
  }

 private:
  void finish(bool ok, const std::string& response, const std::string& error) {
    close_io();
    ExchangeDone done = std::move(done_);
    r_->finish_exchange(xid_);  // destroys us after this iteration, not now
    if (done) done(ok, response, error);
  }

  UpstreamResolver* r_;
  uint64_t xid_;
  std::string packet_;
  dm::Question q_;
  ExchangeDone done_;
  ScopedFd fd_;
  uint16_t qid_ = 0;
  size_t try_ = 0, max_tries_ = 0;
  EventLoop::TimerId timer_ = 0;
  std::string last_error_;
};

struct UpstreamResolver::Lookup {
  std::string name;
  std::vector<uint64_t> requests;
  int pending = 0;
  std::vector<IpAddress> v4, v6;
  uint32_t ttl = UINT32_MAX;
  uint8_t worst_rcode = 0;
  bool nxdomain = false;
  std::string error;
  uint64_t x4 = 0, x6 = 0;
};

UpstreamResolver::UpstreamResolver(EventLoop* loop, Options options)
    : loop_(loop), opt_(std::move(options)) {}

UpstreamResolver::~UpstreamResolver() {
  for (auto& [id, x] : exchanges_) x->close_io();
}

bool UpstreamResolver::start_exchange(uint64_t owner, std::string packet, ExchangeDone done,
                                      uint64_t* xid) {
  (void)owner;
  if (exchanges_.size() >= opt_.max_inflight) return false;
  dm::Query q;
  std::string err;
  if (dm::parse_query(packet, &q, &err) != dm::ParseResult::kOk) return false;
  const uint64_t id = next_id_++;
  auto x = std::make_unique<Exchange>(this, id, std::move(packet), q.question, std::move(done));
  exchanges_.emplace(id, std::move(x));
  *xid = id;
  // Sent from the loop, not from here: a failure must not call back into our caller.
  loop_->defer([this, id] {
    auto it = exchanges_.find(id);
    if (it != exchanges_.end()) it->second->try_next();
  });
  return true;
}

void UpstreamResolver::finish_exchange(uint64_t xid) {
  auto it = exchanges_.find(xid);
  if (it == exchanges_.end()) return;
  // The exchange may be running (it called us): destroy it after this iteration.
  std::shared_ptr<Exchange> doomed(std::move(it->second));
  exchanges_.erase(it);
  loop_->defer([doomed] {});
}

void UpstreamResolver::deliver_later(uint64_t request_id, Result r) {
  loop_->defer([this, request_id, r = std::move(r)] {
    auto it = waiters_.find(request_id);
    if (it == waiters_.end()) return;  // cancelled
    ResolveCallback cb = std::move(it->second.resolve_cb);
    waiters_.erase(it);
    cb(r);
  });
}

void UpstreamResolver::reload_hosts_if_changed() {
  const auto now = loop_->now();
  if (hosts_checked_ != EventLoop::Clock::time_point() && now - hosts_checked_ < kHostsRecheck)
    return;
  hosts_checked_ = now;
  struct stat st {};
  if (stat(opt_.hosts_path.c_str(), &st) != 0) {
    hosts_.clear();
    hosts_stat_ = {};
    return;
  }
  if (st.st_mtim.tv_sec == hosts_stat_.st_mtim.tv_sec &&
      st.st_mtim.tv_nsec == hosts_stat_.st_mtim.tv_nsec && st.st_ino == hosts_stat_.st_ino &&
      st.st_size == hosts_stat_.st_size)
    return;
  std::string err;
  dns_config::HostsTable t;
  if (dns_config::load_hosts(opt_.hosts_path, &t, &err)) hosts_ = std::move(t);
  hosts_stat_ = st;
}

bool UpstreamResolver::cache_get(const std::string& name, std::vector<IpAddress>* addrs) {
  auto it = cache_.find(name);
  if (it == cache_.end()) return false;
  if (it->second.expires <= loop_->now()) {
    cache_lru_.erase(it->second.lru);
    cache_.erase(it);
    return false;
  }
  *addrs = it->second.addrs;
  return true;
}

void UpstreamResolver::cache_put(const std::string& name, const std::vector<IpAddress>& addrs,
                                 uint32_t ttl) {
  if (opt_.cache_capacity == 0) return;
  ttl = std::clamp(ttl, kMinCacheTtl, kMaxCacheTtl);
  auto it = cache_.find(name);
  if (it != cache_.end()) {
    cache_lru_.erase(it->second.lru);
    cache_.erase(it);
  }
  if (cache_.size() >= opt_.cache_capacity) {
    cache_.erase(cache_lru_.back());
    cache_lru_.pop_back();
  }
  cache_lru_.push_front(name);
  cache_.emplace(name,
                 CacheEntry{addrs, loop_->now() + std::chrono::seconds(ttl), cache_lru_.begin()});
}

uint64_t UpstreamResolver::resolve(const std::string& name, ResolveCallback cb) {
  const uint64_t rid = next_id_++;
  waiters_[rid].resolve_cb = std::move(cb);
  Result r;
  if (opt_.redirects) {
    if (auto hit = opt_.redirects->match_dns(name)) {
      r.ok = true;
      r.addrs = {hit->ip};
      r.source = "redirect:" + hit->rule;
      deliver_later(rid, std::move(r));
      return rid;
    }
  }
  reload_hosts_if_changed();
  if (auto it = hosts_.find(name); it != hosts_.end()) {
    r.ok = true;
    for (const auto& a : it->second)
      if (!a.v6) r.addrs.push_back(a);
    for (const auto& a : it->second)
      if (a.v6) r.addrs.push_back(a);
    r.source = "hosts";
    deliver_later(rid, std::move(r));
    return rid;
  }
  if (cache_get(name, &r.addrs)) {
    r.ok = true;
    r.source = "cache";
    deliver_later(rid, std::move(r));
    return rid;
  }
  if (auto it = lookup_by_name_.find(name); it != lookup_by_name_.end()) {
    lookups_[it->second]->requests.push_back(rid);
    waiters_[rid].lookup = it->second;
    return rid;
  }
  if (opt_.conf.nameservers.empty()) {
    r.error = "no nameserver configured";
    deliver_later(rid, std::move(r));
    return rid;
  }
  const uint64_t lid = next_id_++;
  auto lookup = std::make_unique<Lookup>();
  lookup->name = name;
  lookup->requests.push_back(rid);
  Lookup* l = lookup.get();
  lookups_.emplace(lid, std::move(lookup));
  lookup_by_name_[name] = lid;
  waiters_[rid].lookup = lid;
  for (uint16_t qtype : {dm::kTypeA, dm::kTypeAaaa}) {
    std::string pkt = dm::build_query(0, name, qtype);
    uint64_t xid = 0;
    ++l->pending;
    bool started = !pkt.empty() && start_exchange(
                                       lid, std::move(pkt),
                                       [this, lid, qtype](bool ok, const std::string& resp,
                                                          const std::string& err) {
                                         on_answer(lid, qtype, ok, resp, err);
                                       },
                                       &xid);
    if (!started) {
      --l->pending;
      l->error = pkt.empty() ? "name cannot be queried" : "resolver busy";
    } else if (qtype == dm::kTypeA) {
      l->x4 = xid;
    } else {
      l->x6 = xid;
    }
  }
  if (l->pending == 0) loop_->defer([this, lid] { complete_lookup(lid); });
  return rid;
}

void UpstreamResolver::on_answer(uint64_t lookup_id, uint16_t qtype, bool ok,
                                 const std::string& response, const std::string& error) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end()) return;
  Lookup* l = it->second.get();
  (qtype == dm::kTypeA ? l->x4 : l->x6) = 0;
  --l->pending;
  if (!ok) {
    l->error = error;
  } else {
    dm::Response resp;
    std::string err;
    if (!dm::parse_response(response, &resp, &err)) {
      l->error = err;
    } else if (resp.rcode == dm::kNxDomain) {
      l->nxdomain = true;
    } else if (resp.rcode != dm::kNoError) {
      l->error = "DNS server answered rcode " + std::to_string(resp.rcode);
    } else {
      for (const auto& rec : resp.answers) {
        if (rec.klass != dm::kClassIn) continue;
        if (rec.type == dm::kTypeA && rec.rdata.size() == 4) {
          const auto* b = reinterpret_cast<const uint8_t*>(rec.rdata.data());
          l->v4.push_back(IpAddress::v4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
                                        (uint32_t{b[2]} << 8) | b[3]));
          l->ttl = std::min(l->ttl, rec.ttl);
        } else if (rec.type == dm::kTypeAaaa && rec.rdata.size() == 16) {
          IpAddress a =
              IpAddress::from_v6_bytes(reinterpret_cast<const uint8_t*>(rec.rdata.data()));
          (a.v6 ? l->v6 : l->v4).push_back(a);
          l->ttl = std::min(l->ttl, rec.ttl);
        }
      }
    }
  }
  if (l->pending == 0) complete_lookup(lookup_id);
}

void UpstreamResolver::complete_lookup(uint64_t lookup_id) {
  auto it = lookups_.find(lookup_id);
  if (it == lookups_.end()) return;
  std::unique_ptr<Lookup> l = std::move(it->second);
  lookups_.erase(it);
  lookup_by_name_.erase(l->name);
  Result r;
  r.addrs = l->v4;
  r.addrs.insert(r.addrs.end(), l->v6.begin(), l->v6.end());
  if (!r.addrs.empty()) {
    r.ok = true;
    r.source = "dns";
    cache_put(l->name, r.addrs, l->ttl);
  } else if (l->nxdomain) {
    r.error = "no such host";
  } else if (!l->error.empty()) {
    r.error = l->error;
  } else {
    r.error = "no address for host";
  }
  for (uint64_t rid : l->requests) {
    auto w = waiters_.find(rid);
    if (w == waiters_.end()) continue;
    ResolveCallback cb = std::move(w->second.resolve_cb);
    waiters_.erase(w);
    cb(r);
  }
}

uint64_t UpstreamResolver::forward(std::string query, ForwardCallback cb) {
  const uint64_t rid = next_id_++;
  waiters_[rid].forward_cb = std::move(cb);
  uint64_t xid = 0;
  auto done = [this, rid](bool ok, const std::string& resp, const std::string& err) {
    auto it = waiters_.find(rid);
    if (it == waiters_.end()) return;
    ForwardCallback f = std::move(it->second.forward_cb);
    waiters_.erase(it);
    f(ok, resp, err);
  };
  if (opt_.conf.nameservers.empty()) {
    loop_->defer([done] { done(false, {}, "no nameserver configured"); });
  } else if (!start_exchange(0, std::move(query), done, &xid)) {
    loop_->defer([done] { done(false, {}, "resolver busy"); });
  } else {
    auto it = waiters_.find(rid);
    if (it != waiters_.end()) it->second.exchange = xid;
  }
  return rid;
}

void UpstreamResolver::cancel(uint64_t request_id) {
  auto it = waiters_.find(request_id);
  if (it == waiters_.end()) return;
  if (it->second.lookup) {
    auto l = lookups_.find(it->second.lookup);
    if (l != lookups_.end()) std::erase(l->second->requests, request_id);
    // The lookup itself runs on: its answer still fills the cache.
  }
  if (it->second.exchange) {
    auto x = exchanges_.find(it->second.exchange);
    if (x != exchanges_.end()) {
      x->second->close_io();
      finish_exchange(it->second.exchange);
    }
  }
  waiters_.erase(it);
}

}  // namespace agentsh::proxy
