// Test support for the proxy's integration tests: a private network namespace, a fake
// decider, an audit recorder, fake upstream HTTP / raw TCP / DNS servers, and small
// blocking clients. Everything listens on 127.0.0.0/8 inside a network namespace the
// test creates, so nothing can ever leave the machine even if the proxy misbehaves.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "agentsh/audit_event.h"
#include "common/scoped_fd.h"
#include "proxy/dns_message.h"
#include "proxy/ip_address.h"
#include "proxy/net_decider.h"
#include "proxy/proxy.h"

namespace agentsh::proxy::testing {

// ---- a private network namespace for the calling thread (and threads it creates) -----

class ScopedNetns {
 public:
  ScopedNetns() {
    orig_.reset(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!orig_ || unshare(CLONE_NEWNET) != 0) {
      error_ = std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno);
      return;
    }
    ScopedFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (!s || ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) {
      error_ = "SIOCGIFFLAGS lo failed";
      return;
    }
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) {
      error_ = "cannot bring lo up";
      return;
    }
    ok_ = true;
  }
  ~ScopedNetns() {
    if (orig_) setns(orig_.get(), CLONE_NEWNET);
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }

 private:
  ScopedFd orig_;
  bool ok_ = false;
  std::string error_;
};

// ---- a decider with reference-like rules -----------------------------------------------

struct FakeRule {
  std::string name;
  std::vector<std::string> domains;  // "example.com" or "*.example.com"
  std::vector<std::string> cidrs;    // "10.0.0.0/8"
  std::vector<uint16_t> ports;       // empty = any
  NetEffect effect = NetEffect::kAllow;
};

inline bool cidr_contains(const std::string& cidr, const IpAddress& ip) {
  size_t slash = cidr.find('/');
  IpAddress net;
  if (!IpAddress::parse(cidr.substr(0, slash), &net) || net.v6 != ip.v6) return false;
  int bits = slash == std::string::npos ? (net.v6 ? 128 : 32) : std::stoi(cidr.substr(slash + 1));
  for (int i = 0; i < bits; ++i) {
    const int byte = i / 8, bit = 7 - i % 8;
    if (((net.b[byte] >> bit) & 1) != ((ip.b[byte] >> bit) & 1)) return false;
  }
  return true;
}

class FakeDecider : public NetDecider {
 public:
  explicit FakeDecider(std::vector<FakeRule> rules) : rules_(std::move(rules)) {}
  NetDecision decide(std::string_view domain, std::string_view ip, uint16_t port) override {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(std::string(domain) + "|" + std::string(ip) + "|" + std::to_string(port));
    IpAddress addr;
    const bool have_ip = !ip.empty() && IpAddress::parse(ip, &addr);
    for (const auto& r : rules_) {
      if (port != 0 && !r.ports.empty()) {
        bool pm = false;
        for (uint16_t p : r.ports) pm = pm || p == port;
        if (!pm) continue;
      }
      bool m = r.domains.empty() && r.cidrs.empty();
      for (const auto& d : r.domains) {
        if (domain.empty()) break;
        if (d == domain || d == "*") m = true;
        if (d.size() > 2 && d[0] == '*' && domain.size() > d.size() - 1 &&
            domain.substr(domain.size() - (d.size() - 1)) == std::string_view(d).substr(1))
          m = true;
      }
      for (const auto& c : r.cidrs)
        if (have_ip && cidr_contains(c, addr)) m = true;
      if (!m) continue;
      NetDecision out;
      out.effect = r.effect;
      out.decision = r.effect == NetEffect::kAllow  ? "allow"
                     : r.effect == NetEffect::kDeny ? "deny"
                                                    : "approve";
      out.rule = r.name;
      // As PolicyNetDecider: "about this destination" = a CIDR rule for an address, a
      // domain rule (other than "*") for a name; catch-alls are not.
      bool specific_domain = false;
      for (const auto& d : r.domains) specific_domain = specific_domain || d != "*";
      out.matched = have_ip && domain.empty() ? !r.cidrs.empty()
                    : !have_ip                ? specific_domain
                                              : !r.cidrs.empty() || specific_domain;
      return out;
    }
    NetDecision def;
    def.rule = "default-deny-network";
    return def;
  }
  void ask(const NetQuestion& q, std::function<void(bool)> done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      asked_.push_back(q.domain + "|" + q.ip + "|" + std::to_string(q.port));
    }
    done(approve_);
  }
  void set_approve(bool v) { approve_ = v; }
  std::vector<std::string> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }
  std::vector<std::string> asked() {
    std::lock_guard<std::mutex> lock(mu_);
    return asked_;
  }

 private:
  std::mutex mu_;
  std::vector<FakeRule> rules_;
  std::vector<std::string> calls_, asked_;
  std::atomic<bool> approve_{false};
};

