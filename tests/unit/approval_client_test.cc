// approval_client without a person: the modes that decide on their own, and failing
// closed when nobody can be asked. (Against a live server: tests/integration/approval_*.)
#include "agentsh/approval_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "agentsh/audit_store.h"
#include "common/scoped_fd.h"

namespace agentsh {
namespace {

namespace fs = std::filesystem;

class ApprovalClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-apc-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
    cfg_.audit_db = dir_ + "/events.db";
    cfg_.approvals_enabled = true;
    cfg_.approvals_mode = "api";
    if (const char* s = getenv("AGENTSH_SERVER")) saved_server_ = s;
    unsetenv("AGENTSH_SERVER");
    req_.session = "sess-00000000000000cd";
    req_.kind = "exec";
    req_.operation = "exec";
    req_.target = "npm install express";
    req_.rule = "approve-package-installs";
    req_.timeout_ms = 2000;
  }
  void TearDown() override {
    if (!saved_server_.empty()) setenv("AGENTSH_SERVER", saved_server_.c_str(), 1);
    fs::remove_all(dir_);
  }
  std::vector<AuditRow> rows() {
    std::string err;
    auto store = AuditStore::open(cfg_.audit_db, &err);
    AuditQuery q;
    q.type = "approval";
    q.limit = 0;
    return store ? store->query(q) : std::vector<AuditRow>{};
  }
  // A loopback port with nobody listening (bound, then released).
  int closed_port() {
    ScopedFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
    return ntohs(a.sin_port);
  }

  std::string dir_, saved_server_;
  Config cfg_;
  ApprovalRequest req_;
};

TEST_F(ApprovalClientTest, DisabledApprovalsDenyAndSaySo) {
  cfg_.approvals_enabled = false;
  ApprovalOutcome out = approval_client::request_approval(cfg_, req_);
  EXPECT_FALSE(out.approved);
  EXPECT_NE(out.reason.find("approvals are disabled"), std::string::npos) << out.reason;
  auto r = rows();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].ev.effective, "deny");
  EXPECT_EQ(r[0].ev.rule, "approve-package-installs");
  EXPECT_EQ(r[0].ev.target, "npm install express");
}

TEST_F(ApprovalClientTest, ShadowModeApprovesWithoutAsking) {
  cfg_.approvals_enabled = false;
  cfg_.approvals_mode = "shadow";
  ApprovalOutcome out = approval_client::request_approval(cfg_, req_);
  EXPECT_TRUE(out.approved);
  EXPECT_EQ(out.who, "shadow-mode");
}

TEST_F(ApprovalClientTest, NoServerReachableDenies) {
  int port = closed_port();
  cfg_.http_addr = "127.0.0.1:" + std::to_string(port);
  ApprovalOutcome out = approval_client::request_approval(cfg_, req_);
  EXPECT_FALSE(out.approved);
  EXPECT_NE(
      out.reason.find("no approval server reachable at http://127.0.0.1:" + std::to_string(port)),
      std::string::npos)
      << out.reason;
  auto r = rows();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].ev.effective, "deny");
  EXPECT_NE(r[0].ev.message.find("no approval server reachable"), std::string::npos);
}

TEST_F(ApprovalClientTest, ServerUrlPrefersTheEnvironment) {
  cfg_.http_addr = "0.0.0.0:18080";
  EXPECT_EQ(approval_client::server_url(cfg_), "http://127.0.0.1:18080");
  cfg_.http_addr = "127.0.0.5:9";
  EXPECT_EQ(approval_client::server_url(cfg_), "http://127.0.0.5:9");
  setenv("AGENTSH_SERVER", "http://127.0.0.1:4242/", 1);
  EXPECT_EQ(approval_client::server_url(cfg_), "http://127.0.0.1:4242");
  unsetenv("AGENTSH_SERVER");
}

}  // namespace
}  // namespace agentsh
