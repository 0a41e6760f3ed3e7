// The `agentsh server`, `agentsh session` and `agentsh detect` commands as a user runs
// them: start-up failures that say what to fix, session expiry, session CLI, detect.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <regex>

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

RunResult agentsh(const std::vector<std::string>& args,
                  const std::vector<std::string>& env = clean_env()) {
  std::vector<std::string> argv = {agentsh_bin()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, env);
}

TEST(ServerCliTest, UnknownArgumentsAreUsageErrors) {
  RunResult r = agentsh({"server", "--bogus"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown option --bogus"), std::string::npos) << r.err;
  EXPECT_EQ(agentsh({"server", "extra"}).status, 2);
}

TEST(ServerCliTest, ABadConfigIsNamed) {
  TempDir d;
  d.write("config.yaml", "server:\n  http:\n    adr: \"127.0.0.1:0\"\n");
  RunResult r = agentsh({"server", "--config", d.file("config.yaml")});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(d.file("config.yaml")), std::string::npos) << r.err;
}

TEST(ServerCliTest, AnAddressInUseIsAClearError) {
  signal(SIGPIPE, SIG_IGN);
  TempDir d;
  std::string cfg = server_test::write_server_config(d.path());
  ServerProcess first;
  std::string why;
  ASSERT_TRUE(first.start(cfg, clean_env(), {}, &why)) << why;
  std::string addr = "127.0.0.1:" + std::to_string(first.port());
  RunResult r = agentsh({"server", "--config", cfg, "--addr", addr});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("cannot listen on " + addr), std::string::npos) << r.err;
}

TEST(ServerCliTest, AnUnusableSessionsDirectoryIsAClearError) {
  TempDir d;
  d.write("blocker", "a file where a directory must be");
  std::string cfg = server_test::write_server_config(d.path());
  d.write("config.yaml", "server:\n  http:\n    addr: \"127.0.0.1:0\"\nsessions:\n  base_dir: \"" +
                             d.file("blocker/sessions") +
                             "\"\naudit:\n  storage:\n    sqlite_path: \"" + d.file("events.db") +
                             "\"\n");
  RunResult r = agentsh({"server", "--config", cfg});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("sessions.base_dir"), std::string::npos) << r.err;
}

TEST(ServerCliTest, IdleSessionsExpire) {
  signal(SIGPIPE, SIG_IGN);
  TempDir d;
  std::string cfg =
      server_test::write_server_config(d.path(), "", "  default_idle_timeout: \"2s\"\n");
  d.write("ws/x", "");
  ServerProcess srv;
  std::string why;
  ASSERT_TRUE(srv.start(cfg, clean_env(), {}, &why)) << why;
  auto cli = srv.client();
  auto r =
      cli->Post("/api/v1/sessions", Json{{"workspace", d.file("ws")}}.dump(), "application/json");
  ASSERT_TRUE(r && r->status == 201);
  std::string id = Json::parse(r->body)["id"];
  // A second session is used only by `agentsh exec --session` (its audit rows show it).
  auto r2 =
      cli->Post("/api/v1/sessions", Json{{"workspace", d.file("ws")}}.dump(), "application/json");
  ASSERT_TRUE(r2 && r2->status == 201);
  std::string busy = Json::parse(r2->body)["id"];
  std::string err;
  auto store = AuditStore::open(d.file("events.db"), &err);
  ASSERT_TRUE(store) << err;
  bool expired = false;
  for (int i = 0; i < 300 && !expired; ++i) {
    AuditEvent ev;
    ev.session = busy;
    ev.type = "exec";
    ev.operation = "exec";
    ev.target = "make";
    ev.decision = ev.effective = "allow";
    store->record(ev);
    store->flush();
    auto g = cli->Get("/api/v1/sessions/" + id);
    expired = g && g->status == 404;
    if (!expired) usleep(100000);
  }
  EXPECT_TRUE(expired) << "an idle session outlived sessions.default_idle_timeout";
  EXPECT_FALSE(d.exists("sessions/" + id));
  // Several janitor rounds later the busy one is still there.
  for (int i = 0; i < 30; ++i) {
    AuditEvent ev;
    ev.session = busy;
    ev.type = "file";
    ev.decision = ev.effective = "allow";
    store->record(ev);
    store->flush();
    usleep(100000);
  }
  auto still = cli->Get("/api/v1/sessions/" + busy);
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200) << "a session in use through exec was expired";
}

