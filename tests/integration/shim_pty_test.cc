// The installed shell shim, driven for real: on a pseudo-terminal (openpty/forkpty) it
// must go through agentsh; on pipes it must exec the real shell directly (argv[0] kept,
// binary data byte for byte) unless forced; inside agentsh it must not recurse; and it
// must exit 126/127 exactly when it says so. Every tree is a --root temp dir.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/scoped_fd.h"
#include "tests/integration/exec_support.h"

namespace agentsh {
namespace {

using testing_support::agentsh_bin;
using testing_support::repo_root;
using testing_support::run;
using testing_support::RunResult;
using testing_support::TempDir;

struct Ran {
  int status = -1;
  std::string out;  // stdout+stderr (a pty merges them; for pipes we merge them too)
};

std::vector<char*> cvec(std::vector<std::string>& v) {
  std::vector<char*> o;
  for (auto& s : v) o.push_back(s.data());
  o.push_back(nullptr);
  return o;
}

int wait_status(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

// Runs `path` with argv (argv[0] free to differ from path) on a fresh pseudo-terminal.
Ran run_pty(const std::string& path, std::vector<std::string> argv, std::vector<std::string> env) {
  Ran r;
  int master = -1;
  pid_t pid = forkpty(&master, nullptr, nullptr, nullptr);
  if (pid < 0) return r;
  if (pid == 0) {
    auto a = cvec(argv), e = cvec(env);
    execve(path.c_str(), a.data(), e.data());
    _exit(99);
  }
  ScopedFd m(master);
  for (int idle = 0; idle < 600;) {  // up to ~60 s without output
    struct pollfd p = {m.get(), POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n == 0) {
      ++idle;
      continue;
    }
    char buf[4096];
    ssize_t got = read(m.get(), buf, sizeof buf);
    if (got <= 0) break;  // EIO: the child side closed
    r.out.append(buf, static_cast<size_t>(got));
    idle = 0;
  }
  r.status = wait_status(pid);
  return r;
}

// Runs `path` with stdin from `in_file` (or /dev/null) and stdout+stderr to `out_file`.
Ran run_pipes(const std::string& path, std::vector<std::string> argv, std::vector<std::string> env,
              const std::string& in_file = "/dev/null", const std::string& out_file = "") {
  TempDir scratch;
  std::string out = out_file.empty() ? scratch.file("out") : out_file;
  pid_t pid = fork();
  if (pid == 0) {
    int in = open(in_file.c_str(), O_RDONLY);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || o < 0) _exit(98);
    dup2(in, 0);
    dup2(o, 1);
    if (out_file.empty()) dup2(o, 2);
    setsid();  // no controlling terminal at all
    auto a = cvec(argv), e = cvec(env);
    execve(path.c_str(), a.data(), e.data());
    _exit(99);
  }
  Ran r;
  r.status = wait_status(pid);
  std::ifstream f(out, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  r.out = ss.str();
  return r;
}

std::string build_dir() {
  return repo_root() + "/build";
}

class ShimTree {
 public:
  // A merged-/usr tree whose bash is `real_shell`, with the shim installed by the CLI.
  explicit ShimTree(const std::string& real_shell) {
    root_ = dir_.path() + "/root";
    run({"/bin/mkdir", "-p", root_ + "/usr/bin"}, {});
    symlink("usr/bin", (root_ + "/bin").c_str());
    run({"/bin/cp", real_shell, root_ + "/usr/bin/bash"}, {});
    RunResult r = run({agentsh_bin(), "shim", "install-shell", "--root", root_, "--shim",
                       build_dir() + "/bin/agentsh-shell-shim", "--bash-only"},
                      {"PATH=/usr/bin:/bin"});
    install_status_ = r.status;
    install_log_ = r.out + r.err;
  }
  // A fake agentsh next to the shim: prints its argv, exits $FAKE_AGENTSH_EXIT.
  void fake_agentsh() {
    dir_.write("root/usr/bin/agentsh",
               "#!/bin/sh\nprintf 'FAKE-AGENTSH'\nfor a in \"$@\"; do printf ' [%s]' \"$a\"; done\n"
               "echo\nexit ${FAKE_AGENTSH_EXIT:-0}\n",
               0755);
  }
  void shim_conf(const std::string& text) { dir_.write("root/etc/agentsh/shim.conf", text); }
  std::string bash() const { return root_ + "/bin/bash"; }  // through the /bin symlink
  std::string real() const { return root_ + "/usr/bin/bash.real"; }
  const std::string& root() const { return root_; }
  int install_status() const { return install_status_; }
  const std::string& install_log() const { return install_log_; }

 private:
  TempDir dir_;
  std::string root_, install_log_;
  int install_status_ = -1;
};

std::vector<std::string> env_with(std::vector<std::string> extra) {
  std::vector<std::string> e = {"PATH=/usr/bin:/bin", "HOME=/root", "TERM=dumb"};
  e.insert(e.end(), extra.begin(), extra.end());
  return e;
}

class ShimPtyTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string argv_prog = build_dir() + "/tests/cases/shim_argv" + GetParam();
    ASSERT_EQ(access(argv_prog.c_str(), X_OK), 0) << "build the corner cases first (make cases)";
    tree_ = std::make_unique<ShimTree>(argv_prog);
    ASSERT_EQ(tree_->install_status(), 0) << tree_->install_log();
    tree_->fake_agentsh();
  }
  std::unique_ptr<ShimTree> tree_;
};

TEST_P(ShimPtyTest, NonTtyExecsTheRealShellDirectlyKeepingArgv0) {
  Ran r = run_pipes(tree_->bash(), {"-bash", "-c", "echo x"}, env_with({}));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("FAKE-AGENTSH"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("shim-argv-ran\nargv[0]=-bash\nargv[1]=-c\nargv[2]=echo x\ntty=0\n"),
            std::string::npos)
      << r.out;
}

TEST_P(ShimPtyTest, TtyGoesThroughAgentshExec) {
  Ran r = run_pty(tree_->bash(), {"bash", "-c", "echo hi"}, env_with({}));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("FAKE-AGENTSH [exec] [--] [" + tree_->real() + "] [-c] [echo hi]"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("shim-argv-ran"), std::string::npos) << "the shell must not run directly";
}

TEST_P(ShimPtyTest, TtyLoginShellBecomesDashL) {
  Ran r = run_pty(tree_->bash(), {"-bash"}, env_with({}));
  EXPECT_NE(r.out.find("FAKE-AGENTSH [exec] [--] [" + tree_->real() + "] [-l]"), std::string::npos)
      << r.out;
}

TEST_P(ShimPtyTest, ForceEnvRoutesNonTtyThroughAgentsh) {
  Ran r = run_pipes(tree_->bash(), {"bash", "-c", "true"}, env_with({"AGENTSH_SHIM_FORCE=1"}));
  EXPECT_NE(r.out.find("FAKE-AGENTSH [exec] [--] [" + tree_->real() + "] [-c] [true]"),
            std::string::npos)
      << r.out;
  Ran off = run_pipes(tree_->bash(), {"bash", "-c", "true"}, env_with({"AGENTSH_SHIM_FORCE=0"}));
  EXPECT_NE(off.out.find("shim-argv-ran"), std::string::npos) << off.out;
}

TEST_P(ShimPtyTest, ShimConfUnderTheInstallRootForces) {
  tree_->shim_conf("# forced for this test\n  force = true\n");
  Ran r = run_pipes(tree_->bash(), {"bash", "-c", "true"}, env_with({}));
  EXPECT_NE(r.out.find("FAKE-AGENTSH"), std::string::npos) << r.out;
  tree_->shim_conf("force=false\n");
  r = run_pipes(tree_->bash(), {"bash", "-c", "true"}, env_with({}));
  EXPECT_NE(r.out.find("shim-argv-ran"), std::string::npos) << r.out;
  tree_->shim_conf("#force=true\n");
  r = run_pipes(tree_->bash(), {"bash", "-c", "true"}, env_with({}));
  EXPECT_NE(r.out.find("shim-argv-ran"), std::string::npos)
      << "a comment does not force: " << r.out;
}

TEST_P(ShimPtyTest, InsideAgentshItNeverRecurses) {
  for (const char* guard : {"AGENTSH_IN_SESSION=1", "AGENTSH_SNAPSHOT=/run/x/policy.snap"}) {
    Ran r =
        run_pty(tree_->bash(), {"bash", "-c", "true"}, env_with({guard, "AGENTSH_SHIM_FORCE=1"}));
    EXPECT_EQ(r.out.find("FAKE-AGENTSH"), std::string::npos) << guard << ": " << r.out;
    EXPECT_NE(r.out.find("tty=1"), std::string::npos) << guard << ": " << r.out;
  }
}

TEST_P(ShimPtyTest, PolicyBlockStatusPassesThrough) {
  Ran r = run_pty(tree_->bash(), {"bash", "-c", "sudo ls"}, env_with({"FAKE_AGENTSH_EXIT=126"}));
  EXPECT_EQ(r.status, 126) << r.out;
  Ran s = run_pipes(tree_->bash(), {"bash"}, env_with({"SHIM_ARGV_EXIT=7"}));
  EXPECT_EQ(s.status, 7) << "the real shell's status passes through: " << s.out;
}

TEST_P(ShimPtyTest, MissingRealShellIs127AndNamed) {
  ASSERT_EQ(unlink(tree_->real().c_str()), 0);
  for (bool tty : {false, true}) {
    Ran r = tty ? run_pty(tree_->bash(), {"bash"}, env_with({}))
                : run_pipes(tree_->bash(), {"bash"}, env_with({}));
    EXPECT_EQ(r.status, 127) << r.out;
    EXPECT_NE(r.out.find("the real shell " + tree_->real() + " is missing"), std::string::npos)
        << r.out;
  }
}

TEST_P(ShimPtyTest, MissingAgentshIs127AndSaysWhereItLooked) {
  if (access("/usr/local/bin/agentsh", F_OK) == 0 || access("/usr/bin/agentsh", F_OK) == 0)
    GTEST_SKIP() << "this host has agentsh installed in a fixed location";
  ASSERT_EQ(unlink((tree_->root() + "/usr/bin/agentsh").c_str()), 0);
  std::vector<std::string> env = {"PATH=/nonexistent-dir", "HOME=/root"};
  Ran r = run_pty(tree_->bash(), {"bash"}, env);
  EXPECT_EQ(r.status, 127) << r.out;
  EXPECT_NE(r.out.find("agentsh not found (looked at: " + tree_->root() +
                       "/usr/bin/agentsh, /usr/local/bin/agentsh, /usr/bin/agentsh, "
                       "/nonexistent-dir/agentsh)"),
            std::string::npos)
      << r.out;
}

INSTANTIATE_TEST_SUITE_P(DynamicAndStatic, ShimPtyTest, ::testing::Values("", ".static"),
                         [](const auto& info) {
                           return std::string(info.param[0] ? "Static" : "Dynamic");
                         });

// With the host's real bash as bash.real.
class ShimRealBashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tree_ = std::make_unique<ShimTree>("/bin/bash");
    ASSERT_EQ(tree_->install_status(), 0) << tree_->install_log();
  }
  std::unique_ptr<ShimTree> tree_;
};

