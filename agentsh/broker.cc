#include "agentsh/broker.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fcntl.h>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

namespace agentsh {

namespace {

constexpr int kMaxConcurrent = 256;
constexpr int kReadTimeoutMs = 5000;

bool read_full(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    struct pollfd pfd = {fd, POLLIN, 0};
    int pr = poll(&pfd, 1, kReadTimeoutMs);
    if (pr <= 0) return false;
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool write_full(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
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

}  // namespace

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
  listen_fd_.reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!listen_fd_) {
    *error = std::string("broker socket: ") + strerror(errno);
    return false;
  }
  unlink(path.c_str());
  if (bind(listen_fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listen_fd_.get(), 128) != 0) {
    *error = "broker socket " + path + ": " + strerror(errno);
    return false;
  }
  chmod(path.c_str(), 0666);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    *error = std::string("broker pipe: ") + strerror(errno);
    return false;
  }
  wake_r_.reset(p[0]);
  wake_w_.reset(p[1]);
  thread_ = std::thread([this] { accept_loop(); });
  return true;
}

void Broker::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  char c = 1;
  if (write(wake_w_.get(), &c, 1) < 0) {
    // The accept loop also polls with a timeout; it will notice stopping_.
  }
  thread_.join();
  // Let in-flight connections finish (they are bounded by the read timeout).
  for (int i = 0; i < 600 && active_.load() > 0; ++i) usleep(10000);
  unlink(path_.c_str());
}

Broker::~Broker() {
  stop();
}

void Broker::accept_loop() {
  while (!stopping_) {
    struct pollfd pfds[2] = {{listen_fd_.get(), POLLIN, 0}, {wake_r_.get(), POLLIN, 0}};
    int pr = poll(pfds, 2, 1000);
    if (pr < 0 && errno != EINTR) break;
    if (stopping_) break;
    if (pr <= 0 || !(pfds[0].revents & POLLIN)) continue;
    ScopedFd conn(accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) continue;
    if (active_.load() >= kMaxConcurrent) continue;  // closes: the client fails closed
    ++active_;
    std::thread([this, c = std::move(conn)]() mutable {
      serve(std::move(c));
      --active_;
    }).detach();
  }
}

void Broker::serve(ScopedFd conn) {
  broker::RequestHeader h{};
  if (!read_full(conn.get(), &h, sizeof h) || h.magic != broker::kMagic ||
      h.payload_len > broker::kMaxPayload)
    return;
  std::string payload(h.payload_len, '\0');
  if (h.payload_len && !read_full(conn.get(), payload.data(), h.payload_len)) return;
  std::vector<std::string> parts = split_payload(payload);
  auto part = [&](size_t i) { return i < parts.size() ? parts[i] : std::string(); };
  switch (h.type) {
    case broker::MsgType::kExecCheck: {
      ExecCheckRequest req;
      req.pid = h.pid;
      req.resolved = part(0);
      req.cwd = part(1);
      for (size_t i = 2; i < parts.size(); ++i) req.argv.push_back(parts[i]);
      if (req.argv.empty()) req.argv.push_back(req.resolved);
      broker::Reply r = handlers_.exec_check ? handlers_.exec_check(req)
                                             : deny(EACCES, "agentsh", "no exec policy");
      write_full(conn.get(), &r, sizeof r);
      break;
    }
    case broker::MsgType::kAudit: {
      BrokerAudit a;
      a.pid = h.pid;
      a.err = static_cast<int>(h.flags);
      a.operation = part(0);
      a.target = part(1);
      a.rule = part(2);
      a.decision = part(3);
      a.message = part(4);
      if (handlers_.audit) handlers_.audit(a);
      break;
    }
    case broker::MsgType::kApproval: {
      ApprovalAsk a;
      a.pid = h.pid;
      a.kind = part(0);
      a.operation = part(1);
      a.target = part(2);
      a.rule = part(3);
      a.message = part(4);
      broker::Reply r = handlers_.approval
                            ? handlers_.approval(a)
                            : deny(EACCES, a.rule, "approval required (nobody can approve)");
      write_full(conn.get(), &r, sizeof r);
      break;
    }
  }
}

}  // namespace agentsh
