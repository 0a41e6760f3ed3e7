// The interception pieces over real loopback sockets:
//  * curl and Python (OpenSSL) trust our per-install CA through the bundle and the
//    environment variables CaStore hands out, talk to a TlsServerSession, and the
//    LLM exchange seen through it is parsed and redacted;
//  * our TlsClientSession and TlsServerSession driven by one epoll loop on
//    non-blocking sockets (the proxy's model), with session resumption on reconnect.
// Only 127.0.0.1 is used; curl is pinned to it with --resolve.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/scoped_fd.h"
#include "proxy/ca_store.h"
#include "proxy/dlp_scanner.h"
#include "proxy/llm_exchange.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_client_session.h"
#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_server_context.h"
#include "proxy/tls_server_session.h"

namespace agentsh::proxy {
namespace {

namespace fs = std::filesystem;

ScopedFd listen_loopback(uint16_t* port) {
  ScopedFd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(listen(fd.get(), 8), 0);
  socklen_t len = sizeof a;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      usleep(1000);
      continue;
    }
    if (n <= 0) return false;
    data.remove_prefix(size_t(n));
  }
  return true;
}

// Runs a command, returns its stdout; *status gets the exit status.
std::string run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string sse_fixture() {
  return "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
         "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":"
         "null}\n\n"
         "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
         "\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
         "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":"
         "{\"prompt_tokens\":31,\"completion_tokens\":2,\"total_tokens\":33}}\n\n"
         "data: [DONE]\n\n";
}

std::string chunk(const std::string& s) {
  char hex[16];
  snprintf(hex, sizeof hex, "%zx", s.size());
  return std::string(hex) + "\r\n" + s + "\r\n";
}

class LlmTlsProxyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path("/tmp") / ("agentsh-llm-int-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    std::string err;
    ca_ = CaStore::open(dir_ / "ca", &err);
    ASSERT_NE(ca_, nullptr) << err;
    leaves_ = TlsLeafCache::create(*ca_, 32, &err);
    ASSERT_NE(leaves_, nullptr) << err;
    server_ctx_ = TlsServerContext::create(*leaves_, &err);
    ASSERT_NE(server_ctx_, nullptr) << err;
    scanner_ = DlpScanner::create(DlpOptions{}, &err);
    ASSERT_NE(scanner_, nullptr) << err;
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Serves one intercepted HTTPS connection on `listener` as the proxy would for an
  // LLM provider: TLS with a leaf for the SNI, the request through LlmExchange, the
  // recorded upstream response streamed back (and fed to the exchange as it goes).
  void serve_one(int listener, LlmRecord* record, std::string* forwarded) {
    ScopedFd c(accept4(listener, nullptr, nullptr, SOCK_CLOEXEC));
    ASSERT_TRUE(c.valid());
    std::string err;
    auto tls = TlsServerSession::create(*server_ctx_, "api.openai.com", &err);
    ASSERT_NE(tls, nullptr) << err;
    std::string plain;
    size_t head_end = std::string::npos, need = 0;
    char buf[16384];
    while (head_end == std::string::npos || plain.size() < head_end + 4 + need) {
      ssize_t n = read(c.get(), buf, sizeof buf);
      if (n <= 0) {
        ADD_FAILURE() << "client went away; tls: " << tls->error();
        return;
      }
      tls->feed(buf, size_t(n));
      auto r = tls->read(&plain);
      ASSERT_TRUE(write_all(c.get(), tls->take_outgoing()));
      ASSERT_NE(r, TlsSession::Result::kError) << tls->error();
      if (head_end == std::string::npos &&
          (head_end = plain.find("\r\n\r\n")) != std::string::npos) {
        std::string head = plain.substr(0, head_end);
        for (auto& ch : head) ch = char(tolower(ch));
        size_t cl = head.find("content-length:");
        need = cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 15));
      }
    }
    std::string request_line = plain.substr(0, plain.find("\r\n"));
    std::string path = request_line.substr(5, request_line.rfind(' ') - 5);
    std::map<std::string, std::string> providers = {{"openai", "https://api.openai.com"}};
    auto route = llm_provider::match(providers, tls->sni(), 443, true, path);
    ASSERT_TRUE(route.has_value()) << tls->sni() << " " << path;
    LlmExchange ex({*route, "POST", path, plain.substr(head_end + 4, need), 1000}, scanner_.get());
    *forwarded = ex.forward_body();
    // "Upstream" answers in pieces; each goes to the agent and to the exchange.
    std::vector<std::string> pieces = {
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"};
    std::string body = sse_fixture();
    for (size_t i = 0; i < body.size(); i += 40) pieces.push_back(chunk(body.substr(i, 40)));
    pieces.push_back("0\r\n\r\n");
    int64_t now = 2000;
    for (const auto& p : pieces) {
      ex.on_response_bytes(p, now += 1000);
      ASSERT_EQ(tls->write(p), TlsSession::Result::kOk);
      ASSERT_TRUE(write_all(c.get(), tls->take_outgoing()));
    }
    EXPECT_TRUE(ex.response_done());
    *record = ex.finish(now);
    tls->close();
    write_all(c.get(), tls->take_outgoing());
  }

  fs::path dir_;
  std::unique_ptr<CaStore> ca_;
  std::unique_ptr<TlsLeafCache> leaves_;
  std::unique_ptr<TlsServerContext> server_ctx_;
  std::unique_ptr<DlpScanner> scanner_;
};

