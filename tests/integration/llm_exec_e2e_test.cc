// LLM audit end to end with real clients under `agentsh exec`: unmodified curl (no -k,
// no --cacert: it trusts our CA only through the variables agentsh sets) and the
// official npm SDKs (`openai`, `@anthropic-ai/sdk`, tests/llm) talk to
// "api.openai.com" / "api.anthropic.com". Inside a network namespace made by the test,
// those names resolve (policy dns_redirects, answered by the session's proxy) to
// 10.201.0.1, where a fake provider serves TLS with its own test CA. The proxy trusts
// that CA because, in a private mount namespace, the system trust store file is
// bind-mounted over with system CAs + the test CA (host untouched); node itself trusts
// only its bundled roots + NODE_EXTRA_CA_CERTS (our CA), so a direct connection to the
// fake provider fails — success proves interception.
// Checked: answers (secrets in responses redacted), the provider never receiving the
// prompt's secret, `agentsh llm log --json` with exact usage and redaction counts, an
// untrusted upstream refused (502) and audited.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "proxy/ca_store.h"
#include "tests/integration/exec_support.h"
#include "tests/integration/llm_fake_provider.h"
#include "tests/integration/proxy_support.h"

namespace agentsh {
namespace {

namespace fs = std::filesystem;
using proxy::testing::FakeProvider;
using proxy::testing::ScopedNetns;
using testing_support::agentsh_bin;
using testing_support::repo_root;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;
using testing_support::write_test_config;

constexpr const char* kProviderIp = "10.201.0.1";
constexpr const char* kSecret = "AKIAIOSFODNN7EXAMPLE";

constexpr const char* kPolicy = R"(version: 1
name: t
file_rules:
  - name: all
    paths: ["/**"]
    operations: ["*"]
    decision: allow
command_rules:
  - name: all
    commands: ["*"]
    decision: allow
network_rules:
  - name: providers
    domains: ["api.openai.com", "api.anthropic.com"]
    ports: [443]
    decision: allow
  - name: lo
    cidrs: ["127.0.0.0/8"]
    decision: allow
  - name: lab
    cidrs: ["10.201.0.0/24"]
    decision: allow
dns_redirects:
  - name: providers-to-the-fake
    match: "api\\.(openai|anthropic)\\.com"
    resolve_to: 10.201.0.1
)";

std::vector<nlohmann::json> json_lines(const std::string& out) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) rows.push_back(j);
  }
  return rows;
}

