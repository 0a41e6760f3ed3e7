// Added latency of the LLM interceptor per request, upstream time excluded (loopback
// only). One keep-alive TLS client talks straight to a fake provider; another goes
// through the proxy (CONNECT, decrypted with our CA, DLP on the request and on the
// response, record parsed, re-encrypted to the same fake provider). Each iteration makes
// one request on each (alternating, so both see the same machine load); the fake
// provider answers at once, so the difference of the medians is what agentsh adds.
//   BM_LlmAddedLatency/json    chat.completions, JSON answer (buffered + redacted)
//   BM_LlmAddedLatency/sse     streamed answer (8 events, redacted per event)
// Counters: direct_p50_us, proxied_p50_us, added_p50_us (target < 2,000 µs).
//   BM_LlmResponseRedaction/{json,sse}: response redaction throughput alone (below).
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/scoped_fd.h"
#include "proxy/ca_store.h"
#include "proxy/dlp_options.h"
#include "proxy/dlp_scanner.h"
#include "proxy/llm_exchange.h"
#include "proxy/llm_provider.h"
#include "proxy/net_decider.h"
#include "proxy/proxy.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_client_session.h"
#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_server_context.h"
#include "proxy/tls_server_session.h"

namespace agentsh::proxy {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kHost = "bench-llm.test";

class AllowAll : public NetDecider {
 public:
  NetDecision decide(std::string_view, std::string_view, uint16_t) override {
    NetDecision d;
    d.effect = NetEffect::kAllow;
    d.decision = "allow";
    d.rule = "bench";
    d.matched = true;
    return d;
  }
};

bool send_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = send(fd, s.data(), s.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    s.remove_prefix(size_t(n));
  }
  return true;
}

// Bytes of a complete HTTP message (head + Content-Length body, or chunked up to the
// last chunk) at the start of `buf`; 0 if incomplete.
size_t complete_message(const std::string& buf) {
  size_t he = buf.find("\r\n\r\n");
  if (he == std::string::npos) return 0;
  std::string head = buf.substr(0, he);
  for (auto& c : head) c = char(tolower(c));
  size_t cl = head.find("content-length:");
  if (cl != std::string::npos) {
    size_t need = he + 4 + std::stoul(head.substr(cl + 15));
    return buf.size() >= need ? need : 0;
  }
  if (head.find("chunked") != std::string::npos) {
    size_t end = buf.find("\r\n0\r\n\r\n", he);
    return end == std::string::npos ? 0 : end + 7;
  }
  return he + 4;
}

const std::string& json_answer() {
  static const std::string b =
      R"({"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Here is the refactored function. It keeps the behaviour and removes the duplicated branch; run the tests to confirm."},"finish_reason":"stop"}],"usage":{"prompt_tokens":412,"completion_tokens":38,"total_tokens":450}})";
  return b;
}

std::string sse_answer() {
  std::string s;
  for (int i = 0; i < 7; ++i)
    s +=
        R"(data: {"id":"c","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":"part )" +
        std::to_string(i) + R"( of the answer "},"finish_reason":null}]})" + "\n\n";
  s += R"(data: {"id":"c","choices":[],"usage":{"prompt_tokens":412,"completion_tokens":38}})"
       "\n\ndata: [DONE]\n\n";
  return s;
}

