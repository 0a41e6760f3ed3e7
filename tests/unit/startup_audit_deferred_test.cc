// AuditStore::open_deferred, as `agentsh exec` uses it: the database is opened by the
// writer thread, records queue meanwhile, the redactor rewrites each event before it is
// stored, flush() does not wait out the batching linger, and a database that cannot be
// opened loses the records without hanging anyone.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "agentsh/audit_store.h"

namespace agentsh {
namespace {

class StartupAuditDeferred : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-audit-def-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
  }
  void TearDown() override { [[maybe_unused]] int rc = system(("rm -rf " + dir_).c_str()); }
  static AuditEvent ev(int i) {
    AuditEvent e;
    e.type = "exec";
    e.operation = "exec";
    e.target = "secret-" + std::to_string(i);
    e.decision = "allow";
    e.effective = "allow";
    e.message = "msg secret";
    return e;
  }
  std::string dir_;
};

TEST_F(StartupAuditDeferred, RecordsAreRedactedAndStored) {
  std::string path = dir_ + "/a/events.db";
  auto store = AuditStore::open_deferred(path, [](AuditEvent& e) {
    for (std::string* s : {&e.target, &e.message}) {
      auto p = s->find("secret");
      if (p != std::string::npos) s->replace(p, 6, "[R]");
    }
  });
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 100; ++i) store->record(ev(i));
  store->flush();
  AuditQuery q;
  q.limit = 0;
  std::string err;
  auto rows = store->query(q, &err);
  ASSERT_EQ(rows.size(), 100u) << err;
  EXPECT_EQ(rows[0].ev.target, "[R]-0");
  EXPECT_EQ(rows[99].ev.target, "[R]-99");
  EXPECT_EQ(rows[5].ev.message, "msg [R]");
  EXPECT_GT(rows[0].ev.ts_us, 0);
}

TEST_F(StartupAuditDeferred, EveryFlushCommitsWhatCameBefore) {
  auto store = AuditStore::open_deferred(dir_ + "/events.db", nullptr);
  AuditQuery q;
  q.limit = 0;
  for (int i = 0; i < 50; ++i) {
    store->record(ev(i));
    store->flush();  // wakes a lingering writer: the row is there when flush returns
    EXPECT_EQ(store->query(q).size(), size_t(i + 1));
  }
}

TEST_F(StartupAuditDeferred, UnopenableDatabaseDropsRecordsWithoutHanging) {
  // A directory where the database file should be.
  std::string path = dir_ + "/isadir";
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0);
  auto store = AuditStore::open_deferred(path, nullptr);
  ASSERT_NE(store, nullptr);
  store->record(ev(1));
  store->flush();  // returns: the record is dropped (one warning on stderr)
  AuditQuery q;
  std::string err;
  EXPECT_TRUE(store->query(q, &err).empty());
  EXPECT_FALSE(err.empty());
}

}  // namespace
}  // namespace agentsh
