// The HTTP API of a real `agentsh server` on an ephemeral loopback port: every endpoint,
// every bad request, slow clients, server-sent events, and commands run through
// `agentsh exec` (skipped, and saying so, while exec is not in the build).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "agentsh/audit_store.h"
#include "common/scoped_fd.h"
#include "tests/integration/exec_support.h"
#include "tests/integration/server_test_support.h"

namespace agentsh {
namespace {

using Json = nlohmann::json;
using server_test::clean_env;
using server_test::ServerProcess;
using testing_support::TempDir;

class ApiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    start("");
  }
  void start(const std::string& extra_config, const std::vector<std::string>& extra_env = {},
             const std::string& sessions_extra = "") {
    if (server_) server_->stop();
    server_ = std::make_unique<ServerProcess>();
    config_ = server_test::write_server_config(dir_.path(), extra_config, sessions_extra);
    dir_.write("ws/sub/file.txt", "x");
    std::string why;
    ASSERT_TRUE(server_->start(config_, clean_env(extra_env), {}, &why)) << why;
    cli_ = server_->client();
  }
  Json json_of(const httplib::Result& r) {
    EXPECT_TRUE(r) << "no response";
    if (!r) return nullptr;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << r->body;
    return Json::parse(r->body, nullptr, false);
  }
  // Asserts a JSON error with `status` whose message contains `needle`.
  void expect_error(const httplib::Result& r, int status, const std::string& needle) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    Json j = json_of(r);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_NE(j["error"].get<std::string>().find(needle), std::string::npos) << r->body;
  }
  std::string create_session(const std::string& ws = "") {
    Json body = {{"workspace", ws.empty() ? dir_.file("ws") : ws}};
    auto r = cli_->Post("/api/v1/sessions", body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no response");
    return r ? Json::parse(r->body, nullptr, false).value("id", "") : "";
  }
  Json exec(const std::string& sid, const Json& body) {
    auto r = cli_->Post("/api/v1/sessions/" + sid + "/exec", body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no response");
    return r ? Json::parse(r->body, nullptr, false) : Json();
  }

  TempDir dir_;
  std::string config_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<httplib::Client> cli_;
};

TEST_F(ApiServerTest, HealthReadyAndMetrics) {
  auto h = cli_->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(h->body, "ok");
  auto r = cli_->Get("/ready");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ready");
  std::string sid = create_session();
  auto m = cli_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  for (const char* line :
       {"# TYPE agentsh_sessions gauge\nagentsh_sessions 1\n",
        "agentsh_sessions_total{event=\"created\"} 1\n",
        "# TYPE agentsh_approvals_pending gauge\nagentsh_approvals_pending 0\n",
        "# TYPE agentsh_decisions_total counter\n", "# TYPE agentsh_commands_total counter\n",
        "agentsh_http_responses_total{code=\"2xx\"}"})
    EXPECT_NE(m->body.find(line), std::string::npos) << line << "\n" << m->body;
  // The session's audit row reaches the decision counters (the follower polls each second).
  bool counted = false;
  for (int i = 0; i < 100 && !counted; ++i) {
    auto again = cli_->Get("/metrics");
    counted = again && again->body.find(
                           "agentsh_decisions_total{type=\"session\",decision=\"allow\","
                           "outcome=\"allow\"} 1") != std::string::npos;
    if (!counted) usleep(100000);
  }
  EXPECT_TRUE(counted);
}

TEST_F(ApiServerTest, SessionsCreateListGetDelete) {
  auto r = cli_->Post("/api/v1/sessions", Json{{"workspace", dir_.file("ws/sub")}}.dump(),
                      "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  Json s = json_of(r);
  std::string id = s["id"];
  EXPECT_TRUE(std::regex_match(id, std::regex("sess-[0-9a-f]{16}"))) << id;
  EXPECT_EQ(s["workspace"], dir_.file("ws/sub"));
  EXPECT_EQ(s["project_root"], dir_.file("ws/sub"));
  EXPECT_TRUE(dir_.exists("sessions/" + id + "/session.json"));

  // One made by the CLI shows up too: same store.
  auto cli = testing_support::run({testing_support::agentsh_bin(), "session", "create", "--config",
                                   config_, "--workspace", dir_.file("ws")},
                                  clean_env());
  ASSERT_EQ(cli.status, 0) << cli.err;
  std::string cli_id = cli.out.substr(0, cli.out.find('\n'));

  Json list = json_of(cli_->Get("/api/v1/sessions"));
  ASSERT_EQ(list["sessions"].size(), 2u) << list.dump();
  EXPECT_EQ(list["sessions"][0]["id"], id);
  EXPECT_EQ(list["sessions"][1]["id"], cli_id);

  Json got = json_of(cli_->Get("/api/v1/sessions/" + cli_id));
  EXPECT_EQ(got["workspace"], dir_.file("ws"));

  auto d = cli_->Delete("/api/v1/sessions/" + id);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->status, 200);
  EXPECT_EQ(json_of(d)["deleted"], id);
  EXPECT_FALSE(dir_.exists("sessions/" + id));
  expect_error(cli_->Get("/api/v1/sessions/" + id), 404, "no session");
  expect_error(cli_->Delete("/api/v1/sessions/" + id), 404, "no session");
  EXPECT_EQ(json_of(cli_->Get("/api/v1/sessions"))["sessions"].size(), 1u);
}

TEST_F(ApiServerTest, BadSessionRequests) {
  expect_error(cli_->Post("/api/v1/sessions", "{\"workspace\":", "application/json"), 400,
               "malformed JSON");
  expect_error(cli_->Post("/api/v1/sessions", "[1,2]", "application/json"), 400,
               "must be a JSON object");
  expect_error(cli_->Post("/api/v1/sessions", "{}", "application/json"), 400,
               "missing 'workspace'");
  expect_error(cli_->Post("/api/v1/sessions", R"({"workspace":42})", "application/json"), 400,
               "'workspace' must be a string");
  expect_error(
      cli_->Post("/api/v1/sessions", R"({"workspace":"relative/dir"})", "application/json"), 400,
      "absolute path");
  expect_error(cli_->Post("/api/v1/sessions", Json{{"workspace", dir_.file("nope")}}.dump(),
                          "application/json"),
               400, "not an existing directory");
  expect_error(cli_->Get("/api/v1/sessions/../../etc"), 404, "");
  expect_error(cli_->Get("/api/v1/sessions/sess-0123456789abcdef"), 404, "no session");
  expect_error(cli_->Get("/api/v1/nothing-here"), 404, "not found");
}

TEST_F(ApiServerTest, BadExecRequests) {
  std::string sid = create_session();
  std::string path = "/api/v1/sessions/" + sid + "/exec";
  auto post = [&](const std::string& body) { return cli_->Post(path, body, "application/json"); };
  expect_error(cli_->Post("/api/v1/sessions/sess-0123456789abcdef/exec",
                          R"({"command":"/bin/true"})", "application/json"),
               404, "no session 'sess-0123456789abcdef'");
  expect_error(post("{\"command\":\"/bin/true\""), 400, "malformed JSON");
  expect_error(post("{}"), 400, "missing 'command'");
  expect_error(post(R"({"command":""})"), 400, "missing 'command'");
  expect_error(post(R"({"command":["ls"]})"), 400, "'command' must be a string");
  expect_error(post(R"({"command":"ls","args":"-l"})"), 400, "'args' must be an array of strings");
  expect_error(post(R"({"command":"ls","args":["-l",3]})"), 400,
               "'args' must be an array of strings");
  expect_error(post(R"({"command":"ls","env":["A=1"]})"), 400, "'env' must be an object");
  expect_error(post(R"({"command":"ls","env":{"A":1}})"), 400, "'env' values must be strings");
  expect_error(post(R"({"command":"ls","env":{"A=B":"1"}})"), 400, "invalid variable name");
  expect_error(post(R"({"command":"ls","timeout":"soon"})"), 400, "'timeout'");
  expect_error(post(R"({"command":"ls","timeout":-1})"), 400, "'timeout'");
  expect_error(post(R"({"command":"ls","working_dir":"missing-dir"})"), 400,
               "is not an existing directory");
  expect_error(post(R"({"command":"ls","stdin":5})"), 400, "'stdin' must be a string");
}

TEST_F(ApiServerTest, OversizeBodyIs413) {
  std::string sid = create_session();
  std::string big = Json{{"command", "/bin/true"}, {"stdin", std::string(70 * 1024, 'a')}}.dump();
  auto r = cli_->Post("/api/v1/sessions/" + sid + "/exec", big, "application/json");
  expect_error(r, 413, "max_request_size (65536 bytes)");
  // The server is fine afterwards.
  auto h = cli_->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->body, "ok");
}

