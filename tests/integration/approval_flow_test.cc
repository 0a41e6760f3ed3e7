// Approvals end to end: a supervisor's request (approval_client, api mode) reaches a real
// `agentsh server`, waits there, and a person answers through the HTTP API or the
// `agentsh approve` CLI — or nobody does and it times out. Every outcome is audited.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <future>
#include <nlohmann/json.hpp>

#include "agentsh/approval_client.h"
#include "agentsh/audit_store.h"
#include "tests/integration/exec_support.h"
#include "tests/integration/server_test_support.h"

namespace agentsh {
namespace {

using Json = nlohmann::json;
using server_test::clean_env;
using server_test::ServerProcess;
using testing_support::agentsh_bin;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;

class ApprovalFlowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    config_ = server_test::write_server_config(
        dir_.path(), "approvals:\n  enabled: true\n  mode: api\n  timeout: \"60s\"\n");
    std::string why;
    ASSERT_TRUE(server_.start(config_, clean_env(), {}, &why)) << why;
    cli_ = server_.client(60);
    ConfigLoad load = load_config(config_);
    ASSERT_TRUE(load.ok) << load.error;
    cfg_ = load.config;
    setenv("AGENTSH_SERVER", server_.url().c_str(), 1);  // the port is ephemeral
    req_.session = "sess-00000000000000aa";
    req_.kind = "file";
    req_.operation = "read";
    req_.target = "/root/.ssh/id_rsa";
    req_.rule = "protect-ssh-keys";
    req_.message = "SSH keys need approval";
  }
  void TearDown() override { unsetenv("AGENTSH_SERVER"); }

  std::future<ApprovalOutcome> ask(ApprovalRequest r) {
    return std::async(std::launch::async,
                      [this, r] { return approval_client::request_approval(cfg_, r); });
  }
  // Polls GET /api/v1/approvals until `n` are pending (bounded).
  Json wait_pending(size_t n) {
    Json list;
    for (int i = 0; i < 300; ++i) {
      auto r = cli_->Get("/api/v1/approvals");
      if (r && r->status == 200) {
        list = Json::parse(r->body)["approvals"];
        if (list.size() == n) return list;
      }
      usleep(20000);
    }
    return list;
  }
  // The server's audit rows of type approval (its writer commits asynchronously).
  std::vector<AuditRow> approval_rows(size_t want) {
    std::string err;
    auto store = AuditStore::open(dir_.file("events.db"), &err);
    std::vector<AuditRow> rows;
    for (int i = 0; i < 300 && store; ++i) {
      AuditQuery q;
      q.type = "approval";
      q.limit = 0;
      rows = store->query(q);
      if (rows.size() >= want) break;
      usleep(20000);
    }
    return rows;
  }
  RunResult approve_cli(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {agentsh_bin(), "approve"};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, clean_env({"AGENTSH_SERVER=" + server_.url()}));
  }

  TempDir dir_;
  std::string config_;
  ServerProcess server_;
  std::unique_ptr<httplib::Client> cli_;
  Config cfg_;
  ApprovalRequest req_;
};