// ---- audit recorder ---------------------------------------------------------------------

class AuditLog {
 public:
  std::function<void(const AuditEvent&)> sink() {
    return [this](const AuditEvent& e) {
      std::lock_guard<std::mutex> lock(mu_);
      events_.push_back(e);
      cv_.notify_all();
    };
  }
  std::vector<AuditEvent> events() {
    std::lock_guard<std::mutex> lock(mu_);
    return events_;
  }
  // Waits (bounded) for an event matching `pred`; the bound only guards against a hang.
  bool wait_for(const std::function<bool(const AuditEvent&)>& pred,
                std::chrono::milliseconds bound = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, bound, [&] {
      for (const auto& e : events_)
        if (pred(e)) return true;
      return false;
    });
  }
  size_t count(const std::function<bool(const AuditEvent&)>& pred) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const auto& e : events_) n += pred(e) ? 1 : 0;
    return n;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AuditEvent> events_;
};

// ---- sockets -----------------------------------------------------------------------------

inline ScopedFd listen_on(const std::string& ip, uint16_t port, int type, uint16_t* bound) {
  IpAddress a;
  if (!IpAddress::parse(ip, &a)) return ScopedFd();
  ScopedFd fd(socket(a.family(), type | SOCK_CLOEXEC, 0));
  int one = 1;
  setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_storage ss;
  socklen_t len = a.to_sockaddr(port, &ss);
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return ScopedFd();
  if (type == SOCK_STREAM && listen(fd.get(), 4096) != 0) return ScopedFd();
  sockaddr_storage b;
  socklen_t bl = sizeof(b);
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&b), &bl);
  IpAddress dummy;
  IpAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&b), bl, &dummy, bound);
  return fd;
}