TEST_F(ApiServerTest, MaxSessionsIs429) {
  start("", {}, "  max_sessions: 2\n");
  create_session();
  create_session();
  expect_error(cli_->Post("/api/v1/sessions", Json{{"workspace", dir_.file("ws")}}.dump(),
                          "application/json"),
               429, "max_sessions = 2");
}

TEST_F(ApiServerTest, SlowClientsDoNotStallOthers) {
  // More half-sent requests than a fixed pool of 8 workers could hold.
  std::vector<ScopedFd> slow;
  for (int i = 0; i < 16; ++i) {
    ScopedFd s(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(server_->port()));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    std::string partial =
        i % 2 ? "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: "
              : "POST /api/v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    ASSERT_EQ(send(s.get(), partial.data(), partial.size(), 0),
              static_cast<ssize_t>(partial.size()));
    slow.push_back(std::move(s));
  }
  auto quick = server_->client(5);
  for (int i = 0; i < 20; ++i) {
    auto h = quick->Get("/health");
    ASSERT_TRUE(h) << "request " << i << " stalled behind slow clients";
    EXPECT_EQ(h->body, "ok");
  }
  std::string sid = create_session();
  EXPECT_FALSE(sid.empty());
}

TEST_F(ApiServerTest, EventsStreamFollowsTheAuditStore) {
  std::string sid = create_session(), other = create_session();
  std::string err;
  auto store = AuditStore::open(dir_.file("events.db"), &err);
  ASSERT_TRUE(store) << err;

  std::atomic<bool> seen{false};
  std::string received;
  std::mutex mu;
  std::thread reader([&] {
    auto c = server_->client(30);
    c->Get("/api/v1/sessions/" + sid + "/events", [&](const char* data, size_t n) {
      std::lock_guard<std::mutex> lk(mu);
      received.append(data, n);
      if (received.find("marker-2") != std::string::npos) {
        seen = true;
        return false;  // we have what we came for: hang up
      }
      return true;
    });
  });
  for (int i = 1; i <= 2; ++i) {
    AuditEvent ev;
    ev.session = sid;
    ev.type = "file";
    ev.operation = "read";
    ev.target = "marker-" + std::to_string(i);
    ev.decision = ev.effective = "deny";
    ev.rule = "test-rule";
    store->record(ev);
    AuditEvent noise = ev;
    noise.session = other;
    noise.target = "other-session";
    store->record(noise);
    store->flush();
    usleep(50000);
  }
  reader.join();
  ASSERT_TRUE(seen) << received;
  EXPECT_EQ(received.find("other-session"), std::string::npos) << received;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      received, m, std::regex("id: (\\d+)\nevent: audit\ndata: (\\{[^\n]*marker-1[^\n]*\\})\n\n")))
      << received;
  Json ev = Json::parse(m[2].str());
  EXPECT_EQ(ev["session"], sid);
  EXPECT_EQ(ev["rule"], "test-rule");
  EXPECT_EQ(ev["effective"], "deny");
  // Resuming after marker-1 returns marker-2 only (?follow=0: a JSON snapshot).
  Json rest =
      json_of(cli_->Get("/api/v1/sessions/" + sid + "/events?follow=0&after=" + m[1].str()));
  ASSERT_EQ(rest["events"].size(), 1u) << rest.dump();
  EXPECT_EQ(rest["events"][0]["target"], "marker-2");
  expect_error(cli_->Get("/api/v1/sessions/" + sid + "/events?after=abc"), 400, "'after'");
  expect_error(cli_->Get("/api/v1/sessions/sess-0123456789abcdef/events"), 404, "no session");
}