class LlmExecE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network and mount namespaces)";
    netns_ = std::make_unique<ScopedNetns>();
    ASSERT_TRUE(netns_->ok()) << netns_->error();
    // An address for the fake provider, on the namespace's own lo (no dummy/veth
    // module needed); not in 127/8, so agentsh treats it as any remote host.
    RunResult r = run({"/bin/sh", "-c", std::string("ip addr add ") + kProviderIp + "/32 dev lo"},
                      {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"});
    ASSERT_EQ(r.status, 0) << r.err;
    provider_ = std::make_unique<FakeProvider>(fs::path(dir_.path()) / "provider-ca", kProviderIp);
    ASSERT_TRUE(provider_->ok()) << provider_->error();
    // System CAs + the fake provider's CA: what the proxy's upstream check will see.
    std::ifstream sys(proxy::CaStore::kSystemBundle), ca(provider_->ca_file());
    std::ofstream trust(dir_.file("trust.pem"));
    trust << sys.rdbuf() << "\n" << ca.rdbuf();
    dir_.write("policies/default.yaml", kPolicy);
    config_ = write_test_config(dir_,
                                "proxy:\n  providers:\n    openai: https://api.openai.com\n"
                                "    anthropic: https://api.anthropic.com\n");
  }
  void TearDown() override {
    provider_.reset();
    netns_.reset();  // the address goes with the namespace
  }

  std::vector<std::string> env() const {
    return {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C",
            "OPENAI_API_KEY=sk-test-openai", "ANTHROPIC_API_KEY=sk-ant-test"};
  }

  // `agentsh exec -- cmd…` in a private mount namespace where the system trust store
  // holds the fake provider's CA (unless `trust_provider` is false).
  RunResult exec(const std::vector<std::string>& cmd, bool trust_provider = true,
                 const std::string& cwd = "") {
    std::string script = "set -e\n";
    if (trust_provider)
      script +=
          "mount --bind '" + dir_.file("trust.pem") + "' " + proxy::CaStore::kSystemBundle + "\n";
    script += "exec \"$@\"\n";
    std::vector<std::string> argv = {
        "/usr/bin/unshare", "-m",   "--propagation", "private", "/bin/sh", "-c", script, "sh",
        agentsh_bin(),      "exec", "--config",      config_,   "--"};
    argv.insert(argv.end(), cmd.begin(), cmd.end());
    return run(argv, env(), "", 90, cwd);
  }

  RunResult curl(const std::string& url, const std::string& body, bool trust_provider = true,
                 const std::vector<std::string>& extra = {}) {
    dir_.write("body.json", body);
    std::vector<std::string> cmd = {"curl",
                                    "-sS",
                                    "-N",
                                    "--max-time",
                                    "20",
                                    "-H",
                                    "Content-Type: application/json",
                                    "-H",
                                    "Authorization: Bearer sk-test",
                                    "--data-binary",
                                    "@" + dir_.file("body.json")};
    cmd.insert(cmd.end(), extra.begin(), extra.end());
    cmd.push_back(url);
    return exec(cmd, trust_provider);
  }

  std::vector<nlohmann::json> llm_log() {
    RunResult r = run({agentsh_bin(), "llm", "log", "--config", config_, "--json"}, env());
    EXPECT_EQ(r.status, 0) << r.err;
    return json_lines(r.out);
  }

  void expect_provider_never_saw_the_secret() {
    auto bodies = provider_->bodies();
    EXPECT_FALSE(bodies.empty());
    for (const auto& b : bodies) {
      EXPECT_EQ(b.find(kSecret), std::string::npos) << b;
      EXPECT_NE(b.find("[REDACTED:AWS_KEY]"), std::string::npos) << b;
    }
  }

  TempDir dir_;
  std::unique_ptr<ScopedNetns> netns_;
  std::unique_ptr<FakeProvider> provider_;
  std::string config_;
};

TEST_F(LlmExecE2eTest, CurlPlainAndStreamingForBothApiShapes) {
  const std::string prompt = std::string("my key is ") + kSecret;
  struct Case {
    std::string url, body, expect_text;
    bool stream;
    int in, out;
  };
  const std::vector<Case> cases = {
      {"https://api.openai.com/v1/chat/completions",
       R"({"model":"leak","messages":[{"role":"user","content":")" + prompt + R"("}]})",
       "use [REDACTED:AWS_KEY]", false, 9, 4},
      {"https://api.openai.com/v1/chat/completions",
       R"({"model":"leak","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":")" +
           prompt + R"("}]})",
       "key [REDACTED:AWS_KEY]", true, 8, 5},
      {"https://api.anthropic.com/v1/messages",
       R"({"model":"leak","max_tokens":64,"messages":[{"role":"user","content":")" + prompt +
           R"("}]})",
       "use [REDACTED:AWS_KEY]", false, 21, 6},
      {"https://api.anthropic.com/v1/messages",
       R"({"model":"leak","stream":true,"max_tokens":64,"messages":[{"role":"user","content":")" +
           prompt + R"("}]})",
       "key [REDACTED:AWS_KEY]", true, 23, 9},
  };
  for (const Case& c : cases) {
    RunResult r = curl(c.url, c.body);
    ASSERT_EQ(r.status, 0) << c.url << " " << r.out << r.err;
    EXPECT_EQ(r.out.find(kSecret), std::string::npos) << r.out;  // the agent never sees it
    EXPECT_NE(r.out.find(c.expect_text), std::string::npos) << r.out;
    if (!c.stream) {
      EXPECT_TRUE(nlohmann::json::parse(r.out, nullptr, false).is_object()) << r.out;
    }
  }
  expect_provider_never_saw_the_secret();
  auto rows = llm_log();
  ASSERT_EQ(rows.size(), cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(rows[i].dump());
    EXPECT_EQ(rows[i]["provider"], i < 2 ? "openai" : "anthropic");
    EXPECT_EQ(rows[i]["model"], "leak");
    EXPECT_EQ(rows[i]["stream"], cases[i].stream);
    EXPECT_EQ(rows[i]["status"], 200);
    EXPECT_EQ(rows[i]["input_tokens"], cases[i].in);
    EXPECT_EQ(rows[i]["output_tokens"], cases[i].out);
    EXPECT_EQ(rows[i]["redactions"], 2);  // one in the prompt, one in the answer
    EXPECT_EQ(rows[i]["response_redactions_by_detector"].size(), 1u);
    EXPECT_TRUE(rows[i]["duration_ms"].is_number());
    EXPECT_EQ(rows[i]["excerpt"].get<std::string>().find(kSecret), std::string::npos);
  }
}

