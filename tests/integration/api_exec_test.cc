// How the server runs a command, independent of the real `agentsh exec`: ApiExec and an
// in-process ApiServer pointed at a fake agentsh (a shell script) that reports the argv,
// environment and file descriptors it got, and writes audit rows like exec would.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "agentsh/api_exec.h"
#include "agentsh/api_server.h"
#include "common/scoped_fd.h"
#include "tests/integration/exec_support.h"

namespace agentsh {
namespace {

using Json = nlohmann::json;
using testing_support::TempDir;

std::vector<std::string> lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) v.push_back(l);
  return v;
}

// True once `pid` is gone or a zombie (SIGKILL is delivered asynchronously: wait a bit).
bool dies(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string s;
    std::getline(stat, s);
    if (s.empty() || s.find(") Z ") != std::string::npos) return true;
    usleep(10000);
  }
  return false;
}

class ApiExecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    signal(SIGPIPE, SIG_IGN);
    dir_.write("ws/sub/x", "");
  }
  // A fake agentsh whose body is `script` (sh); "$@" is what the server passed.
  std::string fake(const std::string& script) {
    dir_.write("fake-agentsh", "#!/bin/sh\n" + script + "\n", 0755);
    return dir_.file("fake-agentsh");
  }
  ApiExec runner(const std::string& agentsh, size_t cap = 1u << 20) {
    ApiExec::Options o;
    o.agentsh = agentsh;
    o.config_path = "/etc/test/config.yaml";
    o.server_url = "http://127.0.0.1:1";
    o.output_cap = cap;
    o.kill_grace_ms = 500;
    return ApiExec(o);
  }
  ApiExecRequest request() {
    ApiExecRequest r;
    r.session_id = "sess-00000000000000ef";
    r.workspace = dir_.file("ws");
    r.command_id = "cmd-0123456789abcdef";
    r.command = "/bin/echo";
    r.args = {"a b", "--", "-c"};
    r.timeout_ms = 60000;
    return r;
  }
  TempDir dir_;
};

TEST_F(ApiExecTest, PassesTheRequestThroughExecFlags) {
  auto r = request();
  r.policy = "strict";
  r.env = {{"NODE_ENV", "production"}, {"ODD", "x = y"}};
  ApiExecResult res = runner(fake("for a in \"$@\"; do echo \"$a\"; done")).run(r);
  ASSERT_TRUE(res.started) << res.error;
  EXPECT_EQ(res.exit_code, 0);
  std::vector<std::string> want = {"exec",
                                   "--config",
                                   "/etc/test/config.yaml",
                                   "--policy",
                                   "strict",
                                   "--session",
                                   "sess-00000000000000ef",
                                   "--workspace",
                                   dir_.file("ws"),
                                   "--env",
                                   "NODE_ENV=production",
                                   "--env",
                                   "ODD=x = y",
                                   "--",
                                   "/bin/echo",
                                   "a b",
                                   "--",
                                   "-c"};
  EXPECT_EQ(lines(res.out), want);
}

TEST_F(ApiExecTest, TheEnvironmentIsCleanAndMinimal) {
  setenv("API_EXEC_TEST_SECRET", "server-secret", 1);
  ApiExecResult res = runner(fake("exec /usr/bin/env")).run(request());
  unsetenv("API_EXEC_TEST_SECRET");
  ASSERT_TRUE(res.started) << res.error;
  std::set<std::string> names;
  for (const auto& l : lines(res.out)) names.insert(l.substr(0, l.find('=')));
  std::set<std::string> allowed = {
      "PATH",           "HOME", "LANG", "TERM", "AGENTSH_COMMAND_ID",
      "AGENTSH_SERVER", "PWD"};  // PWD: set by the fake's /bin/sh itself
  for (const auto& n : names) EXPECT_TRUE(allowed.count(n)) << "leaked into the command: " << n;
  EXPECT_EQ(res.out.find("server-secret"), std::string::npos);
  EXPECT_NE(res.out.find("TERM=dumb\n"), std::string::npos) << res.out;
  EXPECT_NE(res.out.find("AGENTSH_COMMAND_ID=cmd-0123456789abcdef\n"), std::string::npos)
      << res.out;
  EXPECT_NE(res.out.find("AGENTSH_SERVER=http://127.0.0.1:1\n"), std::string::npos) << res.out;
}

TEST_F(ApiExecTest, NoServerFileDescriptorLeaks) {
  ScopedFd devnull(open("/dev/null", O_RDONLY));
  ScopedFd leaky(fcntl(devnull.get(), F_DUPFD, 50));  // no FD_CLOEXEC on purpose
  ASSERT_TRUE(leaky.valid());
  ApiExecResult res = runner(fake("exec /bin/ls -1 /proc/self/fd")).run(request());
  ASSERT_TRUE(res.started) << res.error;
  std::set<std::string> fds;
  for (const auto& l : lines(res.out)) fds.insert(l);
  EXPECT_EQ(fds.count(std::to_string(leaky.get())), 0u) << res.out;
  EXPECT_EQ(fds, (std::set<std::string>{"0", "1", "2", "3"}))
      << "3 is ls's own directory: " << res.out;
}

