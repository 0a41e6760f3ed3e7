// LLM traffic audit through the real Proxy: curl talks HTTPS to "api.openai.com" and
// "api.anthropic.com" via CONNECT; the proxy decrypts (leaf from its own CA, trusted by
// curl through --cacert), redacts, forwards to a fake provider served over TLS with a
// separate test CA on 127.0.0.1:443, relays the response and records one LlmRecord per
// request. Everything runs in a private network namespace (proxy_support.h): provider
// names resolve to 127.0.0.1 through the proxy's hosts file; nothing leaves the box.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>
#include <zlib.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "proxy/ca_store.h"
#include "proxy/dlp_options.h"
#include "proxy/dlp_scanner.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_client_session.h"
#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_server_context.h"
#include "proxy/tls_server_session.h"
#include "proxy/transparent_protocol.h"
#include "tests/integration/proxy_support.h"

namespace agentsh::proxy::testing {
namespace {

namespace fs = std::filesystem;

std::string run_cmd(const std::string& cmd, int* status) {
  std::string out;
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = pclose(f);
  *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return out;
}

std::string chunk(const std::string& s) {
  char hex[16];
  snprintf(hex, sizeof hex, "%zx", s.size());
  return std::string(hex) + "\r\n" + s + "\r\n";
}

const char* kOpenAiJson =
    R"({"id":"chatcmpl-9","object":"chat.completion","model":"gpt-4o-2024-08-06","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":17,"completion_tokens":3,"total_tokens":20}})";

std::string openai_sse() {
  return "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
         "\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
         "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"
         "\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
         "data: {\"id\":\"c1\",\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":"
         "{\"prompt_tokens\":31,\"completion_tokens\":2,\"total_tokens\":33}}\n\n"
         "data: [DONE]\n\n";
}

std::string anthropic_sse() {
  return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\","
         "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-sonnet-4-5\","
         "\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":25,"
         "\"output_tokens\":1}}}\n\n"
         "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,"
         "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
         "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,"
         "\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
         "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
         "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
         "\"end_turn\"},\"usage\":{\"output_tokens\":12}}\n\n"
         "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
}

const char* kLeakJson =
    R"({"id":"chatcmpl-L","object":"chat.completion","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"use AKIAIOSFODNN7EXAMPLE"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}})";
const char* kLeakSse =
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":"
    "{\"content\":\"key AKIAIOSFODNN7EXAMPLE\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c2\",\"model\":\"gpt-4o\",\"choices\":[],\"usage\":"
    "{\"prompt_tokens\":8,\"completion_tokens\":5,\"total_tokens\":13}}\n\n"
    "data: [DONE]\n\n";

