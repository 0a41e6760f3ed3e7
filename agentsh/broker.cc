#include "agentsh/broker.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>

namespace agentsh {

namespace {

constexpr int kMaxConnections = 256;  // open at once, on the loop
constexpr int kMaxConcurrent = 256;   // handed to threads of their own
constexpr auto kReadTimeout = std::chrono::milliseconds(5000);
constexpr uint64_t kTagListen = 1, kTagWake = 2, kTagDgram = 3;  // epoll data; else Conn*

bool write_full(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && errno == EAGAIN) {
      struct pollfd pfd = {fd, POLLOUT, 0};
      if (poll(&pfd, 1, static_cast<int>(kReadTimeout.count())) <= 0) return false;
      continue;
    }
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Splits a payload of NUL-terminated strings.
std::vector<std::string> split_payload(const std::string& payload) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < payload.size()) {
    size_t end = payload.find('\0', start);
    if (end == std::string::npos) end = payload.size();
    out.emplace_back(payload, start, end - start);
    start = end + 1;
  }
  return out;
}

void copy_str(char* dst, size_t cap, const std::string& s) {
  size_t n = std::min(cap - 1, s.size());
  memcpy(dst, s.data(), n);
  dst[n] = '\0';
}

ExecCheckRequest exec_request(const broker::RequestHeader& h,
                              const std::vector<std::string>& parts) {
  ExecCheckRequest req;
  req.pid = h.pid;
  if (!parts.empty()) req.resolved = parts[0];
  if (parts.size() > 1) req.cwd = parts[1];
  for (size_t i = 2; i < parts.size(); ++i) req.argv.push_back(parts[i]);
  if (req.argv.empty()) req.argv.push_back(req.resolved);
  return req;
}

}  // namespace

// One client connection: its socket and the request read so far.
struct Broker::Conn {
  ScopedFd fd;
  broker::RequestHeader h{};
  size_t got_h = 0;
  std::string payload;
  size_t got_p = 0;
  bool in_epoll = false;
  std::chrono::steady_clock::time_point deadline;
};

broker::Reply Broker::allow() {
  broker::Reply r{};
  r.magic = broker::kMagic;
  r.decision = broker::ReplyDecision::kAllow;
  return r;
}

broker::Reply Broker::deny(int err, const std::string& rule, const std::string& message) {
  broker::Reply r{};
  r.magic = broker::kMagic;
  r.decision = broker::ReplyDecision::kDeny;
  r.err = err;
  copy_str(r.rule, sizeof r.rule, rule);
  copy_str(r.message, sizeof r.message, message);
  return r;
}

bool Broker::start(const std::string& path, Handlers handlers, std::string* error) {
  handlers_ = std::move(handlers);
  path_ = path;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    *error = "broker socket path too long: " + path;
    return false;
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  listen_fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!listen_fd_) {
    *error = std::string("broker socket: ") + strerror(errno);
    return false;
  }
  unlink(path.c_str());
  if (bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_.get(), 512) != 0) {
    *error = "broker socket " + path + ": " + strerror(errno);
    return false;
  }
  chmod(path.c_str(), 0666);
  // The datagram door (broker_protocol.h kDgramSuffix). Optional: without it clients
  // use the stream socket, so a path too long for it only costs speed.
  std::string dpath = path + broker::kDgramSuffix;
  dgram_path_.clear();
  if (dpath.size() < sizeof addr.sun_path) {
    sockaddr_un daddr{};
    daddr.sun_family = AF_UNIX;
    memcpy(daddr.sun_path, dpath.c_str(), dpath.size() + 1);
    dgram_fd_.reset(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!dgram_fd_) {
      *error = std::string("broker datagram socket: ") + strerror(errno);
      return false;
    }
    unlink(dpath.c_str());
    if (bind(dgram_fd_.get(), reinterpret_cast<sockaddr*>(&daddr), sizeof daddr) != 0) {
      *error = "broker datagram socket " + dpath + ": " + strerror(errno);
      return false;
    }
    chmod(dpath.c_str(), 0666);
    dgram_path_ = dpath;
  }
  epoll_fd_.reset(epoll_create1(EPOLL_CLOEXEC));
  wake_fd_.reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!epoll_fd_ || !wake_fd_) {
    *error = std::string("broker epoll/eventfd: ") + strerror(errno);
    return false;
  }
  struct epoll_event ev {};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagListen;
  bool ok = epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, listen_fd_.get(), &ev) == 0;
  ev.data.u64 = kTagWake;
  ok = ok && epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, wake_fd_.get(), &ev) == 0;
  if (dgram_fd_) {
    ev.data.u64 = kTagDgram;
    ok = ok && epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, dgram_fd_.get(), &ev) == 0;
  }
  if (!ok) {
    *error = std::string("broker epoll_ctl: ") + strerror(errno);
    return false;
  }
  thread_ = std::thread([this] { loop(); });
  return true;
}

