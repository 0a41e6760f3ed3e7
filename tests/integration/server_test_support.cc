#include "tests/integration/server_test_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>

#include "tests/integration/exec_support.h"

namespace agentsh::server_test {

namespace {

int status_of(int st) {
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

}  // namespace

ServerProcess::~ServerProcess() {
  if (pid_ > 0) stop();
}

bool ServerProcess::start(const std::string& config, const std::vector<std::string>& env,
                          const std::vector<std::string>& extra_args, std::string* why) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  std::vector<std::string> argv = {testing_support::agentsh_bin(), "server", "--config", config};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(p[1], 2);
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    std::vector<char*> a, e;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    for (auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  close(p[1]);
  err_fd_ = p[0];
  reader_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      ssize_t n = read(err_fd_, buf, sizeof buf);
      if (n <= 0) break;
      std::lock_guard<std::mutex> lk(mu_);
      log_.append(buf, static_cast<size_t>(n));
    }
  });
  for (int i = 0; i < 300; ++i) {  // up to 30 s
    std::string l = log();
    auto pos = l.find("listening on http://");
    if (pos != std::string::npos && l.find('\n', pos) != std::string::npos) {
      url_ = l.substr(pos + 13, l.find(' ', pos + 13) - pos - 13);
      port_ = std::stoi(url_.substr(url_.rfind(':') + 1));
      return true;
    }
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      if (reader_.joinable()) reader_.join();
      if (why) *why = "server exited " + std::to_string(status_of(st)) + ": " + log();
      return false;
    }
    usleep(100000);
  }
  if (why) *why = "server did not start: " + log();
  return false;
}

int ServerProcess::wait_exit(int timeout_s) {
  for (int i = 0; i < timeout_s * 20; ++i) {
    int st;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      pid_ = -1;
      if (reader_.joinable()) reader_.join();
      close(err_fd_);
      err_fd_ = -1;
      return status_of(st);
    }
    usleep(50000);
  }
  return -1;
}

int ServerProcess::stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  int rc = wait_exit(30);
  if (rc == -1 && pid_ > 0) {
    kill(pid_, SIGKILL);
    rc = wait_exit(10);
  }
  return rc;
}

std::string ServerProcess::log() const {
  std::lock_guard<std::mutex> lk(mu_);
  return log_;
}

std::unique_ptr<httplib::Client> ServerProcess::client(int read_timeout_s) const {
  auto c = std::make_unique<httplib::Client>(url_);
  c->set_connection_timeout(5, 0);
  c->set_read_timeout(read_timeout_s, 0);
  c->set_write_timeout(10, 0);
  return c;
}

std::string write_server_config(const std::string& dir, const std::string& extra,
                                const std::string& sessions_extra) {
  std::string cfg =
      "server:\n  http:\n    addr: \"127.0.0.1:0\"\n    max_request_size: \"64KB\"\n"
      "sessions:\n  base_dir: \"" +
      dir + "/sessions\"\n" + sessions_extra +
      "audit:\n  enabled: true\n  storage:\n    sqlite_path: \"" + dir +
      "/events.db\"\n"
      "policies:\n  dir: \"" +
      dir + "/policies\"\n" + extra;
  std::string path = dir + "/config.yaml";
  std::ofstream(path) << cfg;
  return path;
}

std::vector<std::string> clean_env(const std::vector<std::string>& extra) {
  std::vector<std::string> e = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C"};
  e.insert(e.end(), extra.begin(), extra.end());
  return e;
}

bool exec_available() {
  auto r = testing_support::run({testing_support::agentsh_bin(), "exec", "--", "/bin/true"},
                                clean_env());
  return r.err.find("not available in this build yet") == std::string::npos;
}

}  // namespace agentsh::server_test