// A blocking TCP client with a receive timeout so that a test can never hang.
inline ScopedFd dial(const std::string& ip, uint16_t port, int timeout_ms = 10000) {
  IpAddress a;
  if (!IpAddress::parse(ip, &a)) return ScopedFd();
  ScopedFd fd(socket(a.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  int one = 1;
  setsockopt(fd.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_storage ss;
  socklen_t len = a.to_sockaddr(port, &ss);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&ss), len) != 0) return ScopedFd();
  return fd;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads until EOF, error/timeout, or `max` bytes.
inline std::string recv_all(int fd, size_t max = 1 << 30) {
  std::string out;
  char buf[65536];
  while (out.size() < max) {
    ssize_t n = recv(fd, buf, std::min(sizeof(buf), max - out.size()), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Reads until `pattern` has been seen (or EOF/timeout).
inline std::string recv_until(int fd, std::string_view pattern) {
  std::string out;
  char c;
  while (out.find(pattern) == std::string::npos) {
    ssize_t n = recv(fd, &c, 1, 0);
    if (n <= 0) break;
    out.push_back(c);
  }
  return out;
}

// Reads one HTTP/1.1 response with a Content-Length body.
inline std::string recv_response(int fd) {
  std::string head = recv_until(fd, "\r\n\r\n");
  size_t pos = head.find("Content-Length: ");
  if (pos == std::string::npos) return head;
  size_t len = std::stoul(head.substr(pos + 16));
  return head + recv_all(fd, len);
}

// ---- fake upstream servers -------------------------------------------------------------

// Runs `serve(fd)` for every accepted connection, each on its own thread (tests only).
class TcpServer {
 public:
  using Serve = std::function<void(int fd)>;
  TcpServer(const std::string& ip, Serve serve, uint16_t port = 0) : serve_(std::move(serve)) {
    fd_ = listen_on(ip, port, SOCK_STREAM, &port_);
    if (!fd_) return;
    thread_ = std::thread([this] { loop(); });
  }
  ~TcpServer() {
    stop_ = true;
    shutdown(fd_.get(), SHUT_RDWR);
    if (thread_.joinable()) thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& t : workers_) t.join();
  }
  uint16_t port() const { return port_; }
  bool ok() const { return static_cast<bool>(fd_); }
  int accepted() const { return accepted_; }

 private:
  void loop() {
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int c = accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      ++accepted_;
      timeval tv{10, 0};
      setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      std::lock_guard<std::mutex> lock(mu_);
      workers_.emplace_back([this, c] {
        ScopedFd fd(c);
        serve_(fd.get());
      });
    }
  }
  Serve serve_;
  ScopedFd fd_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::thread> workers_;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
};

// A tiny HTTP/1.1 origin: answers every request with "hello <Host> <path>" (or, for
// /big/N, N bytes; for /redirect, a 302 to the Location in the query), keep-alive.
class FakeHttpServer {
 public:
  explicit FakeHttpServer(const std::string& ip) : server_(ip, [this](int fd) { serve(fd); }) {}
  uint16_t port() const { return server_.port(); }
  int connections() const { return server_.accepted(); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void serve(int fd) {
    while (true) {
      std::string head = recv_until(fd, "\r\n\r\n");
      if (head.find("\r\n\r\n") == std::string::npos) return;
      size_t cl = head.find("Content-Length: ");
      std::string body;
      if (cl != std::string::npos) body = recv_all(fd, std::stoul(head.substr(cl + 16)));
      std::string line = head.substr(0, head.find("\r\n"));
      std::string host;
      size_t h = head.find("\r\nHost: ");
      if (h != std::string::npos) host = head.substr(h + 8, head.find("\r\n", h + 8) - h - 8);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(line + " host=" + host + (body.empty() ? "" : " body=" + body));
      }
      std::string path = line.substr(line.find(' ') + 1);
      path = path.substr(0, path.find(' '));
      std::string resp;
      if (path.rfind("/big/", 0) == 0) {
        size_t n = std::stoul(path.substr(5));
        resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(n) + "\r\n\r\n";
        if (!send_all(fd, resp)) return;
        std::string chunk(1 << 16, 'x');
        while (n > 0) {
          size_t k = std::min(n, chunk.size());
          if (!send_all(fd, std::string_view(chunk).substr(0, k))) return;
          n -= k;
        }
        continue;
      }
      if (path.rfind("/redirect?", 0) == 0) {
        resp =
            "HTTP/1.1 302 Found\r\nLocation: " + path.substr(10) + "\r\nContent-Length: 0\r\n\r\n";
      } else if (path == "/chunked") {
        resp = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
      } else {
        std::string b = "hello " + host + " " + path;
        resp = "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(b.size()) + "\r\n\r\n" + b;
      }
      if (!send_all(fd, resp)) return;
    }
  }
  std::mutex mu_;
  std::vector<std::string> requests_;
  TcpServer server_;  // last: destroyed (threads joined) before what they use
};

// Records the bytes each connection sends (until EOF, or until the first bytes when it
// has a reply to give); optionally greets first.
class RecordingServer {
 public:
  explicit RecordingServer(const std::string& ip, std::string greeting = "", std::string reply = "",
                           uint16_t port = 0)
      : greeting_(std::move(greeting)),
        reply_(std::move(reply)),
        server_(
            ip, [this](int fd) { serve(fd); }, port) {}
  uint16_t port() const { return server_.port(); }
  int connections() const { return server_.accepted(); }
  std::vector<std::string> received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  // Waits (bounded; the bound only guards a hang) until `n` connections are recorded.
  std::vector<std::string> received(size_t n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return received_.size() >= n; });
    return received_;
  }

 private:
  void record(std::string got) {
    std::lock_guard<std::mutex> lock(mu_);
    received_.push_back(std::move(got));
    cv_.notify_all();
  }
  void serve(int fd) {
    if (!greeting_.empty()) send_all(fd, greeting_);
    std::string got;
    char buf[65536];
    while (true) {
      ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
      if (!reply_.empty()) {
        // Give the peer a moment to finish a message sent in pieces, then answer.
        pollfd p{fd, POLLIN, 0};
        while (poll(&p, 1, 50) > 0 && (n = recv(fd, buf, sizeof(buf), 0)) > 0)
          got.append(buf, static_cast<size_t>(n));
        record(got);
        send_all(fd, reply_);
        return;
      }
    }
    record(got);
  }
  std::string greeting_, reply_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> received_;
  TcpServer server_;
};