TEST_F(ShimRealBashTest, BinaryDataPassesTheNonTtyShimByteForByte) {
  TempDir d;
  std::string data;
  {
    std::ifstream urandom("/dev/urandom", std::ios::binary);
    data.resize(1 << 20);
    urandom.read(data.data(), static_cast<std::streamsize>(data.size()));
  }
  data[0] = '\0';
  data[1] = '\r';
  data[2] = '\n';
  data[3] = '\x04';  // ^D, which a terminal would have eaten
  { std::ofstream(d.file("in"), std::ios::binary) << data; }
  Ran r = run_pipes(tree_->bash(), {"bash", "-c", "cat; exit 3"}, env_with({}), d.file("in"),
                    d.file("out"));
  EXPECT_EQ(r.status, 3);
  ASSERT_EQ(r.out.size(), data.size());
  EXPECT_TRUE(r.out == data) << "the output differs from the input";
}

TEST_F(ShimRealBashTest, ScriptsAndLoginShellsWork) {
  TempDir d;
  d.write("script.sh", "echo \"script-arg=$1 shell=$0\"\n");
  Ran r = run_pipes(tree_->bash(), {"bash", d.file("script.sh"), "one"}, env_with({}));
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("script-arg=one shell=" + d.file("script.sh")), std::string::npos) << r.out;
  Ran login =
      run_pipes(tree_->bash(), {"-bash", "-c", "shopt -q login_shell && echo LOGIN"}, env_with({}));
  EXPECT_NE(login.out.find("LOGIN"), std::string::npos) << login.out;
}