std::string gzip_bytes(const std::string& in) {
  z_stream zs{};
  deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = uInt(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = uInt(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// A fake LLM provider over TLS (certificate from its own test CA, for any SNI).
// Keep-alive; answers by path and by the body's "model" / "stream".
class FakeProvider {
 public:
  explicit FakeProvider(const fs::path& dir) {
    std::string err;
    ca_ = CaStore::open(dir, &err);
    if (ca_) leaves_ = TlsLeafCache::create(*ca_, 8, &err);
    if (leaves_) ctx_ = TlsServerContext::create(*leaves_, &err);
    error_ = err;
    if (ctx_)
      server_ = std::make_unique<TcpServer>(
          "127.0.0.1", [this](int fd) { serve(fd); }, 443);
  }
  bool ok() const { return server_ && server_->ok(); }
  const std::string& error() const { return error_; }
  std::string ca_file() const { return ca_->cert_path(); }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  // "gated" streams send their first event, then wait for release() (bounded, longer
  // than the test client's 10 s receive timeout, so a buffering proxy fails the test).
  void release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }

 private:
  void serve(int fd) {
    std::string err;
    auto tls = TlsServerSession::create(*ctx_, "api.openai.com", &err);
    if (!tls) return;
    std::string plain;
    char buf[16384];
    while (true) {
      size_t head_end = plain.find("\r\n\r\n");
      size_t need = 0;
      if (head_end != std::string::npos) {
        std::string head = plain.substr(0, head_end);
        std::string lower = head;
        for (auto& ch : lower) ch = char(tolower(ch));
        size_t cl = lower.find("content-length:");
        need = cl == std::string::npos ? 0 : std::stoul(lower.substr(cl + 15));
        if (plain.size() >= head_end + 4 + need) {
          std::string body = plain.substr(head_end + 4, need);
          plain.erase(0, head_end + 4 + need);
          {
            std::lock_guard<std::mutex> lock(mu_);
            heads_.push_back(head);
            bodies_.push_back(body);
          }
          if (!respond(fd, *tls, head, body)) return;
          continue;
        }
      }
      ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) return;
      tls->feed(buf, size_t(n));
      auto r = tls->read(&plain);
      if (!send_all(fd, tls->take_outgoing())) return;
      if (r == TlsSession::Result::kError || r == TlsSession::Result::kClosed) return;
    }
  }
  static bool put(int fd, TlsSession& tls, const std::string& s) {
    return tls.write(s) == TlsSession::Result::kOk && send_all(fd, tls.take_outgoing());
  }
  // False: close the connection.
  bool respond(int fd, TlsSession& tls, const std::string& head, const std::string& body) {
    auto j = nlohmann::json::parse(body, nullptr, false);
    std::string model = j.is_object() ? j.value("model", "") : "";
    bool stream = j.is_object() && j.value("stream", false);
    bool anthropic = head.find(" /v1/messages ") != std::string::npos;
    if (model == "truncate-me") {
      put(fd, tls,
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n"
          "\r\n{\"id\":\"chatcmpl-t\",\"model\":\"gpt");
      tls.close();
      send_all(fd, tls.take_outgoing());
      return false;
    }
    if (model == "leak" && !stream) {
      // The model echoes a secret; the provider compresses although asked not to.
      std::string b = std::string(kLeakJson);
      std::string z = gzip_bytes(b);
      return put(fd, tls,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
                 "Content-Length: " +
                     std::to_string(z.size()) + "\r\n\r\n" + z);
    }
    if (model == "leak" && stream) {
      if (!put(fd, tls,
               "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
               "Transfer-Encoding: chunked\r\n\r\n"))
        return false;
      const std::string s = kLeakSse;
      for (size_t i = 0; i < s.size(); i += 7)  // the secret crosses many chunks
        if (!put(fd, tls, chunk(s.substr(i, 7)))) return false;
      return put(fd, tls, "0\r\n\r\n");
    }
    if (model == "big" && !stream) {
      // 4 MiB of content: more than every buffer on the way (backpressure both ways).
      std::string b =
          R"({"id":"chatcmpl-b","model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":")" +
          std::string(4u << 20, 'x') +
          R"("},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1048576}})";
      return put(fd, tls,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(b.size()) + "\r\n\r\n" + b);
    }
    if (!stream) {
      std::string b =
          anthropic
              ? R"({"id":"msg_2","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Hi"}],"stop_reason":"end_turn","usage":{"input_tokens":40,"output_tokens":7}})"
              : kOpenAiJson;
      return put(fd, tls,
                 "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(b.size()) + "\r\n\r\n" + b);
    }
    if (!put(fd, tls,
             "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
             "Transfer-Encoding: chunked\r\n\r\n"))
      return false;
    std::string s = anthropic ? anthropic_sse() : openai_sse();
    if (model == "gated") {
      const size_t first = s.find("\n\n") + 2;
      if (!put(fd, tls, chunk(s.substr(0, first)))) return false;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(20), [&] { return released_; });
      }
      s.erase(0, first);
    }
    for (size_t i = 0; i < s.size(); i += 50)
      if (!put(fd, tls, chunk(s.substr(i, 50)))) return false;
    return put(fd, tls, "0\r\n\r\n");
  }

  std::string error_;
  std::unique_ptr<CaStore> ca_;
  std::unique_ptr<TlsLeafCache> leaves_;
  std::unique_ptr<TlsServerContext> ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  std::vector<std::string> bodies_, heads_;
  std::unique_ptr<TcpServer> server_;  // last: stops (joins) before the rest goes
};

class LlmInterceptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespace)";
    int st = 0;
    run_cmd("command -v curl", &st);
    if (st != 0) GTEST_SKIP() << "needs curl";
    dir_ = fs::path("/tmp") / ("agentsh-llm-icpt-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // Starts the lab (network namespace first), then the fake provider inside it.
  void start(bool trust_provider = true, double requests_per_minute = 0) {
    const std::string hosts =
        "127.0.0.1 localhost api.openai.com api.anthropic.com other.example\n";
    ASSERT_TRUE(lab_.ns.ok()) << lab_.ns.error();
    provider_ = std::make_unique<FakeProvider>(dir_ / "provider-ca");
    ASSERT_TRUE(provider_->ok()) << provider_->error();
    std::string err;
    scanner_ = DlpScanner::create(DlpOptions{}, &err);
    ASSERT_NE(scanner_, nullptr) << err;
    const std::string up_ca = trust_provider ? provider_->ca_file() : CaStore::kSystemBundle;
    ASSERT_TRUE(lab_.start(
        {FakeRule{"allow-all", {"*"}, {}, {}, NetEffect::kAllow}}, {},
        [&](Proxy::Options& o) {
          o.llm.providers = {{"openai", "https://api.openai.com"},
                             {"anthropic", "https://api.anthropic.com"}};
          o.llm.ca_dir = (dir_ / "ca").string();
          o.llm.upstream_ca_file = up_ca;
          o.llm.dlp = scanner_;
          o.llm.rate_limits.requests_per_minute = requests_per_minute;
          o.llm.on_record = [this](const LlmRecord& r) {
            std::lock_guard<std::mutex> lock(mu_);
            records_.push_back(r);
          };
        },
        hosts))
        << lab_.error;
  }

  std::string curl(const std::string& url, const std::string& body, int* status,
                   const std::string& cacert = "", const std::string& extra = "") {
    const fs::path bf = dir_ / "body.json";
    { std::ofstream(bf) << body; }
    std::string ca = cacert.empty() ? (dir_ / "ca" / "ca.pem").string() : cacert;
    return run_cmd(
        "curl -sS -N --max-time 20 --proxy http://127.0.0.1:" + std::to_string(lab_.port()) +
            " --cacert " + ca + " -H 'Content-Type: application/json' -H 'Accept-Encoding: gzip' " +
            extra + " --data-binary @" + bf.string() + " " + url + " 2>&1",
        status);
  }

  std::vector<LlmRecord> records() {
    std::lock_guard<std::mutex> lock(mu_);
    return records_;
  }
  // The proxy records after relaying the last byte: wait (bounded) for the record.
  bool wait_records(size_t n) {
    return lab_.audit.wait_for([&](const AuditEvent&) { return records().size() >= n; }) ||
           records().size() >= n;
  }

  fs::path dir_;
  Lab lab_;
  std::unique_ptr<FakeProvider> provider_;
  std::shared_ptr<const DlpScanner> scanner_;
  std::mutex mu_;
  std::vector<LlmRecord> records_;
};