TEST_F(LlmExecE2eTest, UntrustedUpstreamIsRefusedAndAudited) {
  RunResult r = curl("https://api.openai.com/v1/chat/completions",
                     R"({"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]})",
                     /*trust_provider=*/false, {"-w", "\nHTTP %{http_code}\n"});
  EXPECT_NE(r.out.find("HTTP 502"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("certificate"), std::string::npos) << r.out;
  EXPECT_TRUE(provider_->bodies().empty());  // nothing was sent to an unverified server
  auto rows = llm_log();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["status"], 502);
  EXPECT_NE(rows[0]["error"].get<std::string>().find("certificate"), std::string::npos)
      << rows[0].dump();
  RunResult ev = run({agentsh_bin(), "events", "query", "--config", config_, "--json"}, env());
  ASSERT_EQ(ev.status, 0) << ev.err;
  bool audited = false;
  for (const auto& e : json_lines(ev.out))
    if (e.value("rule", "") == "agentsh-upstream-tls") audited = true;
  EXPECT_TRUE(audited) << ev.out;
}

// The official SDKs, unmodified, with their default base URLs.
TEST_F(LlmExecE2eTest, OfficialNodeSdksPlainAndStreaming) {
  const std::string llm_dir = repo_root() + "/tests/llm";
  ASSERT_TRUE(fs::exists(llm_dir + "/node_modules/openai/package.json") &&
              fs::exists(llm_dir + "/node_modules/@anthropic-ai/sdk/package.json"))
      << "the npm SDKs are not installed in tests/llm/node_modules: run `make deps` (npm ci "
         "--prefix tests/llm)";
  RunResult r = exec({"node", llm_dir + "/sdk_calls.js", "leak"}, true, llm_dir);
  auto calls = json_lines(r.out);
  ASSERT_EQ(calls.size(), 4u) << r.out << r.err;
  for (const auto& c : calls) {
    SCOPED_TRACE(c.dump());
    ASSERT_FALSE(c.contains("error"))
        << "if the error is a certificate or DNS failure, the SDK's direct connection was "
           "not redirected to the session proxy (the hook/tracer transparent redirect)";
    const std::string text = c.value("text", "");
    EXPECT_EQ(text.find(kSecret), std::string::npos);
    EXPECT_EQ(text, c["call"].get<std::string>().find("stream") != std::string::npos
                        ? "key [REDACTED:AWS_KEY]"
                        : "use [REDACTED:AWS_KEY]");
  }
  EXPECT_EQ(calls[0]["usage"]["prompt_tokens"], 9);
  EXPECT_EQ(calls[1]["usage"]["completion_tokens"], 5);
  EXPECT_EQ(r.status, 0) << r.err;
  expect_provider_never_saw_the_secret();
  auto rows = llm_log();
  ASSERT_EQ(rows.size(), 4u);
  const int in[] = {9, 8, 21, 23}, out[] = {4, 5, 6, 9};
  for (size_t i = 0; i < 4; ++i) {
    SCOPED_TRACE(rows[i].dump());
    EXPECT_EQ(rows[i]["provider"], i < 2 ? "openai" : "anthropic");
    EXPECT_EQ(rows[i]["stream"], i % 2 == 1);
    EXPECT_EQ(rows[i]["status"], 200);
    EXPECT_EQ(rows[i]["input_tokens"], in[i]);
    EXPECT_EQ(rows[i]["output_tokens"], out[i]);
    EXPECT_EQ(rows[i]["redactions"], 2);
  }
}

}  // namespace
}  // namespace agentsh