// A UDP DNS server answering A/AAAA from a table; counts the questions it saw.
class FakeDnsServer {
 public:
  FakeDnsServer(const std::string& ip, std::map<std::string, std::vector<std::string>> table)
      : table_(std::move(table)) {
    fd_ = listen_on(ip, 0, SOCK_DGRAM, &port_);
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeDnsServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  uint16_t port() const { return port_; }
  int queries_for(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_[name];
  }
  int total() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (auto& [k, v] : seen_) n += v;
    return n;
  }

 private:
  void loop() {
    char buf[4096];
    while (!stop_) {
      pollfd p{fd_.get(), POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      sockaddr_storage from;
      socklen_t fl = sizeof(from);
      ssize_t n = recvfrom(fd_.get(), buf, sizeof(buf), 0, reinterpret_cast<sockaddr*>(&from), &fl);
      if (n <= 0) continue;
      std::string pkt(buf, static_cast<size_t>(n));
      dns_message::Query q;
      std::string err;
      if (dns_message::parse_query(pkt, &q, &err) != dns_message::ParseResult::kOk) continue;
      {
        std::lock_guard<std::mutex> lock(mu_);
        seen_[q.question.name]++;
      }
      std::vector<dns_message::Answer> answers;
      auto it = table_.find(q.question.name);
      if (it == table_.end()) {
        std::string r = dns_message::make_response(pkt, q, dns_message::kNxDomain, {});
        sendto(fd_.get(), r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
        continue;
      }
      for (const auto& a : it->second) {
        IpAddress ip;
        IpAddress::parse(a, &ip);
        if (!ip.v6 && q.question.qtype == dns_message::kTypeA)
          answers.push_back(
              {dns_message::kTypeA, 300, std::string(reinterpret_cast<char*>(ip.b), 4)});
        if (ip.v6 && q.question.qtype == dns_message::kTypeAaaa)
          answers.push_back(
              {dns_message::kTypeAaaa, 300, std::string(reinterpret_cast<char*>(ip.b), 16)});
      }
      std::string r = dns_message::make_response(pkt, q, dns_message::kNoError, answers);
      sendto(fd_.get(), r.data(), r.size(), 0, reinterpret_cast<sockaddr*>(&from), fl);
    }
  }
  std::map<std::string, std::vector<std::string>> table_;
  ScopedFd fd_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int> seen_;
};

// A temporary file, removed at the end of the test.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/agentsh-proxy-test.XXXXXX";
    ScopedFd fd(mkstemp(tmpl));
    path_ = tmpl;
    if (fd) [[maybe_unused]]
      ssize_t n = write(fd.get(), content.data(), content.size());
  }
  ~TempFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Everything one proxy test needs: a private network namespace, a fake DNS upstream
// (127.0.0.53), resolv.conf / hosts files, a fake decider, the audit log, the proxy.
struct Lab {
  ScopedNetns ns;
  AuditLog audit;
  std::unique_ptr<FakeDnsServer> dns;
  std::unique_ptr<TempFile> resolv, hosts;
  std::unique_ptr<FakeDecider> decider;
  std::unique_ptr<Proxy> proxy;
  std::string error;

  bool start(std::vector<FakeRule> rules, std::map<std::string, std::vector<std::string>> names,
             const std::function<void(Proxy::Options&)>& tweak = {},
             const std::string& hosts_text = "127.0.0.1 localhost\n") {
    if (!ns.ok()) {
      error = ns.error();
      return false;
    }
    dns = std::make_unique<FakeDnsServer>("127.0.0.53", std::move(names));
    resolv = std::make_unique<TempFile>("nameserver 127.0.0.53:" + std::to_string(dns->port()) +
                                        "\noptions timeout:1 attempts:1\n");
    hosts = std::make_unique<TempFile>(hosts_text);
    decider = std::make_unique<FakeDecider>(std::move(rules));
    Proxy::Options o;
    o.decider = decider.get();
    o.audit = audit.sink();
    o.session_id = "test-session";
    o.resolv_conf = resolv->path();
    o.hosts_file = hosts->path();
    if (tweak) tweak(o);
    proxy = Proxy::start(std::move(o), &error);
    return proxy != nullptr;
  }
  uint16_t port() const { return proxy->http_port(); }
  ScopedFd client() { return dial("127.0.0.1", proxy->http_port()); }
};

#define PROXY_LAB_START(lab, ...)                                         \
  do {                                                                    \
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespace)"; \
    ASSERT_TRUE((lab).start(__VA_ARGS__)) << (lab).error;                 \
  } while (0)

}  // namespace agentsh::proxy::testing
