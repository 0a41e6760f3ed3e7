#include "agentsh/audit_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

namespace agentsh {
namespace {

// Designated initialisers would trip -Wmissing-field-initializers; build queries here.
AuditQuery Q(int limit, std::string decision = "", std::string type = "", std::string session = "",
             bool newest_first = false) {
  AuditQuery q;
  q.limit = limit;
  q.decision = decision;
  q.type = type;
  q.session = session;
  q.newest_first = newest_first;
  return q;
}

class AuditStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-audit-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
    path_ = dir_ + "/sub/events.db";
  }
  void TearDown() override { [[maybe_unused]] int rc = system(("rm -rf " + dir_).c_str()); }
  static AuditEvent ev(const std::string& type, const std::string& decision, int i) {
    AuditEvent e;
    e.session = i % 2 ? "s1" : "s2";
    e.type = type;
    e.operation = "op";
    e.target = "/t/" + std::to_string(i);
    e.decision = decision;
    e.effective = decision == "deny" ? "deny" : "allow";
    e.rule = "r" + std::to_string(i);
    return e;
  }
  std::string dir_, path_;
};

TEST_F(AuditStoreTest, RecordsAreQueryableAfterFlush) {
  std::string err;
  auto s = AuditStore::open(path_, &err);
  ASSERT_TRUE(s) << err;
  for (int i = 0; i < 10; ++i) s->record(ev(i < 4 ? "file" : "exec", i % 3 ? "allow" : "deny", i));
  s->flush();
  auto all = s->query(Q(0));
  ASSERT_EQ(all.size(), 10u);
  EXPECT_EQ(all[0].ev.target, "/t/0");
  EXPECT_GT(all[0].ev.ts_us, 0);
  EXPECT_EQ(s->query(Q(0, "deny")).size(), 4u);
  EXPECT_EQ(s->query(Q(0, "", "file")).size(), 4u);
  EXPECT_EQ(s->query(Q(0, "", "", "s1")).size(), 5u);
  auto last2 = s->query(Q(2, "", "", "", true));
  ASSERT_EQ(last2.size(), 2u);
  EXPECT_EQ(last2[0].ev.target, "/t/8");  // oldest of the newest two first
  EXPECT_EQ(last2[1].ev.target, "/t/9");
}

TEST_F(AuditStoreTest, NothingLostOnDestruction) {
  std::string err;
  {
    auto s = AuditStore::open(path_, &err);
    ASSERT_TRUE(s) << err;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([&s, t] {
        for (int i = 0; i < 500; ++i) s->record(ev("file", "allow", t * 1000 + i));
      });
    for (auto& t : ts) t.join();
  }  // destructor drains the queue
  auto s = AuditStore::open(path_, &err);
  ASSERT_TRUE(s) << err;
  EXPECT_EQ(s->query(Q(0)).size(), 2000u);
}

TEST_F(AuditStoreTest, TwoProcessesWriteTheSameDatabase) {
  std::string err;
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto s = AuditStore::open(path_, &err);
    if (!s) _exit(1);
    for (int i = 0; i < 200; ++i) s->record(ev("exec", "allow", i));
    s.reset();
    _exit(0);
  }
  auto s = AuditStore::open(path_, &err);
  ASSERT_TRUE(s) << err;
  for (int i = 0; i < 200; ++i) s->record(ev("file", "deny", i));
  s->flush();
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(s->query(Q(0)).size(), 400u);
}

TEST_F(AuditStoreTest, UnwritableLocationFailsWithAMessage) {
  std::string err;
  auto s = AuditStore::open("/proc/agentsh-cannot/events.db", &err);
  EXPECT_FALSE(s);
  EXPECT_NE(err.find("/proc/agentsh-cannot"), std::string::npos) << err;
}

}  // namespace
}  // namespace agentsh