// The fake provider: TLS, keep-alive, answers every request at once.
class FakeUpstream {
 public:
  explicit FakeUpstream(const fs::path& dir) {
    std::string err;
    ca_ = CaStore::open(dir, &err);
    if (ca_) leaves_ = TlsLeafCache::create(*ca_, 4, &err);
    if (leaves_) ctx_ = TlsServerContext::create(*leaves_, &err);
    if (!ctx_) fprintf(stderr, "fake upstream: %s\n", err.c_str());
    lfd_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(lfd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    bind(lfd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(lfd_.get(), 64);
    socklen_t len = sizeof a;
    getsockname(lfd_.get(), reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { accept_loop(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    shutdown(lfd_.get(), SHUT_RDWR);
    thread_.join();
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : fds_) shutdown(fd, SHUT_RDWR);
    for (auto& t : workers_) t.join();
  }
  uint16_t port() const { return port_; }
  std::string ca_file() const { return ca_->cert_path(); }

 private:
  void accept_loop() {
    while (!stop_) {
      int c = accept4(lfd_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      int one = 1;
      setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard<std::mutex> lock(mu_);
      fds_.push_back(c);
      workers_.emplace_back([this, c] {
        serve(c);
        close(c);  // the worker owns c; shutdown() by the destructor only wakes it
      });
    }
  }
  void serve(int fd) {
    std::string err;
    auto tls = TlsServerSession::create(*ctx_, kHost, &err);
    if (!tls) return;
    std::string plain;
    char buf[16384];
    while (!stop_) {
      if (size_t n = complete_message(plain)) {
        const bool stream = plain.find("\"stream\":true") != std::string::npos;
        plain.erase(0, n);
        std::string resp;
        if (stream) {
          std::string s = sse_answer();
          char hex[16];
          snprintf(hex, sizeof hex, "%zx", s.size());
          resp =
              "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
              "chunked\r\n\r\n" +
              std::string(hex) + "\r\n" + s + "\r\n0\r\n\r\n";
        } else {
          resp = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                 std::to_string(json_answer().size()) + "\r\n\r\n" + json_answer();
        }
        if (tls->write(resp) != TlsSession::Result::kOk || !send_all(fd, tls->take_outgoing()))
          return;
        continue;
      }
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      tls->feed(buf, size_t(n));
      auto r = tls->read(&plain);
      if (!send_all(fd, tls->take_outgoing())) return;
      if (r == TlsSession::Result::kError || r == TlsSession::Result::kClosed) return;
    }
  }

  std::unique_ptr<CaStore> ca_;
  std::unique_ptr<TlsLeafCache> leaves_;
  std::unique_ptr<TlsServerContext> ctx_;
  ScopedFd lfd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> workers_;
};

// A blocking keep-alive HTTPS client (our TLS sessions over a plain socket).
class Client {
 public:
  // `proxy_port` 0: straight to 127.0.0.1:port. Else CONNECT host:port through the proxy.
  Client(uint16_t port, uint16_t proxy_port, const std::string& trust) {
    std::string err;
    ctx_ = TlsClientContext::create(&err, trust);
    fd_.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{10, 0};
    setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    a.sin_port = htons(proxy_port ? proxy_port : port);
    if (!ctx_ || connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    if (proxy_port) {
      const std::string target = std::string(kHost) + ":" + std::to_string(port);
      send_all(fd_.get(), "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n\r\n");
      std::string head;
      char c;
      while (head.find("\r\n\r\n") == std::string::npos && read(fd_.get(), &c, 1) == 1)
        head.push_back(c);
      if (head.compare(0, 12, "HTTP/1.1 200") != 0) {
        fprintf(stderr, "CONNECT refused: %s\n", head.c_str());
        return;
      }
    }
    tls_ = TlsClientSession::create(*ctx_, kHost, port, &err);
    if (!tls_) return;
    // Handshake.
    std::string sink;
    while (!tls_->handshake_done()) {
      auto r = tls_->handshake();
      if (!send_all(fd_.get(), tls_->take_outgoing())) return;
      if (r == TlsSession::Result::kError) {
        fprintf(stderr, "handshake: %s\n", tls_->error().c_str());
        return;
      }
      if (tls_->handshake_done()) break;
      char buf[16384];
      ssize_t n = read(fd_.get(), buf, sizeof buf);
      if (n <= 0) return;
      tls_->feed(buf, size_t(n));
    }
    ok_ = true;
  }
  bool ok() const { return ok_; }

  // One request, whole response read. False on any failure.
  bool request(const std::string& req) {
    if (tls_->write(req) != TlsSession::Result::kOk || !send_all(fd_.get(), tls_->take_outgoing()))
      return false;
    while (true) {
      if (size_t n = complete_message(plain_)) {
        last_ = plain_.substr(0, n);
        plain_.erase(0, n);
        return last_.compare(0, 12, "HTTP/1.1 200") == 0;
      }
      char buf[16384];
      ssize_t n = read(fd_.get(), buf, sizeof buf);
      if (n <= 0) return false;
      tls_->feed(buf, size_t(n));
      auto r = tls_->read(&plain_);
      if (!tls_->outgoing().empty()) send_all(fd_.get(), tls_->take_outgoing());
      if (r == TlsSession::Result::kError || r == TlsSession::Result::kClosed) return false;
    }
  }
  const std::string& last() const { return last_; }

 private:
  std::unique_ptr<TlsClientContext> ctx_;
  ScopedFd fd_;
  std::unique_ptr<TlsClientSession> tls_;
  std::string plain_, last_;
  bool ok_ = false;
};

struct LlmRig {
  fs::path dir = fs::path("/tmp") / ("agentsh-llm-bench-" + std::to_string(getpid()));
  AllowAll decider;
  std::unique_ptr<FakeUpstream> upstream;
  std::unique_ptr<Proxy> proxy;
  std::atomic<uint64_t> records{0};
  LlmRig() {
    fs::create_directories(dir);
    upstream = std::make_unique<FakeUpstream>(dir / "upstream-ca");
    std::ofstream(dir / "hosts") << "127.0.0.1 " << kHost << "\n";
    std::ofstream(dir / "resolv.conf") << "nameserver 127.0.0.1:1\n";  // hosts answers
    std::string err;
    Proxy::Options o;
    o.decider = &decider;
    o.hosts_file = (dir / "hosts").string();
    o.resolv_conf = (dir / "resolv.conf").string();
    o.llm.providers = {
        {"openai", "https://" + std::string(kHost) + ":" + std::to_string(upstream->port())}};
    o.llm.ca_dir = (dir / "ca").string();
    o.llm.upstream_ca_file = upstream->ca_file();
    o.llm.dlp = DlpScanner::create(DlpOptions{}, &err);  // default detectors, as shipped
    o.llm.on_record = [this](const LlmRecord&) { records++; };
    proxy = Proxy::start(std::move(o), &err);
    if (!proxy) fprintf(stderr, "proxy: %s\n", err.c_str());
  }
  ~LlmRig() {
    proxy.reset();
    upstream.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

std::string chat_request(bool stream) {
  std::string body =
      R"({"model":"gpt-4o",)" + std::string(stream ? R"("stream":true,)" : "") +
      R"("messages":[{"role":"system","content":"You are a careful coding assistant. Answer with code and a short explanation."},)";
  for (int i = 0; i < 6; ++i)
    body +=
        R"({"role":"user","content":"Step )" + std::to_string(i) +
        R"(: here is the function and the failing test output; the config file sets timeout=30 and retries=3, the log says connection reset by peer at line 42."},)";
  body += R"({"role":"user","content":"Please refactor it."}],"max_tokens":1024})";
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: " + std::string(kHost) +
         "\r\nAuthorization: Bearer sk-bench\r\nContent-Type: "
         "application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
  return v[v.size() / 2];
}

void BM_LlmAddedLatency(benchmark::State& state) {
  const bool stream = state.range(0) == 1;
  LlmRig rig;
  if (!rig.proxy) {
    state.SkipWithError("proxy did not start");
    return;
  }
  Client direct(rig.upstream->port(), 0, rig.upstream->ca_file());
  Client proxied(rig.upstream->port(), rig.proxy->http_port(),
                 (rig.dir / "ca" / "ca.pem").string());
  if (!direct.ok() || !proxied.ok()) {
    state.SkipWithError("client could not connect");
    return;
  }
  const std::string req = chat_request(stream);
  for (int i = 0; i < 20; ++i) {  // warm up: caches, allocator, branch predictors
    if (!direct.request(req) || !proxied.request(req)) {
      state.SkipWithError(("warm-up request failed: " + proxied.last()).c_str());
      return;
    }
  }
  std::vector<double> d, p;
  for (auto _ : state) {
    auto t0 = Clock::now();
    bool ok1 = direct.request(req);
    auto t1 = Clock::now();
    bool ok2 = proxied.request(req);
    auto t2 = Clock::now();
    if (!ok1 || !ok2) {
      state.SkipWithError("request failed");
      return;
    }
    d.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    p.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  const double dm = median(d), pm = median(p);
  state.counters["direct_p50_us"] = dm;
  state.counters["proxied_p50_us"] = pm;
  state.counters["added_p50_us"] = pm - dm;
  state.counters["records"] = double(rig.records.load());
  state.SetLabel(stream ? "sse" : "json");
}
BENCHMARK(BM_LlmAddedLatency)->Arg(0)->Arg(1)->Iterations(2000)->Unit(benchmark::kMicrosecond);

// Throughput of response redaction alone (no sockets, no TLS): ~16 MB of realistic
// responses through LlmExchange (parser → rewriter → accumulator), in 16 KiB reads as
// the interceptor delivers them; bytes_per_second of one core.
//   /0: one big JSON answer   /1: an SSE stream of ~200-byte chat chunks
void BM_LlmResponseRedaction(benchmark::State& state) {
  const bool sse = state.range(0) == 1;
  std::string err;
  auto scanner = DlpScanner::create(DlpOptions{}, &err);
  const std::map<std::string, std::string> providers = {{"openai", "https://api.openai.com"}};
  const auto route =
      llm_provider::match(providers, "api.openai.com", 443, true, "/v1/chat/completions");
  std::string body;
  if (sse) {
    for (int i = 0; body.size() < (16u << 20); ++i)
      body +=
          R"(data: {"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4o","choices":[{"index":0,"delta":{"content":" token )" +
          std::to_string(i) + (i % 5000 == 0 ? " AKIAIOSFODNN7EXAMPLE" : "") +
          R"("},"finish_reason":null}]})" + "\n\n";
  } else {
    std::string text;
    for (int i = 0; text.size() < (16u << 20); ++i)
      text += "Line " + std::to_string(i) + ": the build failed at step " + std::to_string(i % 97) +
              (i % 20000 == 0 ? " mail ops@example.com" : "") + "\\n";
    body =
        R"({"id":"c","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":")" +
        text + R"("}}],"usage":{"prompt_tokens":1,"completion_tokens":2}})";
  }
  const std::string wire = std::string("HTTP/1.1 200 OK\r\nContent-Type: ") +
                           (sse ? "text/event-stream" : "application/json") +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  size_t out_bytes = 0;
  for (auto _ : state) {
    LlmExchange ex({*route, "POST", "/v1/chat/completions", "{}", 0}, scanner.get());
    for (size_t i = 0; i < wire.size(); i += 16384) {
      ex.on_response_bytes(std::string_view(wire).substr(i, 16384), 1);
      out_bytes += ex.take_agent_bytes().size();
    }
    LlmRecord rec = ex.finish(2);
    if (!rec.complete || rec.response_redactions.empty()) {
      state.SkipWithError("response not complete or nothing redacted");
      return;
    }
    benchmark::DoNotOptimize(out_bytes);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(wire.size()));
  state.SetLabel(sse ? "sse" : "json");
}
BENCHMARK(BM_LlmResponseRedaction)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace agentsh::proxy