TEST_F(LlmTlsProxyTest, CurlTrustsTheBundleAndTheExchangeIsRecorded) {
  int st = 0;
  run("command -v curl", &st);
  if (st != 0) GTEST_SKIP() << "curl not installed";
  uint16_t port = 0;
  ScopedFd listener = listen_loopback(&port);
  LlmRecord record;
  std::string forwarded;
  std::thread server([&] { serve_one(listener.get(), &record, &forwarded); });
  std::string body = R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},)"
                     R"("messages":[{"role":"user","content":"my key is AKIAIOSFODNN7EXAMPLE"}]})";
  auto env = ca_->env_vars();
  // Trust comes only from the environment CaStore hands out (no --cacert).
  std::string cmd = "CURL_CA_BUNDLE=" + env["CURL_CA_BUNDLE"] +
                    " curl -sS -N --max-time 20 --resolve api.openai.com:" + std::to_string(port) +
                    ":127.0.0.1 https://api.openai.com:" + std::to_string(port) +
                    "/v1/chat/completions -H 'Content-Type: application/json' --data-binary '" +
                    body + "' 2>&1";
  std::string out = run(cmd, &st);
  server.join();
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, sse_fixture());
  // What went upstream: valid JSON, key redacted.
  auto fwd = nlohmann::json::parse(forwarded);
  EXPECT_EQ(fwd["messages"][0]["content"], "my key is [REDACTED:AWS_KEY]");
  EXPECT_EQ(record.provider, "openai");
  EXPECT_EQ(record.endpoint, "chat.completions");
  EXPECT_EQ(record.model, "gpt-4o");
  EXPECT_TRUE(record.stream);
  EXPECT_EQ(record.input_tokens, 31);
  EXPECT_EQ(record.output_tokens, 2);
  EXPECT_EQ(record.stop_reason, "stop");
  EXPECT_TRUE(record.complete);
  EXPECT_EQ(record.redactions["aws_access_key"], 1);
  EXPECT_EQ(record.prompt_excerpt, "my key is [REDACTED:AWS_KEY]");
}