TEST_F(ApiServerTest, StopsCleanlyOnSigtermEvenWithAnOpenEventStream) {
  std::string sid = create_session();
  std::thread reader([&] {
    auto c = server_->client(60);
    c->Get("/api/v1/sessions/" + sid + "/events", [](const char*, size_t) { return true; });
  });
  usleep(300000);
  EXPECT_EQ(server_->stop(), 0) << server_->log();
  reader.join();
  EXPECT_NE(server_->log().find("shutting down"), std::string::npos) << server_->log();
}

// ---- commands through agentsh exec --------------------------------------------------

class ApiExecEndToEndTest : public ApiServerTest {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    if (!server_test::exec_available())
      GTEST_SKIP() << "agentsh exec reports 'not available in this build yet'";
    // The server's own environment carries a secret that must never reach commands.
    start("", {"SERVER_ONLY_SECRET=do-not-leak-7f3a"});
    sid_ = create_session();
  }
  std::string sid_;
};

TEST_F(ApiExecEndToEndTest, AllowedCommandReturnsItsOutputAndItsEvents) {
  Json r = exec(sid_, {{"command", "/bin/echo"}, {"args", {"hello", "api"}}});
  EXPECT_EQ(r["result"]["exit_code"], 0) << r.dump();
  EXPECT_EQ(r["result"]["stdout"], "hello api\n");
  EXPECT_EQ(r["result"]["stderr"], "");
  EXPECT_EQ(r["result"]["stdout_truncated"], false);
  EXPECT_EQ(r["result"]["blocked"], Json::array());
  EXPECT_TRUE(r["result"]["duration_ms"].is_number_integer());
  ASSERT_FALSE(r["events"].empty()) << r.dump();
  for (const auto& ev : r["events"]) {
    EXPECT_EQ(ev["command_id"], r["result"]["command_id"]);
    EXPECT_EQ(ev["session"], sid_);
  }
  EXPECT_EQ(r["events"][0]["type"], "exec");
}