TEST(SessionCliTest, CreateListDestroyWithoutAServer) {
  TempDir d;
  std::string cfg = server_test::write_server_config(d.path());
  d.write("repo/.git/HEAD", "ref: refs/heads/main\n");
  d.write("repo/pkg/package.json", "{}");
  auto env = clean_env({"AGENTSH_CONFIG=" + cfg});  // found through the environment

  RunResult c = agentsh({"session", "create", "--workspace", d.file("repo/pkg"), "--json"}, env);
  ASSERT_EQ(c.status, 0) << c.err;
  Json j = Json::parse(c.out);
  std::string id = j["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("sess-[0-9a-f]{16}"))) << id;
  EXPECT_EQ(j["workspace"], d.file("repo/pkg"));
  EXPECT_EQ(j["project_root"], d.file("repo/pkg"));
  EXPECT_EQ(j["git_root"], d.file("repo"));
  EXPECT_TRUE(d.exists("sessions/" + id + "/session.json"));

  RunResult plain = agentsh({"session", "create", "--workspace", d.file("repo")}, env);
  ASSERT_EQ(plain.status, 0) << plain.err;
  EXPECT_TRUE(std::regex_match(plain.out, std::regex("sess-[0-9a-f]{16}\n"))) << plain.out;

  RunResult l = agentsh({"session", "list", "--json"}, env);
  ASSERT_EQ(l.status, 0) << l.err;
  Json list = Json::parse(l.out);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["id"], id);
  RunResult text = agentsh({"session", "list", "--config", cfg});
  EXPECT_NE(text.out.find(id), std::string::npos) << text.out;

  RunResult del = agentsh({"session", "destroy", id}, env);
  EXPECT_EQ(del.status, 0) << del.err;
  EXPECT_EQ(del.out, "destroyed " + id + "\n");
  RunResult again = agentsh({"session", "destroy", id}, env);
  EXPECT_EQ(again.status, 1);
  EXPECT_NE(again.err.find("no session '" + id + "'"), std::string::npos) << again.err;
}

TEST(SessionCliTest, UsageAndWorkspaceErrors) {
  TempDir d;
  std::string cfg = server_test::write_server_config(d.path());
  EXPECT_EQ(agentsh({"session"}).status, 2);
  EXPECT_EQ(agentsh({"session", "frobnicate"}).status, 2);
  EXPECT_EQ(agentsh({"session", "create", "--config", cfg}).status, 2);
  EXPECT_EQ(agentsh({"session", "destroy", "--config", cfg}).status, 2);
  RunResult missing =
      agentsh({"session", "create", "--config", cfg, "--workspace", d.file("nope")});
  EXPECT_EQ(missing.status, 1);
  EXPECT_NE(missing.err.find(d.file("nope")), std::string::npos) << missing.err;
}

TEST(DetectCliTest, PrintsTheScoreInTextAndJson) {
  RunResult t = agentsh({"detect"});
  ASSERT_EQ(t.status, 0) << t.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(t.out, m, std::regex("\nProtection Score: (\\d+)/100\n"))) << t.out;
  EXPECT_NE(t.out.find("Layers agentsh will use:"), std::string::npos);
  RunResult j = agentsh({"detect", "--json"});
  ASSERT_EQ(j.status, 0) << j.err;
  Json doc = Json::parse(j.out);
  EXPECT_EQ(doc["score"], std::stoi(m[1].str()));
  EXPECT_EQ(doc["probes"].size(), 13u);
  EXPECT_EQ(agentsh({"detect", "--verbose"}).status, 2);
}

}  // namespace
}  // namespace agentsh
