#include "proxy/proxy.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "proxy/connection.h"
#include "proxy/dns_config.h"
#include "proxy/dns_server.h"
#include "proxy/event_loop.h"
#include "proxy/name_map.h"
#include "proxy/redirect_table.h"
#include "proxy/upstream_resolver.h"

namespace agentsh::proxy {
namespace {
constexpr auto kSweepInterval = std::chrono::milliseconds(500);
}  // namespace

class Proxy::Listener : public EventLoop::Handler {
 public:
  explicit Listener(Proxy* p) : p_(p) {}
  void on_io(uint32_t) override { p_->on_accept(); }

 private:
  Proxy* p_;
};

std::unique_ptr<Proxy> Proxy::start(Options options, std::string* error) {
  if (!options.decider) {
    *error = "agentsh proxy: Options.decider is required";
    return nullptr;
  }
  std::unique_ptr<Proxy> p(new Proxy());
  p->opt_ = std::move(options);
  const Options& o = p->opt_;

  dns_config::ResolvConf rc;
  std::string err;
  if (!dns_config::load_resolv_conf(o.resolv_conf, &rc, &err)) {
    *error = "agentsh proxy: " + err +
             " (the proxy resolves names itself; point Options.resolv_conf at a file with a "
             "`nameserver` line)";
    return nullptr;
  }
  p->redirects_ = RedirectTable::compile(o.dns_redirects, o.connect_redirects, &err);
  if (!p->redirects_) {
    *error = "agentsh proxy: " + err;
    return nullptr;
  }
  IpAddress listen_ip;
  if (!IpAddress::parse(o.listen_host, &listen_ip)) {
    *error = "agentsh proxy: listen_host '" + o.listen_host +
             "' is not an IP address (use 127.0.0.1 or ::1)";
    return nullptr;
  }
  p->loop_ = EventLoop::create(&err);
  if (!p->loop_) {
    *error = "agentsh proxy: " + err;
    return nullptr;
  }
  if (!o.llm.providers.empty()) {
    p->llm_ = LlmInterceptContext::create(o.llm, &err);
    if (!p->llm_) {
      *error = "agentsh proxy: " + err;
      return nullptr;
    }
  }
  p->names_ = std::make_unique<NameMap>();
  p->ctx_ = std::make_unique<ProxyContext>();
  ProxyContext& ctx = *p->ctx_;
  ctx.loop = p->loop_.get();
  ctx.loop_handle = std::make_shared<LoopHandle>(p->loop_.get());
  ctx.decider = o.decider;
  ctx.names = p->names_.get();
  ctx.redirects = p->redirects_->empty() ? nullptr : p->redirects_.get();
  ctx.audit = o.audit;
  ctx.llm = p->llm_.get();
  ctx.session_id = o.session_id;
  ctx.timeouts = o.timeouts;
  ctx.limits = o.limits;
  ctx.listen_ip = listen_ip;
  // Clients of a loopback listener are on this host: a small send buffer toward them
  // costs no throughput (see ProxyLimits::client_sndbuf); a remote one keeps autotuning.
  p->client_is_local_ =
      listen_ip.v6
          ? (std::all_of(listen_ip.b, listen_ip.b + 15, [](uint8_t x) { return x == 0; }) &&
             listen_ip.b[15] == 1)
          : listen_ip.b[0] == 127;
  UpstreamResolver::Options ro;
  ro.conf = rc;
  ro.hosts_path = o.hosts_file;
  ro.redirects = ctx.redirects;
  p->resolver_ = std::make_unique<UpstreamResolver>(p->loop_.get(), std::move(ro));
  ctx.resolver = p->resolver_.get();

  // The HTTP / transparent listener.
  p->listen_fd_.reset(socket(listen_ip.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!p->listen_fd_) {
    *error = std::string("agentsh proxy: socket: ") + std::strerror(errno);
    return nullptr;
  }
  int one = 1;
  setsockopt(p->listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage ss;
  socklen_t len = listen_ip.to_sockaddr(o.port, &ss);
  if (bind(p->listen_fd_.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
      listen(p->listen_fd_.get(), 4096) != 0) {
    *error = "agentsh proxy: cannot listen on " + o.listen_host + ":" + std::to_string(o.port) +
             ": " + std::strerror(errno) + " (choose another port, or 0 for any)";
    return nullptr;
  }
  sockaddr_storage bound;
  socklen_t blen = sizeof(bound);
  getsockname(p->listen_fd_.get(), reinterpret_cast<sockaddr*>(&bound), &blen);
  IpAddress dummy;
  IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&bound), blen, &dummy, &p->http_port_);
  ctx.http_port = p->http_port_;

  p->dns_ = std::make_unique<DnsServer>(p->ctx_.get());
  p->dns_port_ = o.dns_port;
  if (!p->dns_->start(listen_ip, &p->dns_port_, &err)) {
    *error = "agentsh proxy: " + err;
    return nullptr;
  }
  ctx.dns_port = p->dns_port_;

  // A tunnel holds up to six descriptors (two sockets, two pipes): allow many.
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  p->spare_fd_.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));