TEST_F(LlmTlsProxyTest, CurlWithoutOurCaRefusesTheConnection) {
  int st = 0;
  run("command -v curl", &st);
  if (st != 0) GTEST_SKIP() << "curl not installed";
  uint16_t port = 0;
  ScopedFd listener = listen_loopback(&port);
  std::thread server([&] {
    ScopedFd c(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    std::string err;
    auto tls = TlsServerSession::create(*server_ctx_, "api.openai.com", &err);
    char buf[16384];
    for (;;) {
      ssize_t n = read(c.get(), buf, sizeof buf);
      if (n <= 0) break;
      tls->feed(buf, size_t(n));
      auto r = tls->handshake();
      write_all(c.get(), tls->take_outgoing());
      if (r == TlsSession::Result::kError) break;
    }
  });
  std::string out =
      run("curl -sS --max-time 20 --cacert /etc/ssl/certs/ca-certificates.crt "
          "--resolve api.openai.com:" +
              std::to_string(port) + ":127.0.0.1 https://api.openai.com:" + std::to_string(port) +
              "/ 2>&1",
          &st);
  server.join();
  EXPECT_EQ(st, 60) << out;  // CURLE_PEER_FAILED_VERIFICATION
}

TEST_F(LlmTlsProxyTest, PythonTrustsSslCertFile) {
  int st = 0;
  run("command -v python3", &st);
  if (st != 0) GTEST_SKIP() << "python3 not installed";
  uint16_t port = 0;
  ScopedFd listener = listen_loopback(&port);
  LlmRecord record;
  std::string forwarded;
  std::thread server([&] { serve_one(listener.get(), &record, &forwarded); });
  // Python's ssl (OpenSSL) reads SSL_CERT_FILE; the name check uses the SNI host,
  // which is mapped to 127.0.0.1 by connecting the socket ourselves.
  std::string py =
      "import socket, ssl, sys\n"
      "ctx = ssl.create_default_context()\n"
      "s = socket.create_connection(('127.0.0.1', " +
      std::to_string(port) +
      "))\n"
      "t = ctx.wrap_socket(s, server_hostname='api.openai.com')\n"
      "b = b'{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}'\n"
      "t.sendall(b'POST /v1/chat/completions HTTP/1.1\\r\\nHost: api.openai.com\\r\\n'"
      " + b'Content-Length: ' + str(len(b)).encode() + b'\\r\\n\\r\\n' + b)\n"
      "data = b''\n"
      "while True:\n"
      "    try:\n"
      "        chunk = t.recv(65536)\n"
      "    except ssl.SSLZeroReturnError:\n"
      "        break\n"
      "    if not chunk: break\n"
      "    data += chunk\n"
      "sys.stdout.write(t.version() + ' ' + str(b'[DONE]' in data))\n";
  std::string script = (dir_ / "client.py").string();
  FILE* f = fopen(script.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs(py.c_str(), f);
  fclose(f);
  std::string out = run(
      "SSL_CERT_FILE=" + ca_->env_vars()["SSL_CERT_FILE"] + " python3 " + script + " 2>&1", &st);
  server.join();
  EXPECT_EQ(st, 0) << out;
  EXPECT_EQ(out, "TLSv1.2 True");
  EXPECT_EQ(record.input_tokens, 31);
  EXPECT_EQ(record.prompt_excerpt, "hello");
}

TEST_F(LlmTlsProxyTest, OpensslStrictModeAcceptsOurChain) {
  int st = 0;
  run("command -v openssl", &st);
  if (st != 0) GTEST_SKIP() << "openssl not installed";
  std::string err;
  auto leaf = leaves_->get("api.openai.com", &err);
  ASSERT_NE(leaf, nullptr) << err;
  // DER → PEM through openssl itself.
  std::string der_path = (dir_ / "leaf.der").string();
  FILE* f = fopen(der_path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  fwrite(leaf->chain->raw.p, 1, leaf->chain->raw.len, f);
  fclose(f);
  std::string pem_path = (dir_ / "leaf.pem").string();
  run("openssl x509 -inform DER -in " + der_path + " -out " + pem_path + " 2>&1", &st);
  ASSERT_EQ(st, 0);
  // What Python 3.13's default context (VERIFY_X509_STRICT) and browsers check.
  std::string out =
      run("openssl verify -x509_strict -purpose sslserver -verify_hostname "
          "api.openai.com -CAfile " +
              ca_->cert_path() + " " + pem_path + " 2>&1",
          &st);
  EXPECT_EQ(st, 0) << out;
  out = run("openssl verify -x509_strict -verify_hostname evil.example -CAfile " +
                ca_->cert_path() + " " + pem_path + " 2>&1",
            &st);
  EXPECT_NE(st, 0) << out;
}

// One epoll loop, non-blocking sockets, both session types: the proxy's I/O model.
struct Conn {
  ScopedFd fd;
  TlsSession* tls = nullptr;
  std::string plain;
};

void set_nonblocking(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// Flushes what the session wants to send; true if everything went out.
bool flush(Conn& c) {
  while (!c.tls->outgoing().empty()) {
    ssize_t n = write(c.fd.get(), c.tls->outgoing().data(), c.tls->outgoing().size());
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n <= 0) return false;
    c.tls->consume_outgoing(size_t(n));
  }
  return true;
}

// Runs until `done()` or a timeout of iterations; returns false on a TLS error.
template <typename Done>
bool epoll_loop(Conn& a, Conn& b, Done done) {
  ScopedFd ep(epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
  ev.data.ptr = &a;
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, a.fd.get(), &ev);
  ev.data.ptr = &b;
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, b.fd.get(), &ev);
  for (Conn* c : {&a, &b}) {
    c->tls->handshake();  // the client's first flight
    flush(*c);
  }
  for (int spins = 0; spins < 10000 && !done(); ++spins) {
    epoll_event events[4];
    int n = epoll_wait(ep.get(), events, 4, 1000);
    for (int i = 0; i < n; ++i) {
      Conn& c = *static_cast<Conn*>(events[i].data.ptr);
      if (events[i].events & EPOLLIN) {
        char buf[16384];
        for (;;) {
          ssize_t r = read(c.fd.get(), buf, sizeof buf);
          if (r > 0) {
            c.tls->feed(buf, size_t(r));
            continue;
          }
          if (r == 0) c.tls->feed_eof();
          break;
        }
        if (c.tls->read(&c.plain) == TlsSession::Result::kError) return false;
      }
      flush(c);
    }
  }
  return done();
}

TEST_F(LlmTlsProxyTest, ClientAndServerSessionsOnOneEpollLoopWithResumption) {
  std::string err;
  auto cctx = TlsClientContext::create(&err, ca_->cert_path());
  ASSERT_NE(cctx, nullptr) << err;
  uint16_t port = 0;
  ScopedFd listener = listen_loopback(&port);
  for (int round = 0; round < 2; ++round) {
    Conn client, server;
    client.fd.reset(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(client.fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    server.fd.reset(accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
    set_nonblocking(client.fd.get());
    set_nonblocking(server.fd.get());
    auto ctls = TlsClientSession::create(*cctx, "api.anthropic.com", port, &err);
    auto stls = TlsServerSession::create(*server_ctx_, "api.anthropic.com", &err);
    ASSERT_TRUE(ctls && stls) << err;
    client.tls = ctls.get();
    server.tls = stls.get();
    ASSERT_TRUE(epoll_loop(client, server,
                           [&] { return ctls->handshake_done() && stls->handshake_done(); }))
        << ctls->error() << stls->error();
    EXPECT_EQ(ctls->resumed(), round == 1) << round;
    // A request one way, a 256 KiB response the other.
    ASSERT_EQ(ctls->write("POST /v1/messages HTTP/1.1\r\n\r\n"), TlsSession::Result::kOk);
    std::string big(256 << 10, 'r');
    ASSERT_TRUE(epoll_loop(client, server, [&] { return server.plain.size() >= 30; }));
    ASSERT_EQ(stls->write(big), TlsSession::Result::kOk);
    ASSERT_TRUE(epoll_loop(client, server, [&] { return client.plain.size() >= big.size(); }));
    EXPECT_EQ(client.plain, big);
  }
}

}  // namespace
}  // namespace agentsh::proxy