TEST_F(LlmInterceptTest, OpenAiPlainCompletionIsRecordedAndTheSecretNeverLeaves) {
  start();
  int st = 0;
  std::string out = curl(
      "https://api.openai.com/v1/chat/completions",
      R"({"model":"gpt-4o","messages":[{"role":"user","content":"my key is AKIAIOSFODNN7EXAMPLE ok"}]})",
      &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out, kOpenAiJson);
  ASSERT_TRUE(wait_records(1));
  auto bodies = provider_->bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << bodies[0];
  EXPECT_NE(bodies[0].find("[REDACTED:AWS_KEY]"), std::string::npos) << bodies[0];
  EXPECT_TRUE(nlohmann::json::parse(bodies[0], nullptr, false).is_object());
  // Accept-Encoding: identity (the agent's gzip dropped), Content-Length fixed.
  auto heads = provider_->heads();
  std::string lower = heads[0];
  for (auto& c : lower) c = char(tolower(c));
  EXPECT_NE(lower.find("accept-encoding: identity\r\n"), std::string::npos) << heads[0];
  EXPECT_EQ(lower.find("gzip"), std::string::npos) << heads[0];
  EXPECT_NE(lower.find("content-length: " + std::to_string(bodies[0].size())), std::string::npos);
  LlmRecord r = records()[0];
  EXPECT_EQ(r.provider, "openai");
  EXPECT_EQ(r.endpoint, "chat.completions");
  EXPECT_EQ(r.model, "gpt-4o");
  EXPECT_FALSE(r.stream);
  EXPECT_EQ(r.http_status, 200);
  EXPECT_EQ(r.input_tokens, 17);
  EXPECT_EQ(r.output_tokens, 3);
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.error, "");
  EXPECT_EQ(r.redactions["aws_access_key"] + r.redactions["AWS_KEY"] + r.redactions["aws_key"] +
                r.redactions["api_keys"],
            1)
      << r.to_json();
  EXPECT_EQ(r.prompt_excerpt.find("AKIA"), std::string::npos);
  EXPECT_EQ(lab_.audit.count([](const AuditEvent& e) { return e.type == "llm"; }), 1u);
}

TEST_F(LlmInterceptTest, SecretsInResponsesNeverReachTheAgent) {
  start();
  int st = 0;
  // Plain JSON, gzip-compressed by the provider although we asked for identity.
  std::string out = curl("https://api.openai.com/v1/chat/completions",
                         R"({"model":"leak","messages":[{"role":"user","content":"hi"}]})", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out.find("AKIAIOSFODNN7EXAMPLE"), std::string::npos) << out;
  auto j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << out;
  EXPECT_EQ(j["choices"][0]["message"]["content"], "use [REDACTED:AWS_KEY]");
  // Streamed: the key crosses seven upstream chunks inside one event.
  out = curl("https://api.openai.com/v1/chat/completions",
             R"({"model":"leak","stream":true,"messages":[{"role":"user","content":"hi"}]})", &st);
  ASSERT_EQ(st, 0) << out;
  std::string expect = kLeakSse;
  expect.replace(expect.find("AKIAIOSFODNN7EXAMPLE"), 20, "[REDACTED:AWS_KEY]");
  EXPECT_EQ(out, expect);
  ASSERT_TRUE(wait_records(2));
  auto recs = records();
  EXPECT_EQ(recs[0].input_tokens, 9);  // read from the decoded body
  EXPECT_EQ(recs[0].output_tokens, 4);
  EXPECT_EQ(recs[1].input_tokens, 8);
  EXPECT_EQ(recs[1].output_tokens, 5);
  for (const auto& r : recs) {
    EXPECT_TRUE(r.complete) << r.to_json();
    EXPECT_EQ(r.response_redactions.size(), 1u) << r.to_json();
    EXPECT_EQ(r.response_redactions.begin()->second, 1) << r.to_json();
    EXPECT_TRUE(r.redactions.empty());
  }
}

TEST_F(LlmInterceptTest, OpenAiStreamWithUsageIsRelayedAndCounted) {
  start();
  int st = 0;
  std::string out = curl(
      "https://api.openai.com/v1/chat/completions",
      R"({"model":"gpt-4o","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]})",
      &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out, openai_sse());
  ASSERT_TRUE(wait_records(1));
  LlmRecord r = records()[0];
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.input_tokens, 31);
  EXPECT_EQ(r.output_tokens, 2);
  EXPECT_TRUE(r.complete);
}