TEST_F(ApiExecTest, RunsInTheWorkingDirectoryInItsOwnProcessGroup) {
  auto r = request();
  r.working_dir = dir_.file("ws/sub");
  ApiExecResult res = runner(fake("pwd; ps -o pgid= -p $$; ps -o pid= -p $$")).run(r);
  auto l = lines(res.out);
  ASSERT_EQ(l.size(), 3u) << res.out;
  EXPECT_EQ(l[0], dir_.file("ws/sub"));
  EXPECT_EQ(std::stol(l[1]), std::stol(l[2])) << "the command leads its own process group";
  EXPECT_NE(std::stol(l[1]), static_cast<long>(getpgrp()));
}

TEST_F(ApiExecTest, StdinIsDeliveredAndEndsWithEof) {
  auto r = request();
  r.stdin_data = std::string("bin\0ary\nand more", 16);
  ApiExecResult res = runner(fake("exec /bin/cat")).run(r);
  EXPECT_EQ(res.out, r.stdin_data);
  // A command that never reads its (large) stdin neither hangs nor hurts the server.
  r.stdin_data.assign(4u << 20, 'z');
  ApiExecResult ignored = runner(fake("echo ignored-stdin")).run(r);
  EXPECT_EQ(ignored.exit_code, 0);
  EXPECT_EQ(ignored.out, "ignored-stdin\n");
}

TEST_F(ApiExecTest, OutputBeyondTheCapIsDrainedAndFlagged) {
  ApiExecResult res =
      runner(fake("head -c 300000 /dev/zero; head -c 10 /dev/zero >&2; echo done >&2"), 100000)
          .run(request());
  EXPECT_EQ(res.exit_code, 0) << "the command must not block on a full pipe";
  EXPECT_EQ(res.out.size(), 100000u);
  EXPECT_TRUE(res.out_truncated);
  EXPECT_FALSE(res.err_truncated);
  EXPECT_EQ(res.err, std::string(10, '\0') + "done\n");
}

TEST_F(ApiExecTest, ExitStatusAndSignalsAreReported) {
  EXPECT_EQ(runner(fake("exit 3")).run(request()).exit_code, 3);
  EXPECT_EQ(runner(fake("exit 126")).run(request()).exit_code, 126);
  EXPECT_EQ(runner(fake("kill -SEGV $$")).run(request()).exit_code, 128 + SIGSEGV);
  ApiExecResult missing = runner(dir_.file("no-such-agentsh")).run(request());
  EXPECT_FALSE(missing.started);
  EXPECT_NE(missing.error.find("cannot start " + dir_.file("no-such-agentsh")), std::string::npos)
      << missing.error;
}

TEST_F(ApiExecTest, TimeoutStopsTheGroup) {
  auto r = request();
  r.timeout_ms = 300;
  std::string pidfile = dir_.file("bg.pid");
  ApiExecResult res =
      runner(fake("sleep 100 & echo $! > " + pidfile + "; trap '' TERM; wait; sleep 100")).run(r);
  EXPECT_TRUE(res.timed_out);
  EXPECT_EQ(res.exit_code, 124);
  std::ifstream f(pidfile);
  pid_t bg = 0;
  f >> bg;
  ASSERT_GT(bg, 0);
  EXPECT_TRUE(dies(bg)) << "background process " << bg << " survived the timeout";
}

TEST_F(ApiExecTest, BackgroundJobsEndWithTheCommand) {
  std::string pidfile = dir_.file("bg.pid");
  ApiExecResult res =
      runner(fake("sleep 100 & echo $! > " + pidfile + "; echo started")).run(request());
  EXPECT_EQ(res.exit_code, 0);
  EXPECT_EQ(res.out, "started\n");
  EXPECT_FALSE(res.timed_out);
  std::ifstream f(pidfile);
  pid_t bg = 0;
  f >> bg;
  ASSERT_GT(bg, 0);
  EXPECT_TRUE(dies(bg)) << "background process " << bg << " outlived the request";
}

TEST_F(ApiExecTest, CancelStopsTheCommand) {
  std::atomic<bool> cancel{false};
  std::thread t([&] {
    usleep(200000);
    cancel = true;
  });
  ApiExecResult res = runner(fake("sleep 100")).run(request(), &cancel);
  t.join();
  EXPECT_TRUE(res.cancelled);
  EXPECT_FALSE(res.timed_out);
}