TEST_F(ApprovalFlowTest, ApprovedThroughTheHttpApi) {
  auto fut = ask(req_);
  Json pending = wait_pending(1);
  ASSERT_EQ(pending.size(), 1u) << pending.dump();
  EXPECT_EQ(pending[0]["target"], "/root/.ssh/id_rsa");
  EXPECT_EQ(pending[0]["rule"], "protect-ssh-keys");
  EXPECT_EQ(pending[0]["session"], "sess-00000000000000aa");
  auto m = cli_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("agentsh_approvals_pending 1\n"), std::string::npos);

  std::string id = pending[0]["id"];
  auto r =
      cli_->Post("/api/v1/approvals/" + id,
                 Json{{"decision", "approve"}, {"who", "alice"}, {"reason", "reviewed"}}.dump(),
                 "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(Json::parse(r->body)["decision"], "approve");
  ApprovalOutcome out = fut.get();
  EXPECT_TRUE(out.approved);
  EXPECT_EQ(out.who, "alice from 127.0.0.1");
  EXPECT_EQ(out.reason, "reviewed");
  EXPECT_EQ(wait_pending(0).size(), 0u);

  auto rows = approval_rows(1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ev.effective, "allow");
  EXPECT_EQ(rows[0].ev.session, "sess-00000000000000aa");
  EXPECT_NE(rows[0].ev.message.find("approved by alice from 127.0.0.1: reviewed"),
            std::string::npos)
      << rows[0].ev.message;
  // Answered once: a second answer is refused.
  auto again = cli_->Post("/api/v1/approvals/" + id, R"({"decision":"deny"})", "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
}

TEST_F(ApprovalFlowTest, DeniedThroughTheCli) {
  auto fut = ask(req_);
  Json pending = wait_pending(1);
  ASSERT_EQ(pending.size(), 1u);
  std::string id = pending[0]["id"];

  RunResult list = approve_cli({"list"});
  EXPECT_EQ(list.status, 0) << list.err;
  EXPECT_NE(list.out.find(id + "  file read /root/.ssh/id_rsa"), std::string::npos) << list.out;
  RunResult json = approve_cli({"list", "--json"});
  ASSERT_EQ(json.status, 0) << json.err;
  EXPECT_EQ(Json::parse(json.out)[0]["id"], id);

  RunResult bad = approve_cli({"resolve", id});
  EXPECT_EQ(bad.status, 2) << "needs --allow or --deny";
  RunResult res = approve_cli({"resolve", id, "--deny", "--reason", "not in prod"});
  EXPECT_EQ(res.status, 0) << res.err;
  EXPECT_EQ(res.out, "denied " + id + "\n");
  ApprovalOutcome out = fut.get();
  EXPECT_FALSE(out.approved);
  EXPECT_EQ(out.who.rfind("cli:", 0), 0u) << out.who;
  EXPECT_EQ(out.reason, "not in prod");
  auto rows = approval_rows(1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ev.effective, "deny");
  EXPECT_NE(rows[0].ev.message.find("denied by cli:"), std::string::npos) << rows[0].ev.message;

  RunResult gone = approve_cli({"resolve", id, "--allow"});
  EXPECT_EQ(gone.status, 1);
  EXPECT_NE(gone.err.find("no pending approval"), std::string::npos) << gone.err;
}

TEST_F(ApprovalFlowTest, NobodyAnswersAndItTimesOut) {
  auto r = req_;
  r.timeout_ms = 300;
  ApprovalOutcome out = approval_client::request_approval(cfg_, r);
  EXPECT_FALSE(out.approved);
  EXPECT_EQ(out.who, "timeout");
  EXPECT_NE(out.reason.find("no answer within 300ms"), std::string::npos) << out.reason;
  auto rows = approval_rows(1);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ev.effective, "deny");
}

TEST_F(ApprovalFlowTest, BadAnswersAreRejected) {
  auto fut = ask(req_);
  Json pending = wait_pending(1);
  ASSERT_EQ(pending.size(), 1u);
  std::string id = pending[0]["id"];
  auto bad = cli_->Post("/api/v1/approvals/" + id, R"({"decision":"maybe"})", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(Json::parse(bad->body)["error"].get<std::string>().find("\"approve\" or \"deny\""),
            std::string::npos)
      << bad->body;
  auto malformed = cli_->Post("/api/v1/approvals/" + id, "{", "application/json");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  auto unknown = cli_->Post("/api/v1/approvals/appr-0000000000000000", R"({"decision":"approve"})",
                            "application/json");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto internal_bad = cli_->Post("/api/v1/internal/approvals",
                                 R"({"timeout_ms":"soon","target":"x"})", "application/json");
  ASSERT_TRUE(internal_bad);
  EXPECT_EQ(internal_bad->status, 400);
  // Still pending after all that; answer it so the request ends.
  ASSERT_TRUE(cli_->Post("/api/v1/approvals/" + id, R"({"decision":"deny"})", "application/json"));
  EXPECT_FALSE(fut.get().approved);
}

TEST_F(ApprovalFlowTest, ServerShutdownDeniesWaitingRequests) {
  auto fut = ask(req_);
  ASSERT_EQ(wait_pending(1).size(), 1u);
  EXPECT_EQ(server_.stop(), 0) << server_.log();
  ApprovalOutcome out = fut.get();
  EXPECT_FALSE(out.approved);
  EXPECT_NE(out.reason.find("shutting down"), std::string::npos) << out.reason;
}

TEST_F(ApprovalFlowTest, ServerWithApprovalsDisabledDeniesAtOnce) {
  server_.stop();
  ServerProcess off;
  std::string cfg = server_test::write_server_config(dir_.path(), "");
  std::string why;
  ASSERT_TRUE(off.start(cfg, clean_env(), {}, &why)) << why;
  setenv("AGENTSH_SERVER", off.url().c_str(), 1);
  ApprovalOutcome out = approval_client::request_approval(cfg_, req_);  // client thinks: enabled
  EXPECT_FALSE(out.approved);
  EXPECT_NE(out.reason.find("approvals are disabled on the server"), std::string::npos)
      << out.reason;
}

}  // namespace
}  // namespace agentsh