void Broker::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  uint64_t one = 1;
  if (write(wake_fd_.get(), &one, sizeof one) < 0) {
    // The loop also wakes once a second; it will notice stopping_.
  }
  thread_.join();
  // Datagrams already queued (audit records of the last execs) are served, not dropped:
  // the serving thread is gone, so this thread drains the door. Bounded: processes left
  // running in the background may keep sending, and stop() must return.
  if (dgram_fd_) {
    for (int i = 0; i < 4096 && recv_dgram(); ++i) {
    }
  }
  // Let requests handed to threads finish (they are bounded by the read timeout; an
  // approval by its own timeout).
  for (int i = 0; i < 600 && active_.load() > 0; ++i) usleep(10000);
  unlink(path_.c_str());
  if (!dgram_path_.empty()) unlink(dgram_path_.c_str());
}

Broker::~Broker() {
  stop();
}

void Broker::loop() {
  // Connections the loop owns (waiting for the rest of their request).
  std::vector<Conn*> conns;
  struct epoll_event evs[64];
  while (!stopping_) {
    int n = epoll_wait(epoll_fd_.get(), evs, 64, 1000);
    if (n < 0 && errno != EINTR) break;
    if (stopping_) break;
    for (int i = 0; i < n; ++i) {
      uint64_t tag = evs[i].data.u64;
      if (tag == kTagWake) continue;
      if (tag == kTagListen) {
        accept_one(conns);
        continue;
      }
      if (tag == kTagDgram) {
        recv_dgram();
        continue;
      }
      Conn* c = reinterpret_cast<Conn*>(tag);
      bool failed = false;
      bool done = read_some(*c, &failed);
      if (!done && !failed) continue;
      epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, c->fd.get(), nullptr);
      conns.erase(std::find(conns.begin(), conns.end(), c));
      if (failed) {
        delete c;
      } else {
        dispatch(c);
      }
    }
    // Drop connections that never finished their request.
    if (!conns.empty()) {
      auto now = std::chrono::steady_clock::now();
      for (size_t i = 0; i < conns.size();) {
        if (conns[i]->deadline > now) {
          ++i;
          continue;
        }
        epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, conns[i]->fd.get(), nullptr);
        delete conns[i];
        conns[i] = conns.back();
        conns.pop_back();
      }
    }
  }
  for (Conn* c : conns) delete c;
}

void Broker::accept_one(std::vector<Conn*>& conns) {
  // One connection per wake-up: the listening socket is level-triggered, so epoll reports
  // it again while more are pending — and the usual case (one exec at a time) saves the
  // accept that would only say EAGAIN.
  ScopedFd fd(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
  if (!fd) return;  // EAGAIN, or an error: try again on the next event
  if (conns.size() >= size_t(kMaxConnections)) return;  // closes: the client fails closed
  auto c = std::make_unique<Conn>();
  c->fd = std::move(fd);
  // The client usually sent its request before we accepted: serve it right away,
  // without registering the socket at all.
  bool failed = false;
  if (read_some(*c, &failed)) {
    dispatch(c.release());
    return;
  }
  if (failed) return;
  c->deadline = std::chrono::steady_clock::now() + kReadTimeout;
  struct epoll_event ev {};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = reinterpret_cast<uint64_t>(c.get());
  if (epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, c->fd.get(), &ev) != 0) return;
  conns.push_back(c.release());
}