  p->listener_ = std::make_unique<Listener>(p.get());
  if (!p->loop_->add(p->listen_fd_.get(), EPOLLIN, p->listener_.get())) {
    *error = std::string("agentsh proxy: epoll: ") + std::strerror(errno);
    return nullptr;
  }
  Proxy* raw = p.get();
  p->loop_->run_after(kSweepInterval, [raw] { raw->sweep(); });
  EventLoop* loop = p->loop_.get();
  p->thread_ = std::thread([loop] {
    // splice() into a socket whose peer has gone raises SIGPIPE at this thread; keep it
    // blocked here (it stays pending, harmlessly) instead of changing the process.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    pthread_setname_np(pthread_self(), "agentsh-proxy");
    loop->run();
  });
  return p;
}

Proxy::~Proxy() {
  stop();
}

void Proxy::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (thread_.joinable()) {
    loop_->request_stop();
    thread_.join();
  }
  if (ctx_) {
    if (ctx_->loop_handle) ctx_->loop_handle->detach();
    ctx_->connections.clear();
  }
  if (loop_) loop_->run_leftovers();
  dns_.reset();
  resolver_.reset();
  if (loop_) loop_->run_leftovers();
  listener_.reset();
  listen_fd_.reset();
}

Proxy::Stats Proxy::stats() const {
  Stats s;
  if (!ctx_) return s;
  const ProxyStats& c = ctx_->stats;
  s.accepted = c.accepted;
  s.active = c.active;
  s.refused_overload = c.refused_overload;
  s.allowed = c.allowed;
  s.denied = c.denied;
  s.errors = c.errors;
  s.dns_queries = c.dns_queries;
  s.dns_denied = c.dns_denied;
  return s;
}

void Proxy::on_accept() {
  for (int i = 0; i < 256; ++i) {
    ScopedFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!fd) {
      if ((errno == EMFILE || errno == ENFILE) && spare_fd_) {
        // Out of descriptors: accept-and-close one so the backlog does not spin us.
        spare_fd_.reset();
        ScopedFd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        spare_fd_.reset(open("/dev/null", O_RDONLY | O_CLOEXEC));
        ctx_->stats.refused_overload++;
        continue;
      }
      return;
    }
    ctx_->stats.accepted++;
    if (ctx_->connections.size() >= ctx_->limits.max_connections) {
      ctx_->stats.refused_overload++;
      continue;  // closed by ScopedFd
    }
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (ctx_->limits.client_sndbuf > 0 && client_is_local_) {
      const int sb = static_cast<int>(ctx_->limits.client_sndbuf);
      setsockopt(fd.get(), SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb));
    }
    const uint64_t id = next_conn_id_++;
    auto c = std::make_unique<Connection>(ctx_.get(), id, std::move(fd));
    if (!c->start()) continue;
    ctx_->connections.emplace(id, std::move(c));
  }
}

void Proxy::sweep() {
  const auto now = loop_->now();
  std::vector<uint64_t> ids;
  ids.reserve(ctx_->connections.size());
  for (const auto& [id, c] : ctx_->connections) ids.push_back(id);
  for (uint64_t id : ids)
    if (Connection* c = ctx_->find(id)) c->check_timeouts(now);
  dns_->check_timeouts(now);
  loop_->run_after(kSweepInterval, [this] { sweep(); });
}

}  // namespace agentsh::proxy
