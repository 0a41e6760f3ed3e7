// SessionStore: files on disk, strict ids, atomic writes, list/destroy/touch.
#include "agentsh/session_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

namespace agentsh {
namespace {

namespace fs = std::filesystem;

class SessionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char t[] = "/tmp/agentsh-sess-XXXXXX";
    ASSERT_NE(mkdtemp(t), nullptr);
    root_ = t;
    fs::create_directories(root_ + "/ws/sub");
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string slurp(const std::string& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string root_;
};

TEST_F(SessionStoreTest, CreateWritesSessionJsonWithStrictIdAndAbsoluteWorkspace) {
  SessionStore store(root_ + "/sessions");  // does not exist yet: create makes it
  std::string err;
  auto s = store.create(root_ + "/ws/sub/..", "strict", &err);
  ASSERT_TRUE(s) << err;
  EXPECT_TRUE(std::regex_match(s->id, std::regex("sess-[0-9a-f]{16}"))) << s->id;
  EXPECT_EQ(s->workspace, root_ + "/ws");  // resolved
  EXPECT_EQ(s->policy, "strict");
  EXPECT_GT(s->created_us, 0);
  EXPECT_EQ(s->created_us, s->last_active_us);

  std::string file = root_ + "/sessions/" + s->id + "/session.json";
  auto j = nlohmann::json::parse(slurp(file));
  EXPECT_EQ(j["id"], s->id);
  EXPECT_EQ(j["workspace"], root_ + "/ws");
  EXPECT_EQ(j["project_root"], root_ + "/ws");
  // No temp files left behind by the atomic write.
  int entries = 0;
  for (auto& e : fs::directory_iterator(root_ + "/sessions/" + s->id)) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1);

  auto loaded = store.load(s->id, &err);
  ASSERT_TRUE(loaded) << err;
  EXPECT_EQ(loaded->workspace, s->workspace);
  EXPECT_EQ(loaded->created_us, s->created_us);
}

TEST_F(SessionStoreTest, IdsAreUnique) {
  SessionStore store(root_ + "/sessions");
  std::set<std::string> ids;
  std::string err;
  for (int i = 0; i < 50; ++i) {
    auto s = store.create(root_ + "/ws", "", &err);
    ASSERT_TRUE(s) << err;
    ids.insert(s->id);
  }
  EXPECT_EQ(ids.size(), 50u);
  EXPECT_EQ(store.list().size(), 50u);
}

TEST_F(SessionStoreTest, CreateRefusesMissingWorkspaceAndFiles) {
  SessionStore store(root_ + "/sessions");
  std::string err;
  EXPECT_FALSE(store.create(root_ + "/nope", "", &err));
  EXPECT_NE(err.find(root_ + "/nope"), std::string::npos) << err;
  std::ofstream(root_ + "/afile") << "x";
  err.clear();
  EXPECT_FALSE(store.create(root_ + "/afile", "", &err));
  EXPECT_NE(err.find("not a directory"), std::string::npos) << err;
}

TEST_F(SessionStoreTest, LoadRejectsIdsThatCouldEscapeTheDirectory) {
  SessionStore store(root_ + "/sessions");
  std::string err;
  // A session.json planted outside the store must not be reachable through the id.
  fs::create_directories(root_ + "/evil");
  std::ofstream(root_ + "/evil/session.json") << R"({"id":"../evil","workspace":"/"})";
  for (std::string bad : {"../evil", "sess-../../x", "sess-0123456789ABCDEF", "sess-123", "",
                          "sess-0123456789abcdef/..", "sess-0123456789abcdeg"}) {
    err.clear();
    EXPECT_FALSE(store.load(bad, &err)) << bad;
    EXPECT_NE(err.find("invalid session id"), std::string::npos) << bad << ": " << err;
    EXPECT_FALSE(store.destroy(bad, &err)) << bad;
  }
}

TEST_F(SessionStoreTest, LoadReportsUnknownAndCorruptSessions) {
  SessionStore store(root_ + "/sessions");
  std::string err;
  EXPECT_FALSE(store.load("sess-0123456789abcdef", &err));
  EXPECT_NE(err.find("no session 'sess-0123456789abcdef'"), std::string::npos) << err;
  fs::create_directories(root_ + "/sessions/sess-00000000000000aa");
  std::ofstream(root_ + "/sessions/sess-00000000000000aa/session.json") << "{not json";
  EXPECT_FALSE(store.load("sess-00000000000000aa", &err));
  EXPECT_NE(err.find("malformed JSON"), std::string::npos) << err;
  // A corrupt session is skipped by list(), not fatal.
  ASSERT_TRUE(store.create(root_ + "/ws", "", &err));
  EXPECT_EQ(store.list().size(), 1u);
}

TEST_F(SessionStoreTest, ListIsOrderedByCreationAndIgnoresStrayEntries) {
  SessionStore store(root_ + "/sessions");
  std::string err;
  auto a = store.create(root_ + "/ws", "", &err);
  auto b = store.create(root_ + "/ws", "", &err);
  ASSERT_TRUE(a && b);
  fs::create_directories(root_ + "/sessions/not-a-session");
  std::ofstream(root_ + "/sessions/README") << "x";
  auto all = store.list();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, a->id);
  EXPECT_EQ(all[1].id, b->id);
}

TEST_F(SessionStoreTest, DestroyRemovesTheWholeSessionDirectory) {
  SessionStore store(root_ + "/sessions");
  std::string err;
  auto s = store.create(root_ + "/ws", "", &err);
  ASSERT_TRUE(s);
  std::string dir = root_ + "/sessions/" + s->id;
  fs::create_directories(dir + "/trash/deep");
  std::ofstream(dir + "/trash/deep/file") << "x";
  ASSERT_TRUE(store.destroy(s->id, &err)) << err;
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(store.load(s->id, &err));
  EXPECT_FALSE(store.destroy(s->id, &err));
  EXPECT_NE(err.find("no session"), std::string::npos) << err;
}

TEST_F(SessionStoreTest, TouchAdvancesLastActiveOnly) {
  SessionStore store(root_ + "/sessions");
  std::string err;
  auto s = store.create(root_ + "/ws", "p", &err);
  ASSERT_TRUE(s);
  usleep(2000);
  ASSERT_TRUE(store.touch(s->id));
  auto t = store.load(s->id, &err);
  ASSERT_TRUE(t);
  EXPECT_GT(t->last_active_us, s->last_active_us);
  EXPECT_EQ(t->created_us, s->created_us);
  EXPECT_EQ(t->policy, "p");
  EXPECT_FALSE(store.touch("sess-0123456789abcdef"));
}

TEST_F(SessionStoreTest, UnwritableDirectoryIsAClearError) {
  std::ofstream(root_ + "/blocker") << "x";
  SessionStore store(root_ + "/blocker/sessions");  // a file where a directory must be
  std::string err;
  EXPECT_FALSE(store.create(root_ + "/ws", "", &err));
  EXPECT_NE(err.find(root_ + "/blocker/sessions"), std::string::npos) << err;
}

}  // namespace
}  // namespace agentsh
