#include "proxy/connection.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "proxy/client_hello.h"
#include "proxy/http_target.h"
#include "proxy/name_map.h"
#include "proxy/transparent_protocol.h"

namespace agentsh::proxy {
namespace {

constexpr size_t kReadChunk = 16 * 1024;
constexpr uint8_t kAlertAccessDenied = 49;
constexpr uint8_t kAlertDecodeError = 50;
constexpr uint8_t kAlertInternalError = 80;

enum class Io { kOk, kEof, kError };

// Reads from `fd` into `q` until q holds `cap` bytes, the socket is drained (EAGAIN), EOF
// or an error. Always reads on to EAGAIN rather than stopping at a short read: a socket
// that reported HUP is taken out of epoll, so its EOF or reset must be seen now.
// `*got` counts the bytes read.
Io read_into(int fd, ByteQueue* q, size_t cap, size_t* got, int* err) {
  char buf[kReadChunk];
  *got = 0;
  while (q->size() < cap) {
    const size_t want = std::min(sizeof(buf), cap - q->size());
    ssize_t n = recv(fd, buf, want, 0);
    if (n > 0) {
      q->append(std::string_view(buf, static_cast<size_t>(n)));
      *got += static_cast<size_t>(n);
      continue;
    }
    if (n == 0) return Io::kEof;
    if (errno == EINTR) continue;
    if (errno == EAGAIN) return Io::kOk;
    *err = errno;
    return Io::kError;
  }
  return Io::kOk;
}

// Sends as much of `q` as the socket takes.
Io write_from(int fd, ByteQueue* q, size_t* sent, int* err) {
  *sent = 0;
  while (!q->empty()) {
    std::string_view v = q->view();
    ssize_t n = send(fd, v.data(), v.size(), MSG_NOSIGNAL);
    if (n > 0) {
      q->consume(static_cast<size_t>(n));
      *sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return Io::kOk;
    *err = n < 0 ? errno : EPIPE;
    return Io::kError;
  }
  return Io::kOk;
}

NetDecision synthetic_allow(const std::string& rule, const std::string& why) {
  NetDecision d;
  d.effect = NetEffect::kAllow;
  d.decision = "allow";
  d.rule = rule;
  d.message = why;
  d.matched = true;
  return d;
}

NetDecision synthetic_deny(const std::string& rule, const std::string& why) {
  NetDecision d;
  d.effect = NetEffect::kDeny;
  d.decision = "deny";
  d.rule = rule;
  d.message = why;
  d.matched = true;
  return d;
}

IpAddress effective_address(const IpAddress& a) {
  // The kernel connects 0.0.0.0 / :: to the loopback address: decide it as such.
  if (!a.is_unspecified()) return a;
  IpAddress lo;
  if (a.v6) {
    lo.v6 = true;
    lo.b[15] = 1;
  } else {
    lo = IpAddress::v4(0x7f000001);
  }
  return lo;
}

bool ieq(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (tolower(static_cast<unsigned char>(a[i])) != tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Whether the first bytes a client sends in a tunnel are an HTTP request: only a known
// method followed by a space counts, so that other protocols (an SSH banner, "HELLO")
// are never held back waiting for a request line that will not come.
enum class HttpStart { kNo, kMaybe, kYes };
HttpStart http_start(std::string_view d) {
  static constexpr std::string_view kMethods[] = {
      "GET ",    "HEAD ",  "POST ",   "PUT ",       "DELETE ", "OPTIONS ", "PATCH ",
      "TRACE ",  "COPY ",  "MOVE ",   "LOCK ",      "UNLOCK ", "MKCOL ",   "PROPFIND ",
      "REPORT ", "PURGE ", "SEARCH ", "PROPPATCH ", "CONNECT "};
  bool maybe = false;
  for (std::string_view m : kMethods) {
    if (d.size() >= m.size()) {
      if (d.substr(0, m.size()) == m) return HttpStart::kYes;
    } else if (m.substr(0, d.size()) == d) {
      maybe = true;
    }
  }
  return maybe ? HttpStart::kMaybe : HttpStart::kNo;
}

std::string http_answer(int status, const char* reason, const std::string& body_line) {
  const std::string body = body_line + "\n";
  std::string r = "HTTP/1.1 " + std::to_string(status) + " " + reason +
                  "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                  std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
  return r + body;
}

}  // namespace

Connection::Connection(ProxyContext* ctx, uint64_t id, ScopedFd client)
    : ctx_(ctx), id_(id), client_(std::move(client)) {
  ctx_->stats.active++;
}

Connection::~Connection() {
  if (resolve_id_ && ctx_->resolver) ctx_->resolver->cancel(resolve_id_);
  ctx_->stats.active--;
}

bool Connection::start() {
  phase_ = Phase::kHead;
  set_deadline(ctx_->timeouts.head);
  client_mask_ = EPOLLIN;
  if (!ctx_->loop->add(client_.get(), client_mask_, &client_side_)) return false;
  client_registered_ = true;
  return true;
}

void Connection::set_deadline(std::chrono::milliseconds d) {
  deadline_ = ctx_->loop->now() + d;
}

NetDecision Connection::decide(std::string_view domain, std::string_view ip, uint16_t port) {
  return ctx_->decider->decide(domain, ip, port);
}

std::string Connection::target_label() const {
  return target_text_.empty() ? std::string("?") : target_text_;
}

void Connection::audit(const NetDecision& d, bool effective_allow, const std::string& target,
                       const std::string& message) {
  std::string msg = message;
  if (!d.message.empty()) msg += (msg.empty() ? "" : "; ") + d.message;
  ctx_->emit("network", "connect", target, d.decision, effective_allow ? "allow" : "deny", d.rule,
             msg, pid_);
}

// ---- events ---------------------------------------------------------------------------

void Connection::on_io(bool client_side, uint32_t events) {
  if (phase_ == Phase::kDone) return;
  if (events & (EPOLLHUP | EPOLLERR)) (client_side ? client_hup_ : upstream_hup_) = true;
  if (!client_side && connecting_) {
    on_connect_ready();
    if (phase_ == Phase::kDone) return;
  }
  drive();
}

void Connection::drive() {
  for (int round = 0; round < 8 && phase_ != Phase::kDone; ++round) {
    const Phase before = phase_;
    const bool peeking_before = peeking_;
    switch (phase_) {
      case Phase::kHead:
        drive_head();
        break;
      case Phase::kWaiting:
        drive_waiting();
        break;
      case Phase::kTunnel:
        drive_tunnel();
        break;
      case Phase::kHttp:
        drive_http();
        break;
      case Phase::kIntercept:
        drive_intercept();
        break;
      case Phase::kClosing:
        drive_closing();
        break;
      case Phase::kDone:
        return;
    }
    if (phase_ == before && peeking_ == peeking_before) break;
  }
  if (phase_ != Phase::kDone) update_interest();
}

void Connection::set_interest(bool client_side, uint32_t mask) {
  const int fd = client_side ? client_.get() : upstream_.get();
  if (fd < 0) return;
  bool& registered = client_side ? client_registered_ : upstream_registered_;
  uint32_t& current = client_side ? client_mask_ : upstream_mask_;
  Side* side = client_side ? &client_side_ : &upstream_side_;
  // A hung-up socket is reported ready forever (level-triggered HUP cannot be masked):
  // keep it out of epoll; it is still read when the other side makes progress.
  if (client_side ? client_hup_ : upstream_hup_) {
    if (registered) {
      ctx_->loop->remove(fd);
      registered = false;
    }
    return;
  }
  if (!registered) {
    if (ctx_->loop->add(fd, mask, side)) {
      registered = true;
      current = mask;
    }
    return;
  }
  if (mask != current && ctx_->loop->modify(fd, mask, side)) current = mask;
}

void Connection::update_interest() {
  const size_t buf = ctx_->limits.buffer;
  uint32_t cm = 0, um = 0;
  auto room = [&](const Flow& f) {
    return f.use_pipe ? (f.pipe.bytes < f.pipe.cap && !f.pipe.maybe_full) : f.out.size() < buf;
  };
  auto pending = [](const Flow& f) { return !f.out.empty() || f.pipe.bytes > 0; };
  switch (phase_) {
    case Phase::kHead:
      cm = EPOLLIN;
      break;
    case Phase::kWaiting:
      if (!c2u_.src_eof && cin_.size() < ctx_->limits.max_head) cm = EPOLLIN;
      if (connecting_) um = EPOLLOUT;
      break;
    case Phase::kTunnel:
      if (peeking_) {
        if (!approval_pending_ && !c2u_.src_eof && cin_.size() < ctx_->limits.peek) cm |= EPOLLIN;
      } else if (!c2u_.src_eof && room(c2u_)) {
        cm |= EPOLLIN;
      }
      if (pending(u2c_)) cm |= EPOLLOUT;
      if (upstream_) {
        if (!u2c_.src_eof && room(u2c_)) um |= EPOLLIN;
        if (pending(c2u_)) um |= EPOLLOUT;
      }
      break;
    case Phase::kHttp:
      if (!c2u_.src_eof && cin_.size() < buf) cm |= EPOLLIN;
      if (!u2c_.out.empty()) cm |= EPOLLOUT;
      if (!u2c_.src_eof && uin_.size() < buf) um |= EPOLLIN;
      if (!c2u_.out.empty()) um |= EPOLLOUT;
      break;
    case Phase::kIntercept:
      if (llm_->want_client_read()) cm |= EPOLLIN;
      if (llm_->want_client_write()) cm |= EPOLLOUT;
      if (llm_->want_upstream_read()) um |= EPOLLIN;
      if (llm_->want_upstream_write()) um |= EPOLLOUT;
      break;
    case Phase::kClosing:
      cm = u2c_.out.empty() ? EPOLLIN : EPOLLOUT;
      break;
    case Phase::kDone:
      return;
  }
  set_interest(true, cm);
  if (upstream_) set_interest(false, um);
}

// ---- phase: reading the head ----------------------------------------------------------

void Connection::drive_head() {
  size_t got = 0;
  int err = 0;
  size_t cap = ctx_->limits.max_head;
  if (kind_ == Kind::kTransparent) cap = transparent_protocol::kHeaderSize;
  Io io = c2u_.src_eof ? Io::kEof : read_into(client_.get(), &cin_, cap, &got, &err);
  if (io == Io::kError) return finish();
  if (io == Io::kEof) c2u_.src_eof = true;
  if (cin_.empty()) {
    if (c2u_.src_eof) finish();  // gone before saying anything (or between requests)
    return;
  }
  if (kind_ == Kind::kUnknown) {
    kind_ = transparent_protocol::looks_like_header(static_cast<uint8_t>(cin_.view()[0]))
                ? Kind::kTransparent
                : Kind::kHttp;
    if (kind_ == Kind::kTransparent) {
      // Read the rest of the header now that we know its size.
      if (!c2u_.src_eof && read_into(client_.get(), &cin_, transparent_protocol::kHeaderSize, &got,
                                     &err) == Io::kError)
        return finish();
    }
  }
  if (kind_ == Kind::kTransparent) {
    if (cin_.size() < transparent_protocol::kHeaderSize) {
      if (c2u_.src_eof) finish();
      return;
    }
    return handle_transparent_header();
  }
  HttpHead head;
  size_t consumed = 0;
  int status = 400;
  std::string error;
  http_head::Limits limits;
  limits.max_bytes = ctx_->limits.max_head;
  switch (http_head::parse_request(cin_.view(), limits, &head_scan_, &head, &consumed, &status,
                                   &error)) {
    case http_head::Status::kNeedMore:
      if (c2u_.src_eof) finish();
      return;
    case http_head::Status::kError:
      ctx_->stats.errors++;
      return answer_http(status,
                         status == 431   ? "Request Header Fields Too Large"
                         : status == 505 ? "HTTP Version Not Supported"
                                         : "Bad Request",
                         "agentsh proxy: " + error);
    case http_head::Status::kOk:
      head_scan_ = 0;
      return handle_request(head, consumed);
  }
}

void Connection::handle_transparent_header() {
  transparent_protocol::Header hdr;
  std::string error;
  via_ = "transparent";
  if (!transparent_protocol::decode(cin_.view(), &hdr, &error)) {
    ctx_->stats.errors++;
    return answer_errno(EINVAL);
  }
  cin_.consume(transparent_protocol::kHeaderSize);
  pid_ = hdr.pid;
  port_ = hdr.port;
  phase_ = Phase::kWaiting;
  clear_deadline();
  const IpAddress ip = hdr.address;
  auto names = ctx_->names->lookup(ip, NameMap::Clock::now());
  auto name_target = [](const std::string& n) {
    ip_literal::Host h;
    h.kind = ip_literal::HostKind::kName;
    h.text = n;
    return h;
  };
  ip_literal::Host ip_target;
  ip_target.kind = ip_literal::HostKind::kIp;
  ip_target.ip = ip;
  ip_target.text = ip.to_string();
  if (!hdr.domain.empty()) {
    for (const auto& n : names)
      if (n == hdr.domain) return begin(name_target(n), hdr.port, ip);
    if (!names.empty()) return begin(name_target(names[0]), hdr.port, ip);
    // A name only the client vouches for: believe it if it really resolves to the
    // address being connected to.
    const std::string claimed = hdr.domain;
    ProxyContext* ctx = ctx_;
    const uint64_t id = id_;
    resolve_id_ =
        ctx_->resolver->resolve(claimed, [ctx, id, claimed, ip, ip_target, name_target,
                                          port = hdr.port](const UpstreamResolver::Result& r) {
          Connection* c = ctx->find(id);
          if (!c) return;
          c->resolve_id_ = 0;
          bool confirmed = false;
          for (const auto& a : r.addrs) confirmed = confirmed || a == ip;
          if (confirmed)
            c->begin(name_target(claimed), port, ip);
          else
            c->begin(ip_target, port, ip);
          c->drive();
        });
    return;
  }
  if (!names.empty()) return begin(name_target(names[0]), hdr.port, ip);
  begin(ip_target, hdr.port, ip);
}

void Connection::handle_request(const HttpHead& head, size_t head_len) {
  cin_.consume(head_len);
  told_client_ = false;
  std::string error;
  if (head.method == "CONNECT") {
    kind_ = Kind::kConnect;
    via_ = "connect";
    std::string_view host;
    uint16_t port = 0;
    ip_literal::Host target;
    if (!ip_literal::split_host_port(head.target, 0, &host, &port, &error) ||
        !ip_literal::normalize_host(host, &target, &error)) {
      ctx_->stats.errors++;
      return answer_http(400, "Bad Request", "agentsh proxy: bad CONNECT target: " + error);
    }
    close_upstream();
    return begin(target, port, target.is_ip() ? std::optional<IpAddress>(target.ip) : std::nullopt);
  }
  kind_ = Kind::kHttp;
  via_ = "http";
  http_target::AbsoluteUri uri;
  ip_literal::Host target;
  if (!http_target::parse_absolute(head.target, &uri, &error) ||
      !ip_literal::normalize_host(uri.host, &target, &error)) {
    ctx_->stats.errors++;
    return answer_http(400, "Bad Request", "agentsh proxy: " + error);
  }
  if (!http_head::request_body(head, &req_body_kind_, &req_body_len_, &error)) {
    ctx_->stats.errors++;
    return answer_http(400, "Bad Request", "agentsh proxy: " + error);
  }
  req_ = head;
  origin_form_ = uri.origin_form;
  const std::string key = ip_literal::join_host_port(target, uri.port);
  if (upstream_ && (key != up_key_ || !upstream_reusable())) close_upstream();
  begin(target, uri.port, target.is_ip() ? std::optional<IpAddress>(target.ip) : std::nullopt);
}

// ---- deciding -------------------------------------------------------------------------

void Connection::begin(const ip_literal::Host& target, uint16_t port,
                       std::optional<IpAddress> known_ip) {
  phase_ = Phase::kWaiting;
  if (!deferred_) clear_deadline();
  target_ = target;
  port_ = port;
  target_text_ = ip_literal::join_host_port(target, port);
  has_name_ = !target.is_ip();
  known_ip_ = known_ip;
  redirect_.reset();
  candidates_.clear();
  cand_idx_ = 0;
  by_name_ = NetDecision{};
  by_addr_ = NetDecision{};
  if (has_name_) {
    by_name_ = decide(target.text, "", port);
    if (by_name_.effect == NetEffect::kDeny) {
      // A redirected connect knows the address it was headed for: the record names it.
      return refuse(by_name_, target_text_,
                    known_ip ? "ip=" + known_ip->to_string() + " denied by name"
                             : std::string("denied by name"));
    }
  }
  if (ctx_->redirects && !redirect_failed_over_) {
    redirect_ = ctx_->redirects->match_connect(ip_literal::url_host(target), port);
    if (!redirect_ && known_ip && has_name_) {
      ip_literal::Host ipt;
      ipt.kind = ip_literal::HostKind::kIp;
      ipt.ip = *known_ip;
      ipt.text = known_ip->to_string();
      redirect_ = ctx_->redirects->match_connect(ip_literal::url_host(ipt), port);
    }
  }
  connect_port_ = redirect_ ? redirect_->port : port;
  if (redirect_) {
    connect_host_ = redirect_->host;
    IpAddress lit;
    if (IpAddress::parse(connect_host_, &lit)) {
      UpstreamResolver::Result r;
      r.ok = true;
      r.addrs = {lit};
      r.source = "redirect";
      return on_resolved(r, true);
    }
    return resolve_and_decide(connect_host_, true);
  }
  // Plain HTTP on a kept-alive upstream to the same place: decide again, reuse it.
  reuse_ = kind_ == Kind::kHttp && upstream_ && up_key_ == target_text_;
  if (reuse_) known_ip = connected_ip_;
  if (known_ip) {
    UpstreamResolver::Result r;
    r.ok = true;
    r.addrs = {*known_ip};
    r.source = "literal";
    return on_resolved(r, false);
  }
  connect_host_ = target.text;
  resolve_and_decide(target.text, false);
}

void Connection::resolve_and_decide(const std::string& name, bool redirected) {
  ProxyContext* ctx = ctx_;
  const uint64_t id = id_;
  resolve_id_ = ctx_->resolver->resolve(name, [ctx, id, redirected](const auto& r) {
    Connection* c = ctx->find(id);
    if (!c) return;
    c->resolve_id_ = 0;
    c->on_resolved(r, redirected);
    c->drive();
  });
}

void Connection::on_resolved(const UpstreamResolver::Result& r, bool redirected) {
  if (phase_ != Phase::kWaiting) return;
  if (!r.ok) {
    audit(has_name_ ? by_name_ : synthetic_allow("", ""), true, target_label(),
          "via=" + via_ + " resolve failed: " + r.error);
    return fail_upstream(EHOSTUNREACH, "cannot resolve " + connect_host_ + ": " + r.error);
  }
  // Addresses chosen by the policy itself (connect_redirects, dns_redirects) are not
  // second-guessed by CIDR rules; everything else is decided by address too.
  const bool policy_chosen = redirected || r.source.rfind("redirect", 0) == 0;
  NetDecision first_deny;
  bool have_deny = false;
  candidates_.clear();
  for (const auto& a : r.addrs) {
    const IpAddress eff = effective_address(a);
    Candidate c;
    c.ip = eff;
    if (ctx_->is_self(eff, connect_port_)) {
      if (!have_deny) {
        first_deny = synthetic_deny("agentsh-proxy-loop", "connection to the proxy itself");
        have_deny = true;
      }
      continue;
    }
    if (policy_chosen) {
      c.decision = has_name_ ? by_name_
                             : synthetic_allow(redirect_ ? redirect_->rule : "dns-redirect",
                                               "redirected by policy");
      c.by_addr = c.decision;
    } else {
      c.by_addr = decide("", eff.to_string(), port_);
      c.decision = net_decider::combine(has_name_, by_name_, c.by_addr);
    }
    if (net_decider::permits(c.decision)) {
      candidates_.push_back(std::move(c));
    } else if (!have_deny) {
      first_deny = c.decision;
      have_deny = true;
    }
  }
  if (candidates_.empty()) {
    if (!have_deny) return fail_upstream(EHOSTUNREACH, "no address for " + connect_host_);
    // A bare address nobody named, refused only by the policy's default: say
    // "connected" and decide by the SNI / Host the client sends first — but only when
    // some domain rule could permit this port; otherwise no name can help, and waiting
    // would only hang a server-speaks-first client (SSH, SMTP) until timeouts.deferred.
    if ((kind_ == Kind::kConnect || kind_ == Kind::kTransparent) && !has_name_ &&
        !first_deny.matched && !told_client_ && !redirect_ && !peek_done_ &&
        first_deny.rule != "agentsh-proxy-loop" && known_ip_ &&
        ctx_->decider->name_may_permit(port_)) {
      deferred_ = true;
      deferred_deny_ = first_deny;
      told_client_ = true;
      if (kind_ == Kind::kConnect) {
        u2c_.out.append("HTTP/1.1 200 Connection established\r\n\r\n");
      } else {
        u2c_.out.append(std::string(1, '\0'));
      }
      phase_ = Phase::kTunnel;
      peeking_ = true;
      set_deadline(ctx_->timeouts.deferred);
      return;
    }
    std::string why = "denied by address";
    return refuse(
        first_deny, target_label(),
        has_name_ ? why + " (" + target_.text + " resolved to " + r.addrs.front().to_string() + ")"
                  : why);
  }
  decision_ = candidates_.front().decision;
  by_addr_ = candidates_.front().by_addr;
  if (decision_.effect == NetEffect::kAsk) {
    return ask(decision_, [](Connection* c) { c->proceed(); });
  }
  proceed();
}

void Connection::proceed() {
  ctx_->stats.allowed++;
  std::string msg = "via=" + via_ + " ip=" + candidates_.front().ip.to_string();
  if (redirect_) {
    msg += " redirected_to=" + connect_host_ + ":" + std::to_string(connect_port_) +
           " by=" + redirect_->rule;
    if (!redirect_->message.empty()) msg += " (" + redirect_->message + ")";
  }
  audit(decision_, true, target_label(), msg);
  if (reuse_ && upstream_) {
    reuse_ = false;
    return on_connected();
  }
  connect_next();
}

void Connection::ask(const NetDecision& d, std::function<void(Connection*)> on_yes) {
  approval_pending_ = true;
  on_approved_ = std::move(on_yes);
  set_deadline(ctx_->timeouts.approval);
  NetQuestion q;
  q.domain = has_name_ ? target_.text : std::string();
  q.ip = candidates_.empty() ? std::string() : candidates_.front().ip.to_string();
  q.port = port_;
  q.pid = pid_;
  q.decision = d;
  std::shared_ptr<LoopHandle> handle = ctx_->loop_handle;
  ProxyContext* ctx = ctx_;
  const uint64_t id = id_;
  ctx_->decider->ask(q, [handle, ctx, id](bool approved) {
    handle->post([ctx, id, approved] {
      if (Connection* c = ctx->find(id)) {
        c->on_approval(approved);
        c->drive();
      }
    });
  });
}

void Connection::on_approval(bool approved) {
  if (!approval_pending_) return;
  approval_pending_ = false;
  clear_deadline();
  auto cont = std::move(on_approved_);
  on_approved_ = nullptr;
  if (!approved) {
    NetDecision d = decision_;
    d.effect = NetEffect::kDeny;
    return refuse(d, target_label(), "approval not given");
  }
  decision_.effect = NetEffect::kAllow;
  if (cont) cont(this);
}

// ---- connecting -----------------------------------------------------------------------

void Connection::connect_next() {
  close_upstream();
  while (cand_idx_ < candidates_.size()) {
    const Candidate& c = candidates_[cand_idx_++];
    ScopedFd fd(socket(c.ip.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) {
      last_errno_ = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_storage ss;
    socklen_t len = c.ip.to_sockaddr(connect_port_, &ss);
    if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
      last_errno_ = errno;
      continue;
    }
    upstream_ = std::move(fd);
    upstream_hup_ = false;
    connected_ip_ = c.ip;
    decision_ = c.decision;
    by_addr_ = c.by_addr;
    connecting_ = true;
    upstream_mask_ = EPOLLOUT;
    if (!ctx_->loop->add(upstream_.get(), upstream_mask_, &upstream_side_)) {
      last_errno_ = errno;
      close_upstream();
      continue;
    }
    upstream_registered_ = true;
    set_deadline(ctx_->timeouts.connect);
    return;
  }
  if (redirect_ && redirect_->fallback_to_original && !redirect_failed_over_) {
    // on_failure: retry_original — decide and connect the original target instead.
    redirect_failed_over_ = true;
    audit(decision_, true, target_label(),
          "via=" + via_ + " redirect " + redirect_->rule + " to " + connect_host_ +
              " failed; retrying the original target");
    return begin(target_, port_, known_ip_);
  }
  const std::string where =
      (redirect_ ? connect_host_ : target_.text) + ":" + std::to_string(connect_port_);
  fail_upstream(last_errno_ ? last_errno_ : EHOSTUNREACH,
                "cannot connect to " + where + ": " +
                    std::strerror(last_errno_ ? last_errno_ : EHOSTUNREACH));
}

void Connection::on_connect_ready() {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(upstream_.get(), SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
  if (err == 0 && upstream_hup_) err = ECONNREFUSED;
  if (err != 0) {
    last_errno_ = err;
    connecting_ = false;
    return connect_next();
  }
  connecting_ = false;
  clear_deadline();
  on_connected();
}

void Connection::on_connected() {
  up_key_ = target_text_;
  last_activity_ = ctx_->loop->now();
  if (kind_ == Kind::kHttp) return begin_http_exchange();
  if (!told_client_) {
    told_client_ = true;
    if (kind_ == Kind::kConnect) {
      u2c_.out.append("HTTP/1.1 200 Connection established\r\n\r\n");
    } else {
      u2c_.out.append(std::string(1, '\0'));
    }
  }
  phase_ = Phase::kTunnel;
  if (peek_done_) {
    finish_peek();
  } else {
    peeking_ = true;
  }
}

bool Connection::upstream_reusable() {
  if (!upstream_ || upstream_hup_ || u2c_.src_eof || !uin_.empty()) return false;
  char c;
  ssize_t n = recv(upstream_.get(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && errno == EAGAIN;  // open and quiet
}

void Connection::close_upstream() {
  if (upstream_) {
    if (upstream_registered_) ctx_->loop->remove(upstream_.get());
    upstream_.reset();
  }
  upstream_registered_ = false;
  upstream_mask_ = 0;
  upstream_hup_ = false;
  connecting_ = false;
  u2c_.src_eof = false;
  u2c_.dst_shut = false;
  c2u_.dst_shut = false;
  uin_.clear();
  up_key_.clear();
}

// ---- tunnels --------------------------------------------------------------------------

bool Connection::ensure_pipe(Flow& f) {
  if (f.use_pipe || f.pipe.r) return f.use_pipe;
  if (ctx_->limits.pipe == 0) return false;  // configured off: userspace copies
  int p[2];
  if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) return false;  // userspace copy then
  f.pipe.r.reset(p[0]);
  f.pipe.w.reset(p[1]);
  fcntl(p[1], F_SETPIPE_SZ, static_cast<int>(ctx_->limits.pipe));
  int cap = fcntl(p[1], F_GETPIPE_SZ);
  f.pipe.cap = cap > 0 ? static_cast<size_t>(cap) : 65536;
  f.use_pipe = true;
  return true;
}

bool Connection::pump(Flow& f, int src, int dst, bool can_read, bool* moved, std::string* error) {
  // A splice that moves less than asked found the destination socket full (or the source
  // drained): asking again in this call would only return EAGAIN. Level-triggered epoll
  // reports the socket again when it is ready, so nothing stalls (`update_interest`).
  bool dst_full = false, src_dry = false;
  for (int round = 0; round < 32; ++round) {
    bool progress = false;
    size_t sent = 0;
    int err = 0;
    if (!f.out.empty()) {
      if (write_from(dst, &f.out, &sent, &err) == Io::kError) {
        *error = std::strerror(err);
        return false;
      }
      progress = progress || sent > 0;
    }
    while (f.out.empty() && f.pipe.bytes > 0 && !dst_full) {
      const size_t want = f.pipe.bytes;
      ssize_t n =
          splice(f.pipe.r.get(), nullptr, dst, nullptr, want, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
      if (n > 0) {
        f.pipe.bytes -= static_cast<size_t>(n);
        f.pipe.maybe_full = false;
        progress = true;
        if (static_cast<size_t>(n) < want) dst_full = true;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      *error = n == 0 ? "peer closed" : std::strerror(errno);
      return false;
    }
    if (can_read && !f.src_eof && src >= 0 && !src_dry) {
      if (f.use_pipe) {
        if (f.pipe.bytes < f.pipe.cap && !f.pipe.maybe_full) {
          const size_t want = f.pipe.cap - f.pipe.bytes;
          ssize_t n = splice(src, nullptr, f.pipe.w.get(), nullptr, want,
                             SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
          if (n > 0) {
            f.pipe.bytes += static_cast<size_t>(n);
            progress = true;
            if (static_cast<size_t>(n) < want) src_dry = true;
          } else if (n == 0) {
            f.src_eof = true;
            progress = true;
          } else if (errno == EAGAIN) {
            // Either the socket is empty or the pipe is out of slots; with bytes queued
            // we cannot tell, so wait for the pipe to drain before reading again.
            if (f.pipe.bytes > 0) f.pipe.maybe_full = true;
          } else if (errno != EINTR) {
            *error = std::strerror(errno);
            return false;
          }
        }
      } else if (f.out.size() < ctx_->limits.buffer) {
        size_t got = 0;
        Io io = read_into(src, &f.out, ctx_->limits.buffer, &got, &err);
        if (io == Io::kError) {
          *error = std::strerror(err);
          return false;
        }
        if (io == Io::kEof) f.src_eof = true;
        progress = progress || got > 0 || io == Io::kEof;
      }
    }
    if (progress) *moved = true;
    if (!progress) break;
  }
  if (f.src_eof && f.out.empty() && f.pipe.bytes == 0 && !f.dst_shut) {
    shutdown(dst, SHUT_WR);
    f.dst_shut = true;
  }
  return true;
}

void Connection::drive_tunnel() {
  bool moved = false;
  std::string error;
  if (peeking_ && !approval_pending_) {
    size_t got = 0;
    int err = 0;
    if (!c2u_.src_eof && cin_.size() < ctx_->limits.peek) {
      Io io = read_into(client_.get(), &cin_, ctx_->limits.peek, &got, &err);
      if (io == Io::kError) return finish();
      if (io == Io::kEof) c2u_.src_eof = true;
    }
    evaluate_peek();
    if (phase_ != Phase::kTunnel) return;
  }
  if (!peeking_ && upstream_ && !connecting_) {
    if (!c2u_.use_pipe && !c2u_.pipe.r) ensure_pipe(c2u_);
    if (!pump(c2u_, client_.get(), upstream_.get(), true, &moved, &error)) return finish();
  }
  if (upstream_ && !connecting_) {
    if (!u2c_.use_pipe && !u2c_.pipe.r) ensure_pipe(u2c_);
    if (!pump(u2c_, upstream_.get(), client_.get(), true, &moved, &error)) return finish();
  } else if (!u2c_.out.empty()) {
    // Deferred tunnel: only our own "connected" answer goes to the client so far.
    size_t sent = 0;
    int err = 0;
    if (write_from(client_.get(), &u2c_.out, &sent, &err) == Io::kError) return finish();
  }
  if (moved) last_activity_ = ctx_->loop->now();
  if (!peeking_ && c2u_.dst_shut && u2c_.dst_shut) return finish();
  // A client that half-closed while we were still deciding: nothing more will come.
  if (peeking_ && c2u_.src_eof && cin_.empty()) return finish();
}

void Connection::evaluate_peek() {
  if (cin_.empty()) {
    if (c2u_.src_eof && !deferred_) finish_peek();
    return;
  }
  std::string_view data = cin_.view();
  std::string name;
  bool found = false;
  const bool complete_or_capped = c2u_.src_eof || cin_.size() >= ctx_->limits.peek;
  if (static_cast<uint8_t>(data[0]) == 0x16) {
    peek_kind_ = PeekKind::kTls;
    client_hello::Info info;
    std::string err;
    switch (client_hello::parse(data, &info, &err)) {
      case client_hello::Status::kNeedMore:
        if (!complete_or_capped) {
          if (deadline_ == EventLoop::Clock::time_point())
            set_deadline(ctx_->timeouts.client_hello);
          return;
        }
        err = "ClientHello truncated or too large";
        [[fallthrough]];
      case client_hello::Status::kMalformed:
      case client_hello::Status::kNotTls: {
        ctx_->stats.errors++;
        audit(synthetic_deny("agentsh-malformed-tls", ""), false, target_label(),
              "via=" + via_ + " malformed TLS ClientHello: " + err);
        close_upstream();
        if (u2c_.pipe.bytes == 0) u2c_.out.append(client_hello::fatal_alert(kAlertDecodeError));
        told_client_ = true;
        close_gracefully();
        return;
      }
      case client_hello::Status::kOk:
        if (info.has_sni) {
          ip_literal::Host h;
          std::string e;
          if (ip_literal::normalize_host(info.sni, &h, &e) && !h.is_ip()) {
            name = h.text;
            found = true;
          }
        }
        break;
    }
  } else if (HttpStart hs = http_start(data); hs != HttpStart::kNo) {
    if (hs == HttpStart::kMaybe && !complete_or_capped) {
      if (deadline_ == EventLoop::Clock::time_point()) set_deadline(ctx_->timeouts.client_hello);
      return;
    }
    HttpHead head;
    size_t consumed = 0;
    int status = 0;
    std::string err;
    http_head::Limits limits;
    limits.max_bytes = ctx_->limits.peek;
    switch (http_head::parse_request(data, limits, &peek_scan_, &head, &consumed, &status, &err)) {
      case http_head::Status::kNeedMore:
        if (!complete_or_capped) {
          if (deadline_ == EventLoop::Clock::time_point())
            set_deadline(ctx_->timeouts.client_hello);
          return;
        }
        break;
      case http_head::Status::kError:
        break;
      case http_head::Status::kOk: {
        peek_kind_ = PeekKind::kHttp;
        const std::string* host = head.find("host");
        std::string_view h;
        uint16_t p = 0;
        ip_literal::Host parsed;
        std::string e;
        if (host && ip_literal::split_host_port(*host, port_, &h, &p, &e) &&
            ip_literal::normalize_host(h, &parsed, &e) && !parsed.is_ip()) {
          name = parsed.text;
          found = true;
        }
        break;
      }
    }
  }
  if (deferred_) {
    if (!found) {
      return refuse(deferred_deny_, target_label(),
                    "no TLS server name or HTTP Host to decide a bare address by");
    }
    // Second round: decide the name the client just told us, for the address it asked.
    deferred_ = false;
    peek_done_ = true;
    peeking_ = false;
    clear_deadline();
    via_ += peek_kind_ == PeekKind::kTls ? "+sni" : "+host";
    ip_literal::Host t;
    t.kind = ip_literal::HostKind::kName;
    t.text = name;
    const IpAddress ip = *known_ip_;
    // The name is the client's word only: it counts if our DNS proxy handed out this
    // address for it, or if it really resolves to this address. Otherwise a fake SNI of
    // an allowed site would open any address.
    if (ctx_->names->contains(ip, name, NameMap::Clock::now())) return begin(t, port_, ip);
    phase_ = Phase::kWaiting;
    ProxyContext* ctx = ctx_;
    const uint64_t id = id_;
    const uint16_t port = port_;
    resolve_id_ = ctx_->resolver->resolve(name, [ctx, id, t, ip, port](const auto& r) {
      Connection* c = ctx->find(id);
      if (!c) return;
      c->resolve_id_ = 0;
      bool confirmed = false;
      for (const auto& a : r.addrs) confirmed = confirmed || a == ip;
      if (confirmed) {
        c->begin(t, port, ip);
      } else {
        c->refuse(c->deferred_deny_, c->target_label(),
                  t.text + " (from the client) does not resolve to " + ip.to_string());
      }
      c->drive();
    });
    return;
  }
  if (found && (!has_name_ || !ieq(name, target_.text))) {
    const NetDecision by_peek = decide(name, "", port_);
    const NetDecision fin = net_decider::combine(true, by_peek, by_addr_);
    ip_literal::Host t;
    t.kind = ip_literal::HostKind::kName;
    t.text = name;
    const std::string label = ip_literal::join_host_port(t, port_);
    const std::string what = peek_kind_ == PeekKind::kTls ? "TLS SNI" : "HTTP Host";
    if (fin.effect == NetEffect::kDeny) {
      return refuse(fin, label,
                    what + " " + name + " differs from " + target_label() + " and is denied");
    }
    ctx_->stats.allowed++;
    audit(fin, true, label, "via=" + via_ + " " + what + " of a tunnel to " + target_label());
    if (fin.effect == NetEffect::kAsk) {
      // Still "peeking": nothing more is read or forwarded until someone answers.
      return ask(fin, [](Connection* c) { c->finish_peek(); });
    }
  }
  finish_peek();
}

void Connection::finish_peek() {
  peeking_ = false;
  peek_done_ = true;
  clear_deadline();
  std::string first(cin_.view());
  cin_.clear();
  cin_.release();
  if (redirect_ && redirect_->tls == RedirectTable::TlsMode::kRewriteSni && !first.empty() &&
      static_cast<uint8_t>(first[0]) == 0x16) {
    client_hello::Info info;
    std::string err, rewritten;
    if (client_hello::parse(first, &info, &err) == client_hello::Status::kOk &&
        client_hello::rewrite_sni(first, redirect_->sni, &rewritten, &err)) {
      first = rewritten + first.substr(info.record_bytes);
    }
  }
  if (try_intercept(first)) return;
  c2u_.out.append(first);
  if (phase_ == Phase::kWaiting) phase_ = Phase::kTunnel;
}

bool Connection::try_intercept(const std::string& first) {
  if (!ctx_->llm || redirect_ || !upstream_ || connecting_ || first.empty() ||
      static_cast<uint8_t>(first[0]) != 0x16 || c2u_.pipe.bytes > 0 || u2c_.pipe.bytes > 0)
    return false;
  client_hello::Info info;
  std::string err;
  std::string host;
  if (client_hello::parse(first, &info, &err) == client_hello::Status::kOk && info.has_sni) {
    host = info.sni;
  } else if (has_name_ && !target_.is_ip()) {
    host = target_.text;
  }
  if (host.empty() || !ctx_->llm->intercepts(host, port_)) return false;
  std::string to_client(u2c_.out.view());
  llm_ =
      LlmInterceptor::create(ctx_->llm, ctx_, host, port_, pid_, std::move(to_client), first, &err);
  if (!llm_) {
    ctx_->stats.errors++;
    ctx_->emit("network", "tls", target_label(), "allow", "deny", "agentsh-llm-intercept",
               "cannot intercept " + host + ": " + err, pid_);
    close_upstream();
    u2c_.out.append(client_hello::fatal_alert(kAlertInternalError));
    close_gracefully();
    return true;
  }
  u2c_.out.clear();
  via_ += "+llm";
  phase_ = Phase::kIntercept;
  last_activity_ = ctx_->loop->now();
  return true;
}

void Connection::drive_intercept() {
  if (llm_->drive(client_.get(), upstream_.get())) last_activity_ = ctx_->loop->now();
  if (llm_->done()) finish();
}

// ---- plain HTTP -----------------------------------------------------------------------

void Connection::begin_http_exchange() {
  phase_ = Phase::kHttp;
  clear_deadline();
  told_client_ = false;
  std::string head =
      req_.method + " " + origin_form_ + " HTTP/1." + std::to_string(req_.minor_version) + "\r\n";
  std::string host = target_.is_ip() && target_.ip.v6 ? "[" + target_.text + "]" : target_.text;
  if (port_ != 80) host += ":" + std::to_string(port_);
  head += "Host: " + host + "\r\n";
  for (const auto& h : req_.headers) {
    if (ieq(h.name, "host") || ieq(h.name, "proxy-connection") ||
        ieq(h.name, "proxy-authorization"))
      continue;
    head += h.name + ": " + h.value + "\r\n";
  }
  head += "\r\n";
  c2u_.out.append(head);
  req_framer_.reset(req_body_kind_, req_body_len_);
  resp_framer_.reset(http_head::BodyKind::kNone, 0);
  resp_head_done_ = false;
  resp_scan_ = 0;
  keep_alive_ = false;
}

void Connection::switch_to_tunnel() {
  phase_ = Phase::kTunnel;
  peeking_ = false;
  peek_done_ = true;
  c2u_.out.append(cin_.view());
  cin_.clear();
  u2c_.out.append(uin_.view());
  uin_.clear();
}

void Connection::drive_http() {
  const size_t buf = ctx_->limits.buffer;
  size_t got = 0, sent = 0;
  int err = 0;
  bool moved = false;
  // Client → request body.
  if (!c2u_.src_eof && cin_.size() < buf) {
    Io io = read_into(client_.get(), &cin_, buf, &got, &err);
    if (io == Io::kError) return finish();
    if (io == Io::kEof) c2u_.src_eof = true;
    moved = moved || got > 0;
  }
  if (!req_framer_.done() && !req_framer_.failed() && c2u_.out.size() < buf) {
    std::string_view avail = cin_.view().substr(0, buf - c2u_.out.size());
    const size_t n = req_framer_.consume(avail);
    c2u_.out.append(avail.substr(0, n));
    cin_.consume(n);
    if (req_framer_.failed()) {
      ctx_->stats.errors++;
      return answer_http(400, "Bad Request",
                         "agentsh proxy: malformed request body: " + req_framer_.error());
    }
  }
  if (!req_framer_.done() && c2u_.src_eof && cin_.empty()) return finish();  // client gone
  if (!c2u_.out.empty()) {
    if (write_from(upstream_.get(), &c2u_.out, &sent, &err) == Io::kError) {
      if (!told_client_) return fail_upstream(err, std::string("upstream: ") + std::strerror(err));
      return finish();
    }
    moved = moved || sent > 0;
  }
  // Upstream → response.
  if (!u2c_.src_eof && uin_.size() < buf) {
    Io io = read_into(upstream_.get(), &uin_, buf, &got, &err);
    if (io == Io::kError) {
      if (!told_client_) return fail_upstream(err, std::string("upstream: ") + std::strerror(err));
      return finish();
    }
    if (io == Io::kEof) u2c_.src_eof = true;
    moved = moved || got > 0;
  }
  while (!resp_head_done_ && !uin_.empty()) {
    HttpHead resp;
    size_t consumed = 0;
    std::string error;
    http_head::Limits limits;
    limits.max_bytes = ctx_->limits.max_head;
    auto st = http_head::parse_response(uin_.view(), limits, &resp_scan_, &resp, &consumed, &error);
    if (st == http_head::Status::kNeedMore) {
      if (!u2c_.src_eof) break;
      error = "upstream closed in the middle of its response head";
      st = http_head::Status::kError;
    }
    if (st == http_head::Status::kError) {
      if (!told_client_) return fail_upstream(0, "bad response from upstream: " + error);
      return finish();
    }
    resp_scan_ = 0;
    u2c_.out.append(uin_.view().substr(0, consumed));
    uin_.consume(consumed);
    told_client_ = true;
    if (resp.status == 101) return switch_to_tunnel();
    if (resp.status >= 100 && resp.status < 200) continue;  // 100 Continue etc.
    http_head::BodyKind kind;
    uint64_t len = 0;
    if (!http_head::response_body(resp, req_.method, &kind, &len, &error)) return finish();
    resp_framer_.reset(kind, len);
    resp_head_done_ = true;
    keep_alive_ =
        req_.keep_alive() && resp.keep_alive() && kind != http_head::BodyKind::kUntilClose;
  }
  if (resp_head_done_ && !resp_framer_.done() && u2c_.out.size() < buf) {
    std::string_view avail = uin_.view().substr(0, buf - u2c_.out.size());
    const size_t n = resp_framer_.consume(avail);
    u2c_.out.append(avail.substr(0, n));
    uin_.consume(n);
    if (resp_framer_.failed()) return finish();
  }
  if (!resp_head_done_ && u2c_.src_eof && uin_.empty()) {
    if (!told_client_) return fail_upstream(0, "upstream closed the connection without answering");
    return finish();
  }
  const bool resp_complete =
      resp_head_done_ &&
      (resp_framer_.done() || (resp_framer_.until_close() && u2c_.src_eof && uin_.empty()));
  if (!u2c_.out.empty()) {
    if (write_from(client_.get(), &u2c_.out, &sent, &err) == Io::kError) return finish();
    moved = moved || sent > 0;
  }
  if (moved) last_activity_ = ctx_->loop->now();
  if (resp_head_done_ && !resp_complete && u2c_.src_eof && uin_.empty()) {
    return finish();  // upstream died mid-body: the client sees the truncation
  }
  if (!resp_complete || !u2c_.out.empty()) return;
  ++served_;
  if (!req_framer_.done() || !keep_alive_ || c2u_.src_eof) return close_gracefully();
  // Next request on this connection (it is decided again from scratch). An idle
  // keep-alive connection gives its buffers back.
  if (!uin_.empty() || u2c_.src_eof) close_upstream();
  uin_.release();
  c2u_.out.release();
  u2c_.out.release();
  if (cin_.empty()) cin_.release();
  phase_ = Phase::kHead;
  told_client_ = false;
  set_deadline(ctx_->timeouts.keep_alive);
}

// ---- answers and endings --------------------------------------------------------------

void Connection::refuse(const NetDecision& d, const std::string& host_port,
                        const std::string& why) {
  ctx_->stats.denied++;
  audit(d, false, host_port, "via=" + via_ + " " + why);
  std::string host = host_port;
  if (size_t colon = host.rfind(':'); colon != std::string::npos) host.resize(colon);
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  if (!told_client_) {
    if (kind_ == Kind::kTransparent) return answer_errno(EACCES);
    return answer_http(403, "Forbidden",
                       "agentsh: blocked by policy: rule=" + d.rule + " host=" + host);
  }
  // Already "connected": the client is talking TLS or HTTP to the far end.
  close_upstream();
  if (peek_kind_ == PeekKind::kHttp && u2c_.pipe.bytes == 0) {
    u2c_.out.clear();
    u2c_.out.append(http_answer(403, "Forbidden",
                                "agentsh: blocked by policy: rule=" + d.rule + " host=" + host));
  } else if (peek_kind_ == PeekKind::kTls && u2c_.pipe.bytes == 0) {
    u2c_.out.append(client_hello::fatal_alert(kAlertAccessDenied));
  }
  close_gracefully();
}

void Connection::fail_upstream(int err, const std::string& why) {
  ctx_->stats.errors++;
  close_upstream();
  if (told_client_) return finish();
  if (kind_ == Kind::kTransparent) return answer_errno(err ? err : EHOSTUNREACH);
  if (err == ETIMEDOUT) return answer_http(504, "Gateway Timeout", "agentsh proxy: " + why);
  answer_http(502, "Bad Gateway", "agentsh proxy: " + why);
}

void Connection::answer_http(int status, const char* reason, const std::string& body_line) {
  if (told_client_) return finish();
  close_upstream();
  told_client_ = true;
  u2c_.out.clear();
  u2c_.out.append(http_answer(status, reason, body_line));
  close_gracefully();
}

void Connection::answer_errno(int err) {
  if (told_client_) return finish();
  close_upstream();
  told_client_ = true;
  u2c_.out.clear();
  u2c_.out.append(std::string(1, static_cast<char>(err > 0 && err < 256 ? err : EIO)));
  close_gracefully();
}

void Connection::close_gracefully() {
  close_upstream();
  // Pipe contents are dropped: only what is in `out` (our answer) still goes out.
  u2c_.pipe = Pipe{};
  u2c_.use_pipe = false;
  c2u_.pipe = Pipe{};
  c2u_.use_pipe = false;
  peeking_ = false;
  phase_ = Phase::kClosing;
  set_deadline(ctx_->timeouts.linger);
}

void Connection::drive_closing() {
  size_t sent = 0, got = 0;
  int err = 0;
  if (!u2c_.out.empty()) {
    if (write_from(client_.get(), &u2c_.out, &sent, &err) == Io::kError) return finish();
    if (!u2c_.out.empty()) return;
  }
  if (!client_shut_) {
    shutdown(client_.get(), SHUT_WR);
    client_shut_ = true;
  }
  // Linger: read and drop what the client still sends, so that closing does not turn
  // into a reset that destroys the answer before the client has read it.
  if (c2u_.src_eof) return finish();
  cin_.clear();
  while (true) {
    Io io = read_into(client_.get(), &cin_, kReadChunk, &got, &err);
    discarded_ += cin_.size();
    cin_.clear();
    if (io != Io::kOk || discarded_ > ctx_->limits.linger_discard) return finish();
    if (got < kReadChunk) return;
  }
}

void Connection::on_deadline() {
  switch (phase_) {
    case Phase::kHead:
      if (kind_ == Kind::kTransparent || cin_.empty()) return finish();
      return answer_http(408, "Request Timeout",
                         "agentsh proxy: request head not received in time");
    case Phase::kWaiting:
      if (connecting_) {
        last_errno_ = ETIMEDOUT;
        connecting_ = false;
        return connect_next();
      }
      if (approval_pending_) return on_approval(false);
      return finish();
    case Phase::kTunnel:
      if (approval_pending_) return on_approval(false);
      if (deferred_) {
        return refuse(deferred_deny_, target_label(),
                      "no TLS server name or HTTP Host arrived to decide a bare address by");
      }
      return finish();  // an incomplete ClientHello / HTTP head: give up
    case Phase::kHttp:
    case Phase::kIntercept:
    case Phase::kClosing:
    case Phase::kDone:
      return finish();
  }
}

void Connection::check_timeouts(EventLoop::Clock::time_point now) {
  if (phase_ == Phase::kDone) return;
  if (deadline_ != EventLoop::Clock::time_point() && now >= deadline_) {
    deadline_ = {};
    on_deadline();
    drive();
    return;
  }
  if ((phase_ == Phase::kTunnel && !peeking_) || phase_ == Phase::kHttp ||
      phase_ == Phase::kIntercept) {
    const auto limit =
        (c2u_.src_eof || u2c_.src_eof) ? ctx_->timeouts.half_closed : ctx_->timeouts.idle;
    if (now - last_activity_ > limit) finish();
  }
}

void Connection::drive_waiting() {
  // Keep an eye on the client while we decide: hold what it sends early (bounded) and
  // notice when it goes away.
  if (c2u_.src_eof || cin_.size() >= ctx_->limits.max_head) return;
  size_t got = 0;
  int err = 0;
  Io io = read_into(client_.get(), &cin_, ctx_->limits.max_head, &got, &err);
  if (io == Io::kError) return finish();
  if (io == Io::kEof) {
    c2u_.src_eof = true;
    if (kind_ != Kind::kHttp && cin_.empty()) return finish();
  }
}

void Connection::abort() {
  finish();
}

void Connection::finish() {
  if (phase_ == Phase::kDone) return;
  phase_ = Phase::kDone;
  if (llm_) llm_->abort();
  if (resolve_id_) {
    ctx_->resolver->cancel(resolve_id_);
    resolve_id_ = 0;
  }
  close_upstream();
  if (client_registered_) ctx_->loop->remove(client_.get());
  client_registered_ = false;
  client_.reset();
  c2u_.pipe = Pipe{};
  u2c_.pipe = Pipe{};
  ctx_->release(id_);
}

}  // namespace agentsh::proxy