Broker::Stats Broker::stats() const {
  Stats st;
  st.exec_checks = n_exec_checks_.load();
  st.exec_audits = n_exec_audits_.load();
  st.audits = n_audits_.load();
  st.approvals = n_approvals_.load();
  return st;
}

bool Broker::recv_dgram() {
  // One datagram per wake-up, like accept_one (the socket is level-triggered).
  std::string buf(broker::kMaxDgramRequest, '\0');
  struct iovec iov = {buf.data(), buf.size()};
  alignas(struct cmsghdr) char ctl[CMSG_SPACE(sizeof(int) * 8)];
  struct msghdr mh {};
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl;
  mh.msg_controllen = sizeof ctl;
  ssize_t n;
  do {
    n = recvmsg(dgram_fd_.get(), &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return false;
  // Own every fd that came along before looking at anything else: whatever is wrong
  // with the request, none of them may leak into the supervisor.
  std::vector<ScopedFd> fds;
  for (struct cmsghdr* cm = CMSG_FIRSTHDR(&mh); cm != nullptr; cm = CMSG_NXTHDR(&mh, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; ++i) {
      int fd;
      memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof fd);
      fds.emplace_back(fd);
    }
  }
  // The whole request, nothing cut off.
  if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0) return true;
  auto c = std::make_unique<Conn>();
  size_t got = static_cast<size_t>(n);
  if (got < sizeof c->h) return true;
  memcpy(&c->h, buf.data(), sizeof c->h);
  if (c->h.magic != broker::kMagic || c->h.payload_len != got - sizeof c->h) return true;
  // Requests without a reply come alone; the others with exactly one reply channel.
  const bool no_reply =
      c->h.type == broker::MsgType::kExecAudit || c->h.type == broker::MsgType::kAudit;
  if (fds.size() != (no_reply ? 0u : 1u)) return true;
  if (!no_reply) {
    // The reply goes into the fd the client passed: it must be a seqpacket socket (the
    // client's own pair), not some file or pipe it wants the supervisor to write into.
    int type = 0;
    socklen_t tl = sizeof type;
    if (getsockopt(fds[0].get(), SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_SEQPACKET) {
      return true;
    }
    c->fd = std::move(fds[0]);
  }
  c->payload.assign(buf.data() + sizeof c->h, c->h.payload_len);
  c->got_h = sizeof c->h;
  c->got_p = c->payload.size();
  dispatch(c.release());
  return true;
}

bool Broker::read_some(Conn& c, bool* failed) {
  if (c.got_h == 0) {
    // Header and (usually all of) the payload in one call: most requests are small.
    char spill[4096];
    struct iovec iov[2] = {{&c.h, sizeof c.h}, {spill, sizeof spill}};
    ssize_t r;
    do {
      r = readv(c.fd.get(), iov, 2);
    } while (r < 0 && errno == EINTR);
    if (r < 0 && errno == EAGAIN) return false;
    if (r <= 0) {
      *failed = true;
      return false;
    }
    size_t n = static_cast<size_t>(r);
    c.got_h = std::min(n, sizeof c.h);
    if (c.got_h < sizeof c.h) return read_some(c, failed);
    if (c.h.magic != broker::kMagic || c.h.payload_len > broker::kMaxPayload) {
      *failed = true;
      return false;
    }
    size_t extra = n - sizeof c.h;
    if (extra > c.h.payload_len) {  // more than announced: not our protocol
      *failed = true;
      return false;
    }
    c.payload.assign(spill, extra);
    c.payload.resize(c.h.payload_len);
    c.got_p = extra;
  }
  for (;;) {
    char* dst;
    size_t want;
    if (c.got_h < sizeof c.h) {
      dst = reinterpret_cast<char*>(&c.h) + c.got_h;
      want = sizeof c.h - c.got_h;
    } else {
      if (c.got_p == c.payload.size()) return true;
      dst = c.payload.data() + c.got_p;
      want = c.payload.size() - c.got_p;
    }
    ssize_t r = read(c.fd.get(), dst, want);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && errno == EAGAIN) return false;
    if (r <= 0) {
      *failed = true;  // error, or the client hung up before finishing its request
      return false;
    }
    if (c.got_h < sizeof c.h) {
      c.got_h += static_cast<size_t>(r);
      if (c.got_h == sizeof c.h) {
        if (c.h.magic != broker::kMagic || c.h.payload_len > broker::kMaxPayload) {
          *failed = true;
          return false;
        }
        c.payload.resize(c.h.payload_len);
      }
    } else {
      c.got_p += static_cast<size_t>(r);
    }
  }
}

