// The proxy deciding with the real compiled policy (PolicyNetDecider over
// policy::Engine) — the reference default policy the acceptance suite uses.
#include <gtest/gtest.h>

#include "tests/unit/proxy_redirect_testdata.h"

#include "policy/engine.h"
#include "policy/loader.h"
#include "proxy/policy_net_decider.h"
#include "tests/integration/proxy_support.h"
#include "tests/unit/proxy_tls_testdata.h"

namespace agentsh::proxy::testing {
namespace {

std::string reference_policy_path() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind("/integration/")) +
         "/unit/testdata/reference/default-policy.yaml";
}

std::unique_ptr<policy::Engine> reference_engine() {
  policy::LoadResult r = policy::load_policy_file(reference_policy_path());
  for (const auto& d : r.errors) ADD_FAILURE() << d.format();
  if (!r.ok) return nullptr;
  std::string err;
  auto e = policy::Engine::compile(r.policy, {{"PROJECT_ROOT", "/w"}, {"HOME", "/root"}}, {}, &err);
  EXPECT_NE(e, nullptr) << err;
  return e;
}

TEST(ProxyPolicyDecider, ReferenceDefaultPolicy) {
  auto engine = reference_engine();
  ASSERT_TRUE(engine);
  PolicyNetDecider d(*engine);
  NetDecision n = d.decide("registry.npm.example", "", 443);
  EXPECT_EQ(n.effect, NetEffect::kAllow);
  EXPECT_EQ(n.rule, "allow-npm");
  EXPECT_TRUE(n.matched);
  n = d.decide("registry.npm.example", "", 80);  // wrong port: approve-unknown-http
  EXPECT_EQ(n.effect, NetEffect::kDeny);         // approvals are off: fails closed
  EXPECT_EQ(n.rule, "approve-unknown-http");
  EXPECT_FALSE(n.matched);  // a ports-only catch-all is not about this name
  n = d.decide("registry.npm.example", "", 22);
  EXPECT_EQ(n.rule, "default-deny-network");  // domains: ["*"]
  EXPECT_FALSE(n.matched);
  // Only port 443 has domain rules that allow: a bare address on any other port (SSH,
  // SMTP) cannot be saved by a later SNI/Host and is refused at once.
  EXPECT_TRUE(d.name_may_permit(443));
  EXPECT_FALSE(d.name_may_permit(22));
  EXPECT_FALSE(d.name_may_permit(80));
  n = d.decide("", "169.254.169.254", 80);
  EXPECT_EQ(n.effect, NetEffect::kDeny);
  EXPECT_TRUE(n.matched);
  n = d.decide("", "10.0.0.1", 443);
  EXPECT_EQ(n.rule, "block-private-networks");
  n = d.decide("", "127.0.0.1", 18080);
  EXPECT_EQ(n.effect, NetEffect::kAllow);
  EXPECT_EQ(n.rule, "allow-localhost");
  n = d.decide("", "198.18.0.10", 443);  // an address no CIDR rule mentions
  EXPECT_EQ(n.effect, NetEffect::kDeny);
  EXPECT_EQ(n.rule, "approve-unknown-https");
  EXPECT_FALSE(n.matched);
  // So the registry's real address does not override its allowed name...
  EXPECT_EQ(net_decider::combine(true, d.decide("registry.npm.example", "", 443), n).rule,
            "allow-npm");
  n = d.decide("evil.com", "", 443);
  EXPECT_EQ(n.rule, "block-evil-domains");
  EXPECT_TRUE(n.matched);
  // The name registry.npm.example resolving to 10.0.0.1 (rebinding) is denied.
  NetDecision by_name = d.decide("registry.npm.example", "", 443);
  NetDecision by_addr = d.decide("", "10.0.0.1", 443);
  EXPECT_EQ(net_decider::combine(true, by_name, by_addr).rule, "block-private-networks");
}

TEST(ProxyPolicyDecider, ProxyWithTheReferencePolicy) {
  auto engine = reference_engine();
  ASSERT_TRUE(engine);
  PolicyNetDecider decider(*engine);
  Lab lab;
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  ASSERT_TRUE(lab.ns.ok()) << lab.ns.error();
  // The registry listens on 127.0.0.4:443 inside our namespace: the name is allowed by
  // allow-npm, its address is mentioned by no CIDR rule (only the approve-unknown-https
  // catch-all), so the connection goes through as in the acceptance lab.
  RecordingServer registry("127.0.0.4", "", "ok", 443);
  ASSERT_EQ(registry.port(), 443);
  ASSERT_TRUE(lab.start({}, {{"registry.npm.example", {"127.0.0.4"}}}, [&](Proxy::Options& o) {
    o.decider = &decider;
  })) << lab.error;
  ScopedFd c = lab.client();
  ASSERT_TRUE(send_all(c.get(), "CONNECT registry.npm.example:443 HTTP/1.1\r\n\r\n"));
  EXPECT_EQ(recv_until(c.get(), "\r\n\r\n"), "HTTP/1.1 200 Connection established\r\n\r\n");
  ASSERT_TRUE(send_all(c.get(), testdata::openssl_client_hello()));  // SNI registry.npm.example
  EXPECT_EQ(recv_all(c.get(), 2), "ok");
  for (const char* url :
       {"http://169.254.169.254/latest/meta-data/", "http://0xa9fea9fe/", "http://100.100.100.200/",
        "http://10.0.0.1/", "http://192.168.1.1/", "http://evil.com/"}) {
    c = lab.client();
    ASSERT_TRUE(send_all(c.get(), std::string("GET ") + url + " HTTP/1.1\r\n\r\n"));
    std::string resp = recv_all(c.get());
    EXPECT_EQ(resp.substr(0, 12), "HTTP/1.1 403") << url;
    EXPECT_NE(resp.find("agentsh: blocked by policy: rule="), std::string::npos) << url;
  }
  c = lab.client();
  ASSERT_TRUE(send_all(c.get(), "CONNECT registry.npm.example:8443 HTTP/1.1\r\n\r\n"));
  EXPECT_NE(recv_all(c.get()).find("rule=default-deny-network host=registry.npm.example"),
            std::string::npos);
}

}  // namespace
}  // namespace agentsh::proxy::testing