TEST_F(LlmInterceptTest, AnthropicPlainAndStreamOnOneKeepAliveConnection) {
  start();
  int st = 0;
  // Two URLs in one curl: the second request reuses the decrypted connection.
  std::string out = curl(
      "https://api.anthropic.com/v1/messages https://api.anthropic.com/v1/messages",
      R"({"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"hello"}]})",
      &st);
  ASSERT_EQ(st, 0) << out;
  ASSERT_TRUE(wait_records(2));
  for (const auto& r : records()) {
    EXPECT_EQ(r.provider, "anthropic");
    EXPECT_EQ(r.endpoint, "messages");
    EXPECT_EQ(r.input_tokens, 40);
    EXPECT_EQ(r.output_tokens, 7);
  }
  out = curl(
      "https://api.anthropic.com/v1/messages",
      R"({"model":"claude-sonnet-4-5","stream":true,"max_tokens":64,"messages":[{"role":"user","content":"hello"}]})",
      &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out, anthropic_sse());
  ASSERT_TRUE(wait_records(3));
  LlmRecord r = records()[2];
  EXPECT_TRUE(r.stream);
  EXPECT_EQ(r.input_tokens, 25);
  EXPECT_EQ(r.output_tokens, 12);
  EXPECT_EQ(r.stop_reason, "end_turn");
}

TEST_F(LlmInterceptTest, ChunkedRequestBodyIsDechunkedAndRedacted) {
  start();
  int st = 0;
  std::string out =
      curl("https://api.openai.com/v1/chat/completions",
           R"({"model":"gpt-4o","messages":[{"role":"user","content":"AKIAIOSFODNN7EXAMPLE"}]})",
           &st, "", "-H 'Transfer-Encoding: chunked'");
  ASSERT_EQ(st, 0) << out;
  auto bodies = provider_->bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_TRUE(nlohmann::json::parse(bodies[0], nullptr, false).is_object()) << bodies[0];
  EXPECT_EQ(bodies[0].find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
}

TEST_F(LlmInterceptTest, TruncatedUpstreamResponseIsRecordedAsAnError) {
  start();
  int st = 0;
  curl("https://api.openai.com/v1/chat/completions",
       R"({"model":"truncate-me","messages":[{"role":"user","content":"x"}]})", &st);
  EXPECT_NE(st, 0);  // curl sees the short body
  ASSERT_TRUE(wait_records(1));
  LlmRecord r = records()[0];
  EXPECT_FALSE(r.complete);
  EXPECT_NE(r.error, "");
  EXPECT_EQ(r.model, "truncate-me");
}

TEST_F(LlmInterceptTest, UntrustedUpstreamCertificateIsRefusedAndAudited) {
  start(/*trust_provider=*/false);
  int st = 0;
  std::string out = curl("https://api.openai.com/v1/chat/completions",
                         R"({"model":"gpt-4o","messages":[{"role":"user","content":"x"}]})", &st,
                         "", "-w '%{http_code}'");
  EXPECT_NE(out.find("502"), std::string::npos) << out;
  EXPECT_TRUE(provider_->bodies().empty());
  ASSERT_TRUE(
      lab_.audit.wait_for([](const AuditEvent& e) { return e.rule == "agentsh-upstream-tls"; }));
  for (const auto& e : lab_.audit.events()) {
    if (e.rule == "agentsh-upstream-tls") {
      EXPECT_NE(e.message.find("certificate"), std::string::npos) << e.message;
    }
  }
  ASSERT_TRUE(wait_records(1));
  EXPECT_EQ(records()[0].http_status, 502);
  EXPECT_NE(records()[0].error.find("api.openai.com"), std::string::npos);
}

TEST_F(LlmInterceptTest, NonProviderHostStaysAnOpaqueTunnel) {
  start();
  int st = 0;
  // Trusting only the provider's own CA: succeeds only if the proxy did NOT terminate TLS.
  std::string out =
      curl("https://other.example/v1/chat/completions",
           R"({"model":"gpt-4o","messages":[{"role":"user","content":"AKIAIOSFODNN7EXAMPLE"}]})",
           &st, provider_->ca_file());
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out, kOpenAiJson);
  auto bodies = provider_->bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_NE(bodies[0].find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);  // untouched
  EXPECT_TRUE(records().empty());
  // And curl with only our CA is refused by the real (fake provider) certificate.
  curl("https://other.example/v1/chat/completions", "{}", &st);
  EXPECT_NE(st, 0);
}

