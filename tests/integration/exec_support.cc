#include "tests/integration/exec_support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace agentsh::testing_support {

std::string repo_root() {
  char buf[PATH_MAX];
  return getcwd(buf, sizeof buf) ? buf : ".";
}

std::string agentsh_bin() {
  return repo_root() + "/build/bin/agentsh";
}

RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
              const std::string& input, int timeout_s, const std::string& cwd) {
  RunResult r;
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) return r;
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    dup2(in[0], 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    std::vector<char*> a, e;
    for (auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    for (auto& s : env) e.push_back(const_cast<char*>(s.c_str()));
    e.push_back(nullptr);
    execve(a[0], a.data(), e.data());
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  close(err[1]);
  if (!input.empty()) {
    signal(SIGPIPE, SIG_IGN);
    [[maybe_unused]] ssize_t w = write(in[1], input.data(), input.size());
  }
  close(in[1]);
  struct pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  time_t deadline = time(nullptr) + timeout_s;
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    int left = static_cast<int>(deadline - time(nullptr));
    if (left <= 0) {
      timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    if (poll(p, 2, left * 1000) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP))) continue;
      char buf[4096];
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      if (n <= 0) {
        close(p[i].fd);
        p[i].fd = -1;
        --open_fds;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& pf : p)
    if (pf.fd >= 0) close(pf.fd);
  int status = 0;
  waitpid(pid, &status, 0);
  if (timed_out)
    r.status = -1;
  else if (WIFEXITED(status))
    r.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.status = 128 + WTERMSIG(status);
  return r;
}

TempDir::TempDir() {
  char t[] = "/tmp/agentsh-it-XXXXXX";
  if (mkdtemp(t)) path_ = t;
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  if (!path_.empty()) [[maybe_unused]]
    int rc = system(("rm -rf '" + path_ + "'").c_str());
}

void TempDir::write(const std::string& name, const std::string& content, int mode) const {
  std::string p = file(name);
  auto slash = p.find_last_of('/');
  [[maybe_unused]] int rc = system(("mkdir -p '" + p.substr(0, slash) + "'").c_str());
  std::ofstream(p) << content;
  chmod(p.c_str(), static_cast<mode_t>(mode));
}

std::string TempDir::read(const std::string& name) const {
  std::ifstream in(file(name));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool TempDir::exists(const std::string& name) const {
  return access(file(name).c_str(), F_OK) == 0;
}

std::string write_test_config(const TempDir& dir, const std::string& extra) {
  std::string cfg = "sessions:\n  base_dir: \"" + dir.path() +
                    "/state/sessions\"\n"
                    "audit:\n  enabled: true\n  storage:\n    sqlite_path: \"" +
                    dir.path() +
                    "/state/events.db\"\n"
                    "policies:\n  dir: \"" +
                    dir.path() + "/policies\"\n  default_policy: \"default\"\n" + extra;
  dir.write("config.yaml", cfg);
  return dir.file("config.yaml");
}

void make_fake_tool(const TempDir& dir, const std::string& name) {
  dir.write(
      "bin/" + name,
      "#!/bin/sh\ntouch '" + dir.file("ran-" + name) + "'\necho \"EXECUTED-" + name + " $*\"\n",
      0755);
}

std::vector<std::string> base_env(const TempDir& dir) {
  return {"PATH=" + dir.path() + "/bin:/usr/local/bin:/usr/bin:/bin", "HOME=/root", "LANG=C"};
}

}  // namespace agentsh::testing_support