void Broker::dispatch(Conn* raw) {
  std::unique_ptr<Conn> c(raw);
  switch (c->h.type) {
    case broker::MsgType::kExecAudit: {
      ++n_exec_audits_;
      if (handlers_.exec_audit) handlers_.exec_audit(exec_request(c->h, split_payload(c->payload)));
      return;
    }
    case broker::MsgType::kAudit: {
      ++n_audits_;
      std::vector<std::string> parts = split_payload(c->payload);
      auto part = [&](size_t i) { return i < parts.size() ? parts[i] : std::string(); };
      BrokerAudit a;
      a.pid = c->h.pid;
      a.err = static_cast<int>(c->h.flags);
      a.operation = part(0);
      a.target = part(1);
      a.rule = part(2);
      a.decision = part(3);
      a.message = part(4);
      if (handlers_.audit) handlers_.audit(a);
      return;
    }
    case broker::MsgType::kExecCheck: {
      ++n_exec_checks_;
      if (handlers_.exec_check_nonblocking) {
        ExecCheckRequest req = exec_request(c->h, split_payload(c->payload));
        if (std::optional<broker::Reply> r = handlers_.exec_check_nonblocking(req)) {
          // A fresh socket's send buffer holds a Reply many times over: this does not
          // block, and if it somehow cannot send it all the client sees a short reply and
          // fails closed.
          if (send(c->fd.get(), &*r, sizeof *r, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
          }
          return;
        }
      }
      break;  // may block: a thread of its own
    }
    case broker::MsgType::kApproval:
      ++n_approvals_;
      break;
    default:
      return;  // unknown type: close
  }
  if (active_.load() >= kMaxConcurrent) return;  // closes: the client fails closed
  ++active_;
  std::thread([this, c = std::move(c)]() mutable {
    serve_blocking(c.get());
    c.reset();
    --active_;
  }).detach();
}

void Broker::serve_blocking(Conn* c) {
  std::vector<std::string> parts = split_payload(c->payload);
  auto part = [&](size_t i) { return i < parts.size() ? parts[i] : std::string(); };
  broker::Reply r;
  if (c->h.type == broker::MsgType::kExecCheck) {
    ExecCheckRequest req = exec_request(c->h, parts);
    r = handlers_.exec_check ? handlers_.exec_check(req)
                             : deny(EACCES, "agentsh", "no exec policy");
  } else {
    ApprovalAsk a;
    a.pid = c->h.pid;
    a.kind = part(0);
    a.operation = part(1);
    a.target = part(2);
    a.rule = part(3);
    a.message = part(4);
    r = handlers_.approval ? handlers_.approval(a)
                           : deny(EACCES, a.rule, "approval required (nobody can approve)");
  }
  write_full(c->fd.get(), &r, sizeof r);
}

}  // namespace agentsh