TEST_F(ShimRealBashTest, TtyShellRunsUnderTheRealAgentsh) {
  RunResult probe = run({agentsh_bin(), "exec", "--", "/bin/true"}, env_with({}));
  if (probe.err.find("not available in this build yet") != std::string::npos)
    GTEST_SKIP() << "agentsh exec is not in this build yet";
  TempDir state;
  std::string cfg = testing_support::write_test_config(state);
  ASSERT_EQ(symlink(agentsh_bin().c_str(), (tree_->root() + "/usr/bin/agentsh").c_str()), 0);
  testing_support::make_fake_tool(state, "sudo");
  std::vector<std::string> env =
      env_with({"AGENTSH_CONFIG=" + cfg, "PATH=" + state.path() + "/bin:/usr/bin:/bin"});
  Ran ok = run_pty(tree_->bash(), {"bash", "-c", "echo governed-$((6*7))"}, env);
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("governed-42"), std::string::npos) << ok.out;
  Ran blocked = run_pty(tree_->bash(), {"bash", "-c", "sudo whoami"}, env);
  EXPECT_EQ(blocked.out.find("EXECUTED-sudo"), std::string::npos) << blocked.out;
  EXPECT_NE(blocked.status, 0) << blocked.out;
  EXPECT_FALSE(state.exists("ran-sudo"));
}

}  // namespace
}  // namespace agentsh
