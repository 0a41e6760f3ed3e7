// ApprovalQueue: a request waits until a person answers, its timeout passes, or the
// server shuts down; every request ends in one audit record saying who and why.
#include "agentsh/approval_queue.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <future>
#include <thread>

namespace agentsh {
namespace {

namespace fs = std::filesystem;

ApprovalRequest sample() {
  ApprovalRequest r;
  r.session = "sess-00000000000000ab";
  r.kind = "file";
  r.operation = "read";
  r.target = "/root/.ssh/id_rsa";
  r.rule = "protect-ssh-keys";
  r.message = "SSH keys need approval";
  return r;
}

class ApprovalQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-apq-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
    std::string err;
    audit_ = AuditStore::open(dir_ + "/events.db", &err);
    ASSERT_TRUE(audit_) << err;
    q_ = std::make_unique<ApprovalQueue>(audit_.get(), &metrics_);
  }
  void TearDown() override {
    q_.reset();
    audit_.reset();
    fs::remove_all(dir_);
  }
  // Waits (bounded) until `n` requests are pending; returns them.
  std::vector<PendingApproval> wait_pending(size_t n) {
    for (int i = 0; i < 1000; ++i) {
      auto p = q_->pending();
      if (p.size() == n) return p;
      usleep(5000);
    }
    return q_->pending();
  }
  std::vector<AuditRow> approval_rows() {
    audit_->flush();
    AuditQuery q;
    q.type = "approval";
    q.limit = 0;
    return audit_->query(q);
  }

  std::string dir_;
  std::unique_ptr<AuditStore> audit_;
  Metrics metrics_;
  std::unique_ptr<ApprovalQueue> q_;
};

TEST_F(ApprovalQueueTest, APersonApproves) {
  auto fut = std::async(std::launch::async,
                        [&] { return q_->submit_and_wait(sample(), 60000, "127.0.0.1"); });
  auto pending = wait_pending(1);
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].req.target, "/root/.ssh/id_rsa");
  EXPECT_EQ(pending[0].requester, "127.0.0.1");
  EXPECT_EQ(pending[0].id.rfind("appr-", 0), 0u);
  EXPECT_EQ(pending[0].id.size(), 21u);
  EXPECT_EQ(pending[0].expires_us - pending[0].created_us, 60000 * 1000);
  EXPECT_EQ(q_->pending_count(), 1u);
  ASSERT_TRUE(q_->resolve(pending[0].id, true, "alice", "needed for the deploy"));
  ApprovalOutcome out = fut.get();
  EXPECT_TRUE(out.approved);
  EXPECT_EQ(out.who, "alice");
  EXPECT_EQ(out.reason, "needed for the deploy");
  EXPECT_EQ(q_->pending_count(), 0u);

  auto rows = approval_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ev.effective, "allow");
  EXPECT_EQ(rows[0].ev.decision, "approve");
  EXPECT_EQ(rows[0].ev.rule, "protect-ssh-keys");
  EXPECT_EQ(rows[0].ev.session, "sess-00000000000000ab");
  EXPECT_EQ(rows[0].ev.target, "/root/.ssh/id_rsa");
  EXPECT_NE(rows[0].ev.message.find("approved by alice: needed for the deploy"), std::string::npos)
      << rows[0].ev.message;
  EXPECT_NE(metrics_.render(0, 0).find("agentsh_approvals_total{outcome=\"approved\"} 1"),
            std::string::npos);
}

TEST_F(ApprovalQueueTest, APersonDenies) {
  auto fut =
      std::async(std::launch::async, [&] { return q_->submit_and_wait(sample(), 60000, "x"); });
  auto pending = wait_pending(1);
  ASSERT_EQ(pending.size(), 1u);
  ASSERT_TRUE(q_->resolve(pending[0].id, false, "bob", "not today"));
  ApprovalOutcome out = fut.get();
  EXPECT_FALSE(out.approved);
  EXPECT_EQ(out.who, "bob");
  auto rows = approval_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ev.effective, "deny");
  EXPECT_NE(rows[0].ev.message.find("denied by bob: not today"), std::string::npos);
}

TEST_F(ApprovalQueueTest, NobodyAnswersAndItTimesOut) {
  ApprovalOutcome out = q_->submit_and_wait(sample(), 150, "x");
  EXPECT_FALSE(out.approved);
  EXPECT_EQ(out.who, "timeout");
  EXPECT_NE(out.reason.find("no answer within 150ms"), std::string::npos) << out.reason;
  EXPECT_EQ(q_->pending_count(), 0u) << "a timed-out request is no longer pending";
  auto rows = approval_rows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].ev.effective, "deny");
  EXPECT_NE(rows[0].ev.message.find("timed out"), std::string::npos) << rows[0].ev.message;
  EXPECT_NE(metrics_.render(0, 0).find("agentsh_approvals_total{outcome=\"timeout\"} 1"),
            std::string::npos);
}

TEST_F(ApprovalQueueTest, UnknownOrAnsweredIdsCannotBeResolved) {
  EXPECT_FALSE(q_->resolve("appr-0000000000000000", true, "x", ""));
  auto fut =
      std::async(std::launch::async, [&] { return q_->submit_and_wait(sample(), 60000, "x"); });
  auto pending = wait_pending(1);
  ASSERT_EQ(pending.size(), 1u);
  ASSERT_TRUE(q_->resolve(pending[0].id, false, "first", ""));
  EXPECT_FALSE(q_->resolve(pending[0].id, true, "second", "")) << "the first answer stands";
  EXPECT_FALSE(fut.get().approved);
}

TEST_F(ApprovalQueueTest, ConcurrentRequestsAreAnsweredIndividually) {
  auto a = sample(), b = sample();
  b.target = "/root/.aws/credentials";
  auto fa = std::async(std::launch::async, [&] { return q_->submit_and_wait(a, 60000, "x"); });
  auto fb = std::async(std::launch::async, [&] { return q_->submit_and_wait(b, 60000, "x"); });
  auto pending = wait_pending(2);
  ASSERT_EQ(pending.size(), 2u);
  for (const auto& p : pending) q_->resolve(p.id, p.req.target == b.target, "carol", "");
  EXPECT_FALSE(fa.get().approved);
  EXPECT_TRUE(fb.get().approved);
}

TEST_F(ApprovalQueueTest, ShutdownDeniesEveryoneStillWaiting) {
  auto fut =
      std::async(std::launch::async, [&] { return q_->submit_and_wait(sample(), 600000, "x"); });
  ASSERT_EQ(wait_pending(1).size(), 1u);
  q_->shutdown();
  ApprovalOutcome out = fut.get();
  EXPECT_FALSE(out.approved);
  EXPECT_NE(out.reason.find("shutting down"), std::string::npos) << out.reason;
  ApprovalOutcome late = q_->submit_and_wait(sample(), 600000, "x");
  EXPECT_FALSE(late.approved);
}

}  // namespace
}  // namespace agentsh
