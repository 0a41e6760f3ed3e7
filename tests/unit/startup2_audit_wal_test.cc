// The audit database's WAL stays short across many `agentsh exec` runs, each of which
// is the only (and last) connection: opens, writes one batch, closes without a
// checkpoint. Every first connection rebuilds the WAL index by reading the whole WAL, so
// a WAL that only grows makes every start-up slower (16 MB after a few thousand runs).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>

#include "agentsh/audit_store.h"

namespace agentsh {
namespace {

class Startup2AuditWal : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-startup2-wal-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    dir_ = t;
  }
  void TearDown() override { [[maybe_unused]] int rc = system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

off_t file_size(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? st.st_size : 0;
}

TEST_F(Startup2AuditWal, WalIsTruncatedOnceItPassesItsLimitAcrossShortRuns) {
  const std::string path = dir_ + "/events.db";
  off_t largest = 0;
  const int kRuns = 150, kPerRun = 40;
  for (int run = 0; run < kRuns; ++run) {
    auto store = AuditStore::open_deferred(path, nullptr);
    ASSERT_NE(store, nullptr);
    for (int i = 0; i < kPerRun; ++i) {
      AuditEvent e;
      e.type = "file";
      e.operation = "read";
      e.target = "/some/fairly/long/path/to/make/rows/realistic/" + std::to_string(run * 1000 + i);
      e.decision = "allow";
      e.effective = "allow";
      e.message = std::string(80, 'm');
      store->record(e);
    }
    store->flush();
    store.reset();
    largest = std::max(largest, file_size(path + "-wal"));
  }
  // 128 pages of 4 KiB plus one run's commit; without the truncating checkpoint the WAL
  // grows with every run (several MB here).
  EXPECT_LT(largest, off_t(1) << 20);
  // Nothing was lost on the way.
  std::string err;
  auto store = AuditStore::open(path, &err);
  ASSERT_NE(store, nullptr) << err;
  AuditQuery q;
  q.limit = 0;
  EXPECT_EQ(store->query(q, &err).size(), size_t(kRuns * kPerRun)) << err;
}

}  // namespace
}  // namespace agentsh
