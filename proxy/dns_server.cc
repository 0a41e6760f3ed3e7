#include "proxy/dns_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/dns_message.h"
#include "proxy/ip_literal.h"
#include "proxy/name_map.h"
#include "proxy/redirect_table.h"
#include "proxy/upstream_resolver.h"

namespace agentsh::proxy {
namespace {

namespace dm = dns_message;

constexpr auto kTcpIdle = std::chrono::seconds(10);
constexpr size_t kTcpMaxInFlight = 16;
constexpr size_t kTcpInCap = 2 + 65535;
constexpr uint32_t kRedirectTtl = 60;

std::string qtype_name(uint16_t t) {
  switch (t) {
    case dm::kTypeA:
      return "A";
    case dm::kTypeAaaa:
      return "AAAA";
    case dm::kTypeCname:
      return "CNAME";
    case 15:
      return "MX";
    case 16:
      return "TXT";
    case 12:
      return "PTR";
    case 33:
      return "SRV";
    case 65:
      return "HTTPS";
    case 255:
      return "ANY";
    default:
      return "TYPE" + std::to_string(t);
  }
}

}  // namespace

class DnsServer::UdpHandler : public EventLoop::Handler {
 public:
  explicit UdpHandler(DnsServer* s) : s_(s) {}
  void on_io(uint32_t) override { s_->on_udp(); }

 private:
  DnsServer* s_;
};

class DnsServer::TcpListener : public EventLoop::Handler {
 public:
  explicit TcpListener(DnsServer* s) : s_(s) {}
  void on_io(uint32_t) override { s_->on_accept(); }

 private:
  DnsServer* s_;
};

// One DNS-over-TCP client: length-prefixed queries in, answers out (in any order).
class DnsServer::TcpClient : public EventLoop::Handler {
 public:
  TcpClient(DnsServer* s, uint64_t id, ScopedFd fd, std::string peer)
      : s_(s), id_(id), fd_(std::move(fd)), peer_(std::move(peer)) {}
  ~TcpClient() {
    if (fd_) s_->ctx_->loop->remove(fd_.get());
  }
  bool start() {
    last_ = s_->ctx_->loop->now();
    mask_ = EPOLLIN;
    return s_->ctx_->loop->add(fd_.get(), mask_, this);
  }
  void on_io(uint32_t events) override {
    if (closed_) return;
    if (events & (EPOLLERR | EPOLLHUP)) hup_ = true;
    last_ = s_->ctx_->loop->now();
    char buf[8192];
    while (!eof_ && in_.size() < kTcpInCap) {
      ssize_t n = recv(fd_.get(), buf, std::min(sizeof(buf), kTcpInCap - in_.size()), 0);
      if (n > 0) {
        in_.append(std::string_view(buf, static_cast<size_t>(n)));
        continue;
      }
      if (n == 0)
        eof_ = true;
      else if (errno != EAGAIN && errno != EINTR)
        return close();
      break;
    }
    process();
    flush();
  }
  void reply(const std::string& pkt) {
    if (closed_) return;
    --in_flight_;
    const uint16_t len = static_cast<uint16_t>(std::min<size_t>(pkt.size(), 65535));
    std::string frame;
    frame.push_back(static_cast<char>(len >> 8));
    frame.push_back(static_cast<char>(len & 0xff));
    frame.append(pkt, 0, len);
    out_.append(frame);
    process();
    flush();
  }
  bool idle_since(EventLoop::Clock::time_point t) const {
    return in_flight_ == 0 && out_.empty() && last_ < t;
  }
  void close() {
    if (closed_) return;
    closed_ = true;
    s_->close_tcp(id_);
  }