TEST_F(ApiExecEndToEndTest, BlockedCommandIs126WithTheRule) {
  Json r = exec(sid_, {{"command", "sudo"}, {"args", {"ls"}}});
  EXPECT_EQ(r["result"]["exit_code"], 126) << r.dump();
  ASSERT_EQ(r["result"]["blocked"].size(), 1u) << r.dump();
  EXPECT_FALSE(r["result"]["blocked"][0]["rule"].get<std::string>().empty());
  EXPECT_EQ(r["result"]["blocked"][0]["operation"], "exec");
  EXPECT_NE(r["result"]["blocked"][0]["target"].get<std::string>().find("sudo"), std::string::npos);
}

TEST_F(ApiExecEndToEndTest, RequestEnvIsVisibleServerEnvIsNot) {
  Json r = exec(sid_, {{"command", "/usr/bin/printenv"},
                       {"args", {"NODE_ENV"}},
                       {"env", {{"NODE_ENV", "production"}}}});
  EXPECT_EQ(r["result"]["stdout"], "production\n") << r.dump();
  Json all = exec(sid_, {{"command", "/usr/bin/env"}});
  std::string out = all["result"]["stdout"];
  EXPECT_EQ(out.find("do-not-leak-7f3a"), std::string::npos) << out;
  EXPECT_NE(out.find("TERM=dumb\n"), std::string::npos) << out;
}

TEST_F(ApiExecEndToEndTest, StdinWorkingDirAndBinaryOutput) {
  std::string in("line1\n\0line2", 12);
  Json r = exec(sid_, {{"command", "/bin/cat"}, {"stdin", in}});
  EXPECT_EQ(r["result"]["stdout"], in) << r.dump();
  Json pwd = exec(sid_, {{"command", "/bin/pwd"}, {"working_dir", "sub"}});
  EXPECT_EQ(pwd["result"]["stdout"], dir_.file("ws/sub") + "\n") << pwd.dump();
  Json dflt = exec(sid_, {{"command", "/bin/pwd"}});
  EXPECT_EQ(dflt["result"]["stdout"], dir_.file("ws") + "\n") << dflt.dump();
}

TEST_F(ApiExecEndToEndTest, OutputIsCappedAndFlagged) {
  Json r = exec(sid_, {{"command", "/usr/bin/head"}, {"args", {"-c", "3000000", "/dev/zero"}}});
  EXPECT_EQ(r["result"]["exit_code"], 0);
  EXPECT_EQ(r["result"]["stdout_truncated"], true);
  EXPECT_EQ(r["result"]["stdout"].get<std::string>().size(), 1u << 20);
  EXPECT_EQ(r["result"]["stderr_truncated"], false);
}

TEST_F(ApiExecEndToEndTest, TimeoutKillsTheWholeProcessGroup) {
  std::string pidfile = dir_.file("ws/bg.pid");
  Json r = exec(sid_, {{"command", "/bin/sh"},
                       {"args", {"-c", "sleep 300 & echo $! > " + pidfile + "; wait"}},
                       {"timeout", "1s"}});
  EXPECT_EQ(r["result"]["timed_out"], true) << r.dump();
  EXPECT_EQ(r["result"]["exit_code"], 124);
  std::ifstream f(pidfile);
  pid_t bg = 0;
  f >> bg;
  ASSERT_GT(bg, 0) << "the background sleep never started";
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::ifstream stat("/proc/" + std::to_string(bg) + "/stat");
    std::string s;
    std::getline(stat, s);
    gone = s.empty() || s.find(") Z ") != std::string::npos;
    if (!gone) usleep(50000);
  }
  EXPECT_TRUE(gone) << "background process " << bg << " outlived the timeout";
}

}  // namespace
}  // namespace agentsh
