// LLM traffic audit through the real Proxy: curl talks HTTPS to "api.openai.com" and
// "api.anthropic.com" via CONNECT; the proxy decrypts (leaf from its own CA, trusted by
// curl through --cacert), redacts, forwards to a fake provider served over TLS with a
// separate test CA on 127.0.0.1:443, relays the response and records one LlmRecord per
// request. Everything runs in a private network namespace (proxy_support.h): provider
// names resolve to 127.0.0.1 through the proxy's hosts file; nothing leaves the box.
#include <gtest/gtest.h>
#include <stdio.h>
#include <sys/wait.h>

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
#include "tests/integration/llm_fake_provider.h"
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