// The response is relayed as it arrives: the agent sees the first event while the
// provider is still holding back the rest (a buffering proxy would deliver nothing).
TEST_F(LlmInterceptTest, StreamIsRelayedBeforeTheProviderFinishes) {
  start();
  ScopedFd c = lab_.client();
  ASSERT_TRUE(c.valid());
  ASSERT_TRUE(send_all(c.get(), "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_NE(recv_until(c.get(), "\r\n\r\n").find(" 200 "), std::string::npos);
  std::string err;
  auto ctx = TlsClientContext::create(&err, (dir_ / "ca" / "ca.pem").string());
  ASSERT_NE(ctx, nullptr) << err;
  auto tls = TlsClientSession::create(*ctx, "api.openai.com", 443, &err);
  ASSERT_NE(tls, nullptr) << err;
  std::string plain;
  char buf[16384];
  auto pump = [&](const std::function<bool()>& until) {
    while (!until()) {
      if (!tls->handshake_done() && tls->handshake() == TlsSession::Result::kError) return false;
      if (!send_all(c.get(), tls->take_outgoing())) return false;
      if (until()) return true;
      ssize_t n = recv(c.get(), buf, sizeof buf, 0);  // SO_RCVTIMEO bounds a hang
      if (n <= 0) return false;
      tls->feed(buf, size_t(n));
      if (tls->read(&plain) == TlsSession::Result::kError) return false;
    }
    return send_all(c.get(), tls->take_outgoing());
  };
  ASSERT_TRUE(pump([&] { return tls->handshake_done(); })) << tls->error();
  const std::string body =
      R"({"model":"gated","stream":true,"stream_options":{"include_usage":true},"messages":[]})";
  ASSERT_EQ(tls->write("POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\n"
                       "Content-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body),
            TlsSession::Result::kOk);
  ASSERT_TRUE(pump([&] { return plain.find("\"Hi\"") != std::string::npos; })) << plain;
  EXPECT_TRUE(records().empty());  // still in flight
  provider_->release();
  ASSERT_TRUE(pump([&] { return plain.find("\r\n0\r\n\r\n") != std::string::npos; })) << plain;
  ASSERT_TRUE(wait_records(1));
  EXPECT_EQ(records()[0].input_tokens, 31);
  EXPECT_EQ(records()[0].output_tokens, 2);
  EXPECT_TRUE(records()[0].complete);
}

// Transparent mode (a connection the hook/tracer redirected): intercepted the same way,
// and the record's audit row carries the agent's pid.
TEST_F(LlmInterceptTest, TransparentConnectionToAProviderIsIntercepted) {
  start();
  ScopedFd c = lab_.client();
  ASSERT_TRUE(c.valid());
  IpAddress dst;
  ASSERT_TRUE(IpAddress::parse("127.0.0.1", &dst));
  uint8_t hdr[transparent_protocol::kHeaderSize];
  ASSERT_TRUE(transparent_protocol::encode(dst, 443, 4242, "api.openai.com", hdr));
  ASSERT_TRUE(send_all(c.get(), std::string_view(reinterpret_cast<char*>(hdr), sizeof hdr)));
  char status = 1;
  ASSERT_EQ(recv(c.get(), &status, 1, 0), 1);
  ASSERT_EQ(status, 0);
  std::string err;
  auto ctx = TlsClientContext::create(&err, (dir_ / "ca" / "ca.pem").string());
  ASSERT_NE(ctx, nullptr) << err;
  auto tls = TlsClientSession::create(*ctx, "api.openai.com", 443, &err);
  ASSERT_NE(tls, nullptr) << err;
  const std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})";
  const std::string req =
      "POST /v1/chat/completions HTTP/1.1\r\nHost: api.openai.com\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string plain;
  bool sent = false;
  char buf[16384];
  while (plain.find("total_tokens") == std::string::npos) {
    if (!tls->handshake_done()) {
      ASSERT_NE(tls->handshake(), TlsSession::Result::kError) << tls->error();
    }
    if (tls->handshake_done() && !sent) {
      ASSERT_EQ(tls->write(req), TlsSession::Result::kOk);
      sent = true;
    }
    ASSERT_TRUE(send_all(c.get(), tls->take_outgoing()));
    ssize_t n = recv(c.get(), buf, sizeof buf, 0);  // SO_RCVTIMEO bounds a hang
    ASSERT_GT(n, 0) << plain;
    tls->feed(buf, size_t(n));
    ASSERT_NE(tls->read(&plain), TlsSession::Result::kError) << tls->error();
  }
  EXPECT_NE(plain.find(kOpenAiJson), std::string::npos) << plain;
  ASSERT_TRUE(wait_records(1));
  EXPECT_EQ(records()[0].input_tokens, 17);
  EXPECT_EQ(lab_.audit.count([](const AuditEvent& e) { return e.type == "llm" && e.pid == 4242; }),
            1u);
}

TEST_F(LlmInterceptTest, LargeResponseIsRelayedWhole) {
  start();
  int st = 0;
  std::string out = curl("https://api.openai.com/v1/chat/completions",
                         R"({"model":"big","messages":[{"role":"user","content":"x"}]})", &st);
  ASSERT_EQ(st, 0) << out.substr(0, 200);
  EXPECT_NE(out.find(std::string(4u << 20, 'x')), std::string::npos);
  ASSERT_TRUE(wait_records(1));
  EXPECT_EQ(records()[0].response_bytes, out.size());
  EXPECT_EQ(records()[0].output_tokens, 1048576);
  EXPECT_TRUE(records()[0].complete);
}

// curl sends "Expect: 100-continue" with large bodies: the proxy answers it itself (it
// needs the whole body before anything goes upstream) and does not forward the Expect.
TEST_F(LlmInterceptTest, LargeRequestWithExpectContinueIsRedactedAndForwarded) {
  start();
  int st = 0;
  const std::string filler(2u << 20, 'y');
  std::string out = curl("https://api.openai.com/v1/chat/completions",
                         R"({"model":"gpt-4o","messages":[{"role":"user","content":")" + filler +
                             R"( AKIAIOSFODNN7EXAMPLE"}]})",
                         &st, "", "-H 'Expect: 100-continue'");
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out, kOpenAiJson);
  auto bodies = provider_->bodies();
  ASSERT_EQ(bodies.size(), 1u);
  EXPECT_EQ(bodies[0].find("AKIAIOSFODNN7EXAMPLE"), std::string::npos);
  EXPECT_NE(bodies[0].find(filler), std::string::npos);
  std::string lower = provider_->heads()[0];
  for (auto& ch : lower) ch = char(tolower(ch));
  EXPECT_EQ(lower.find("expect:"), std::string::npos);
}

TEST_F(LlmInterceptTest, RateLimitAnswers429InTheProvidersShapeAndAudits) {
  start(true, /*requests_per_minute=*/1);
  int st = 0;
  const std::string body = R"({"model":"gpt-4o","messages":[{"role":"user","content":"x"}]})";
  std::string out = curl("https://api.openai.com/v1/chat/completions", body, &st);
  ASSERT_EQ(st, 0) << out;
  out = curl("https://api.openai.com/v1/chat/completions", body, &st, "", "-i");
  EXPECT_NE(out.find("HTTP/1.1 429"), std::string::npos) << out;
  EXPECT_NE(out.find("rate_limit_exceeded"), std::string::npos) << out;
  EXPECT_EQ(provider_->bodies().size(), 1u);  // the second never reached the provider
  ASSERT_TRUE(wait_records(2));
  EXPECT_EQ(records()[1].http_status, 429);
  EXPECT_EQ(lab_.audit.count([](const AuditEvent& e) {
    return e.type == "llm" && e.effective == "deny" && e.rule == "rate_limit";
  }),
            1u);
}

}  // namespace
}  // namespace agentsh::proxy::testing