// The exec endpoint's events and blocked list, with a fake exec that writes audit rows.
class ApiServerFakeExecTest : public ApiExecTest {
 protected:
  void SetUp() override {
    ApiExecTest::SetUp();
    if (access("/usr/bin/sqlite3", X_OK) != 0) GTEST_SKIP() << "needs the sqlite3 command";
    cfg_.http_addr = "127.0.0.1:0";
    cfg_.sessions_dir = dir_.file("sessions");
    cfg_.audit_db = dir_.file("events.db");
    cfg_.source = "<test>";
  }
  void start(const std::string& fake_body) {
    ApiServer::Options o;
    o.agentsh = fake(fake_body);
    server_ = std::make_unique<ApiServer>(cfg_, o);
    std::string err;
    ASSERT_TRUE(server_->start(&err)) << err;
    thread_ = std::thread([this] { server_->run(); });
    cli_ = std::make_unique<httplib::Client>(server_->url());
    cli_->set_read_timeout(30, 0);
    auto r = cli_->Post("/api/v1/sessions", Json{{"workspace", dir_.file("ws")}}.dump(),
                        "application/json");
    ASSERT_TRUE(r && r->status == 201);
    sid_ = Json::parse(r->body)["id"];
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  // A SQL insert the fake runs, tagged with the given command id expression.
  std::string insert(const std::string& cmd_id_expr, const std::string& effective,
                     const std::string& rule, const std::string& target) {
    return "sqlite3 '" + cfg_.audit_db +
           "' \"INSERT INTO "
           "events(ts_us,session,command_id,type,operation,target,decision,effective,"
           "rule,source) VALUES($(date +%s%6N),'$SESSION','" +
           cmd_id_expr + "','file','write','" + target + "','" + effective + "','" + effective +
           "','" + rule + "','hook')\"";
  }
  Config cfg_;
  std::unique_ptr<ApiServer> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> cli_;
  std::string sid_;
};

TEST_F(ApiServerFakeExecTest, EventsAreTheCommandsOwnAndDenialsAreListed) {
  // The fake picks the session id out of its --session argument, as exec would.
  std::string body =
      "SESSION=''; prev=''; for a in \"$@\"; do [ \"$prev\" = --session ] && SESSION=$a; prev=$a; "
      "done\n" +
      insert("$AGENTSH_COMMAND_ID", "deny", "no-etc-writes", "/etc/passwd") + "\n" +
      insert("$AGENTSH_COMMAND_ID", "allow", "tmp-ok", "/tmp/x") + "\n" +
      insert("cmd-someoneelse0000", "deny", "other", "/etc/other") + "\necho ran";
  start(body);
  auto r = cli_->Post("/api/v1/sessions/" + sid_ + "/exec", R"({"command":"/bin/true"})",
                      "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  Json j = Json::parse(r->body);
  EXPECT_EQ(j["result"]["stdout"], "ran\n");
  ASSERT_EQ(j["events"].size(), 2u) << j.dump();
  for (const auto& ev : j["events"]) EXPECT_EQ(ev["command_id"], j["result"]["command_id"]);
  ASSERT_EQ(j["result"]["blocked"].size(), 1u) << j.dump();
  EXPECT_EQ(j["result"]["blocked"][0]["rule"], "no-etc-writes");
  EXPECT_EQ(j["result"]["blocked"][0]["target"], "/etc/passwd");
  EXPECT_EQ(j["result"]["blocked"][0]["operation"], "write");
}

TEST_F(ApiServerFakeExecTest, ADenialWithoutAuditRowsIsStillReported) {
  start("echo 'agentsh: blocked by policy: rule=block-shell-escape command=sudo' >&2; exit 126");
  auto r =
      cli_->Post("/api/v1/sessions/" + sid_ + "/exec", R"({"command":"sudo"})", "application/json");
  ASSERT_TRUE(r && r->status == 200);
  Json j = Json::parse(r->body);
  EXPECT_EQ(j["result"]["exit_code"], 126);
  ASSERT_EQ(j["result"]["blocked"].size(), 1u) << j.dump();
  EXPECT_EQ(j["result"]["blocked"][0]["rule"], "block-shell-escape");
  EXPECT_EQ(j["result"]["blocked"][0]["target"], "sudo");
  auto m = cli_->Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(m->body.find("agentsh_api_exec_total{result=\"blocked\"} 1"), std::string::npos)
      << m->body;
}

TEST_F(ApiServerFakeExecTest, AnAgentshThatCannotStartIs500) {
  start("exit 0");
  server_->stop();
  thread_.join();
  ApiServer::Options o;
  o.agentsh = dir_.file("missing-agentsh");
  server_ = std::make_unique<ApiServer>(cfg_, o);
  std::string err;
  ASSERT_TRUE(server_->start(&err)) << err;
  thread_ = std::thread([this] { server_->run(); });
  cli_ = std::make_unique<httplib::Client>(server_->url());
  auto r = cli_->Post("/api/v1/sessions/" + sid_ + "/exec", R"({"command":"/bin/true"})",
                      "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("cannot start"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace agentsh