 private:
  void process() {
    while (!closed_ && in_flight_ < kTcpMaxInFlight && in_.size() >= 2) {
      std::string_view v = in_.view();
      const size_t len = (static_cast<uint8_t>(v[0]) << 8) | static_cast<uint8_t>(v[1]);
      if (len == 0) return close();
      if (v.size() < 2 + len) break;
      std::string pkt(v.substr(2, len));
      in_.consume(2 + len);
      ++in_flight_;
      DnsServer* s = s_;
      const uint64_t id = id_;
      s_->handle_query(
          pkt,
          [s, id](const std::string& answer) {
            auto it = s->tcp_clients_.find(id);
            if (it != s->tcp_clients_.end()) it->second->reply(answer);
          },
          peer_);
    }
  }
  void flush() {
    if (closed_) return;
    while (!out_.empty()) {
      std::string_view v = out_.view();
      ssize_t n = send(fd_.get(), v.data(), v.size(), MSG_NOSIGNAL);
      if (n > 0) {
        out_.consume(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      return close();
    }
    if ((eof_ || hup_) && in_flight_ == 0 && out_.empty()) return close();
    uint32_t mask = 0;
    if (!eof_ && !hup_ && in_.size() < kTcpInCap) mask |= EPOLLIN;
    if (!out_.empty()) mask |= EPOLLOUT;
    if (hup_) {
      s_->ctx_->loop->remove(fd_.get());  // level-triggered HUP would spin
    } else if (mask != mask_ && s_->ctx_->loop->modify(fd_.get(), mask, this)) {
      mask_ = mask;
    }
  }

  DnsServer* s_;
  const uint64_t id_;
  ScopedFd fd_;
  std::string peer_;
  ByteQueue in_, out_;
  uint32_t mask_ = 0;
  size_t in_flight_ = 0;
  bool eof_ = false, hup_ = false, closed_ = false;
  EventLoop::Clock::time_point last_{};
};

DnsServer::DnsServer(ProxyContext* ctx) : ctx_(ctx) {}

DnsServer::~DnsServer() {
  if (udp_) ctx_->loop->remove(udp_.get());
  if (tcp_) ctx_->loop->remove(tcp_.get());
}

bool DnsServer::start(const IpAddress& ip, uint16_t* port, std::string* error) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    ScopedFd udp(socket(ip.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    ScopedFd tcp(socket(ip.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!udp || !tcp) {
      *error = std::string("DNS proxy socket: ") + std::strerror(errno);
      return false;
    }
    int one = 1;
    setsockopt(tcp.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_storage ss;
    socklen_t len = ip.to_sockaddr(*port, &ss);
    if (bind(udp.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      *error = "DNS proxy: cannot bind UDP " + ip.to_string() + ":" + std::to_string(*port) + ": " +
               std::strerror(errno);
      return false;
    }
    sockaddr_storage bound;
    socklen_t blen = sizeof(bound);
    getsockname(udp.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
    IpAddress dummy;
    uint16_t chosen = 0;
    IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), blen, &dummy, &chosen);
    len = ip.to_sockaddr(chosen, &ss);
    if (bind(tcp.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
        listen(tcp.get(), 128) != 0) {
      if (*port == 0 && errno == EADDRINUSE) continue;  // that TCP port is taken: pick again
      *error = "DNS proxy: cannot bind TCP " + ip.to_string() + ":" + std::to_string(chosen) +
               ": " + std::strerror(errno);
      return false;
    }
    udp_handler_ = std::make_unique<UdpHandler>(this);
    tcp_handler_ = std::make_unique<TcpListener>(this);
    if (!ctx_->loop->add(udp.get(), EPOLLIN, udp_handler_.get()) ||
        !ctx_->loop->add(tcp.get(), EPOLLIN, tcp_handler_.get())) {
      *error = std::string("DNS proxy: epoll: ") + std::strerror(errno);
      return false;
    }
    udp_ = std::move(udp);
    tcp_ = std::move(tcp);
    *port = chosen;
    return true;
  }
  *error = "DNS proxy: no port free for both UDP and TCP";
  return false;
}

void DnsServer::on_udp() {
  char buf[dm::kMaxUdp];
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from;
    socklen_t flen = sizeof(from);
    ssize_t n =
        recvfrom(udp_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &flen);
    if (n < 0) return;  // EAGAIN, or an ICMP error for an earlier reply: nothing to do
    IpAddress peer_ip;
    uint16_t peer_port = 0;
    IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&from), flen, &peer_ip, &peer_port);
    const int fd = udp_.get();
    handle_query(
        std::string(buf, static_cast<size_t>(n)),
        [fd, from, flen](const std::string& answer) {
          sendto(fd, answer.data(), answer.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&from), flen);
        },
        peer_ip.to_string() + ":" + std::to_string(peer_port));
  }
}

void DnsServer::on_accept() {
  for (int i = 0; i < 64; ++i) {
    sockaddr_storage from;
    socklen_t flen = sizeof(from);
    ScopedFd fd(accept4(tcp_.get(), reinterpret_cast<sockaddr*>(&from), &flen,
                        SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) return;
    if (tcp_clients_.size() >= kMaxTcpClients) continue;  // dropped: closes at once
    IpAddress peer_ip;
    uint16_t peer_port = 0;
    IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&from), flen, &peer_ip, &peer_port);
    const uint64_t id = next_tcp_id_++;
    auto c = std::make_unique<TcpClient>(this, id, std::move(fd),
                                         peer_ip.to_string() + ":" + std::to_string(peer_port));
    if (!c->start()) continue;
    tcp_clients_.emplace(id, std::move(c));
  }
}

void DnsServer::close_tcp(uint64_t id) {
  auto it = tcp_clients_.find(id);
  if (it == tcp_clients_.end()) return;
  std::shared_ptr<TcpClient> doomed(std::move(it->second));
  tcp_clients_.erase(it);
  ctx_->loop->defer([doomed] {});
}

void DnsServer::check_timeouts(EventLoop::Clock::time_point now) {
  std::vector<uint64_t> idle;
  for (auto& [id, c] : tcp_clients_)
    if (c->idle_since(now - kTcpIdle)) idle.push_back(id);
  for (uint64_t id : idle) {
    auto it = tcp_clients_.find(id);
    if (it != tcp_clients_.end()) it->second->close();
  }
}

void DnsServer::handle_query(const std::string& pkt, Reply reply, const std::string& peer) {
  dm::Query q;
  std::string error;
  switch (dm::parse_query(pkt, &q, &error)) {
    case dm::ParseResult::kDrop:
      return;
    case dm::ParseResult::kFormErr:
      return reply(dm::make_header_only(q.id, q.flags, dm::kFormErr));
    case dm::ParseResult::kNotImp:
      return reply(dm::make_header_only(q.id, q.flags, dm::kNotImp));
    case dm::ParseResult::kOk:
      break;
  }
  ctx_->stats.dns_queries++;
  const std::string qtype = qtype_name(q.question.qtype);
  const std::string msg_base = "qtype=" + qtype + " client=" + peer;
  ip_literal::Host host;
  std::string err;
  if (!ip_literal::normalize_host(q.question.name, &host, &err) || host.is_ip()) {
    ctx_->stats.dns_denied++;
    ctx_->emit("dns", "resolve", q.question.name.empty() ? "." : q.question.name, "deny", "deny",
               "agentsh-invalid-dns-name", msg_base + " not a host name", 0);
    return reply(dm::make_response(pkt, q, dm::kNxDomain, {}));
  }
  const std::string& name = host.text;
  const NetDecision d = ctx_->decider->decide(name, "", 0);
  if (d.effect == NetEffect::kDeny) {
    ctx_->stats.dns_denied++;
    ctx_->emit("dns", "resolve", name, d.decision, "deny", d.rule,
               msg_base + (d.message.empty() ? "" : "; " + d.message), 0);
    return reply(dm::make_response(pkt, q, dm::kNxDomain, {}));
  }
  if (ctx_->redirects) {
    if (auto hit = ctx_->redirects->match_dns(name)) {
      std::vector<dm::Answer> answers;
      const uint16_t t = q.question.qtype;
      const bool any = t == 255;
      if (!hit->ip.v6 && (t == dm::kTypeA || any))
        answers.push_back(
            {dm::kTypeA, kRedirectTtl, std::string(reinterpret_cast<const char*>(hit->ip.b), 4)});
      if (hit->ip.v6 && (t == dm::kTypeAaaa || any))
        answers.push_back({dm::kTypeAaaa, kRedirectTtl,
                           std::string(reinterpret_cast<const char*>(hit->ip.b), 16)});
      ctx_->names->record(hit->ip, name, kRedirectTtl, NameMap::Clock::now());
      ctx_->emit("dns", "resolve", name, "redirect", "allow", hit->rule,
                 msg_base + " redirected to " + hit->ip.to_string(), 0);
      return reply(dm::make_response(pkt, q, dm::kNoError, answers));
    }
  }
  ctx_->emit("dns", "resolve", name, d.decision, "allow", d.rule,
             msg_base + (d.message.empty() ? "" : "; " + d.message), 0);
  NameMap* names = ctx_->names;
  const uint16_t client_id = q.id;
  ctx_->resolver->forward(pkt, [names, name, client_id, pkt, q, reply](
                                   bool ok, const std::string& response, const std::string&) {
    if (!ok) return reply(dm::make_response(pkt, q, dm::kServFail, {}));
    dm::Response r;
    std::string e;
    if (dm::parse_response(response, &r, &e)) {
      const auto now = NameMap::Clock::now();
      for (const auto& rec : r.answers) {
        if (rec.klass != dm::kClassIn) continue;
        if (rec.type == dm::kTypeA && rec.rdata.size() == 4) {
          const auto* b = reinterpret_cast<const uint8_t*>(rec.rdata.data());
          names->record(IpAddress::v4((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) |
                                      (uint32_t{b[2]} << 8) | b[3]),
                        name, rec.ttl, now);
        } else if (rec.type == dm::kTypeAaaa && rec.rdata.size() == 16) {
          names->record(
              IpAddress::from_v6_bytes(reinterpret_cast<const uint8_t*>(rec.rdata.data())), name,
              rec.ttl, now);
        }
      }
    }
    std::string answer = response;
    dm::set_id(&answer, client_id);
    reply(answer);
  });
}

}  // namespace agentsh::proxy
