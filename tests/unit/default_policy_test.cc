// The shipped default policy (conf/policies/default.yaml): everyday development is
// allowed, secrets / system writes / private networks / escalation are not, credentials
// and installs need approval. Checked with a separate home and workspace, and with the
// workspace being the home directory (common in containers), where ordering matters.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "policy/engine.h"
#include "policy/loader.h"

namespace agentsh::policy {
namespace {

using Argv = std::vector<std::string>;

std::string repo_file(const std::string& rel) {
  std::string here = __FILE__;  // tests/unit/default_policy_test.cc
  return here.substr(0, here.rfind('/') + 1) + "../../" + rel;
}

std::unique_ptr<Engine> shipped_default(const Variables& vars,
                                        ApprovalMode mode = ApprovalMode::kNone) {
  LoadResult r = load_policy_file(repo_file("conf/policies/default.yaml"));
  for (const auto& d : r.errors) ADD_FAILURE() << d.format();
  EngineOptions opt;
  opt.approval_mode = mode;
  std::string err;
  auto e = Engine::compile(r.policy, vars, opt, &err);
  EXPECT_NE(e, nullptr) << err;
  return e;
}

const Variables kSeparate = {{"HOME", "/home/agent"}, {"PROJECT_ROOT", "/home/agent/proj"}};
const Variables kHomeIsWorkspace = {{"HOME", "/root"}, {"PROJECT_ROOT", "/root"}};

FileOp op_named(const std::string& name) {
  for (int i = 0; i < static_cast<int>(FileOp::kCount); ++i) {
    if (file_op_name(static_cast<FileOp>(i)) == name) return static_cast<FileOp>(i);
  }
  ADD_FAILURE() << "unknown op " << name;
  return FileOp::kRead;
}

struct FileCase {
  const char* op;
  const char* path;
  const char* want;  // policy decision
};

class DefaultPolicyFiles : public ::testing::TestWithParam<FileCase> {};

TEST_P(DefaultPolicyFiles, SeparateHomeAndWorkspace) {
  static auto e = shipped_default(kSeparate);
  const FileCase& c = GetParam();
  Verdict v = e->check_file(c.path, op_named(c.op));
  EXPECT_EQ(decision_name(v.decision), c.want) << c.op << " " << c.path << " → rule " << v.rule;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DefaultPolicyFiles,
    ::testing::Values(
        // the workspace
        FileCase{"write", "/home/agent/proj/src/main.c", "allow"},
        FileCase{"create", "/home/agent/proj/build/main.o", "allow"},
        FileCase{"exec", "/home/agent/proj/build/app", "allow"},
        FileCase{"rename", "/home/agent/proj/.git/index.lock", "allow"},
        FileCase{"delete", "/home/agent/proj/old.c", "soft_delete"},
        FileCase{"rmdir", "/home/agent/proj/build", "soft_delete"},
        FileCase{"read", "/home/agent/proj/.env", "approve"},
        FileCase{"read", "/home/agent/proj/config/.env.production", "approve"},
        FileCase{"read", "/home/agent/proj/.env.example", "allow"},
        // credentials
        FileCase{"read", "/home/agent/.ssh/id_ed25519", "approve"},
        FileCase{"stat", "/home/agent/.ssh/known_hosts", "approve"},
        FileCase{"read", "/home/agent/.aws/credentials", "approve"},
        FileCase{"read", "/home/agent/.kube/config", "approve"},
        FileCase{"read", "/home/agent/.git-credentials", "approve"},
        FileCase{"read", "/home/agent/.npmrc", "approve"},
        FileCase{"read", "/home/agent/.cargo/credentials.toml", "approve"},
        FileCase{"read", "/etc/shadow", "deny"}, FileCase{"stat", "/etc/shadow", "deny"},
        FileCase{"read", "/etc/sudoers", "deny"},
        // home: caches writable, configuration readable only
        FileCase{"read", "/home/agent/.gitconfig", "allow"},
        FileCase{"write", "/home/agent/.gitconfig", "deny"},
        FileCase{"write", "/home/agent/.bashrc", "deny"},
        FileCase{"read", "/home/agent/.bashrc", "allow"},
        FileCase{"write", "/home/agent/.cache/pip/http/x", "allow"},
        FileCase{"create", "/home/agent/.npm/_cacache/index-v5/x", "allow"},
        FileCase{"write", "/home/agent/.cargo/registry/cache/x.crate", "allow"},
        FileCase{"write", "/home/agent/go/pkg/mod/cache/x", "allow"},
        FileCase{"list", "/home/agent", "allow"}, FileCase{"read", "/home/agent/notes.txt", "deny"},
        FileCase{"stat", "/home/agent/notes.txt", "allow"},
        // scratch and devices
        FileCase{"write", "/tmp/x", "allow"}, FileCase{"mkdir", "/tmp", "allow"},
        FileCase{"create", "/var/tmp/x", "allow"}, FileCase{"write", "/dev/shm/sem.x", "allow"},
        FileCase{"write", "/dev/null", "allow"}, FileCase{"create", "/dev/null", "allow"},
        FileCase{"read", "/dev/urandom", "allow"}, FileCase{"write", "/dev/pts/0", "allow"},
        FileCase{"write", "/dev/tty", "allow"}, FileCase{"read", "/dev/sda", "deny"},
        FileCase{"write", "/dev/sda", "deny"},
        // the system
        FileCase{"exec", "/usr/bin/gcc", "allow"},
        FileCase{"read", "/usr/include/stdio.h", "allow"},
        FileCase{"read", "/lib/x86_64-linux-gnu/libc.so.6", "allow"},
        FileCase{"read", "/usr/share/zoneinfo/Europe/Paris", "allow"},
        FileCase{"read", "/usr/lib/locale/C.utf8/LC_CTYPE", "allow"},
        FileCase{"list", "/", "allow"}, FileCase{"write", "/usr/bin/evil", "deny"},
        FileCase{"create", "/usr/local/bin/tool", "deny"}, FileCase{"write", "/bin/sh", "deny"},
        FileCase{"exec", "/usr/bin/sudo", "deny"}, FileCase{"read", "/bin/su", "deny"},
        FileCase{"access", "/usr/sbin/chroot", "deny"},
        // /etc: the runtime's reads yes, writes never
        FileCase{"read", "/etc/hosts", "allow"}, FileCase{"read", "/etc/resolv.conf", "allow"},
        FileCase{"read", "/etc/nsswitch.conf", "allow"},
        FileCase{"read", "/etc/host.conf", "allow"}, FileCase{"read", "/etc/gai.conf", "allow"},
        FileCase{"read", "/etc/services", "allow"}, FileCase{"read", "/etc/protocols", "allow"},
        FileCase{"read", "/etc/mime.types", "allow"}, FileCase{"read", "/etc/passwd", "allow"},
        FileCase{"read", "/etc/group", "allow"}, FileCase{"read", "/etc/localtime", "allow"},
        FileCase{"read", "/etc/ssl/certs/ca-certificates.crt", "allow"},
        FileCase{"read", "/etc/ld.so.cache", "allow"},
        FileCase{"read", "/etc/ld.so.preload", "allow"},
        FileCase{"read", "/etc/ld.so.conf.d/x86_64-linux-gnu.conf", "allow"},
        FileCase{"read", "/etc/gitconfig", "allow"}, FileCase{"read", "/etc/profile", "allow"},
        FileCase{"read", "/etc/bash.bashrc", "allow"},
        FileCase{"read", "/etc/ssh/ssh_host_ed25519_key", "deny"},
        FileCase{"chown", "/home/agent/proj/pkg/x", "allow"},
        FileCase{"mknod", "/home/agent/proj/dev", "deny"},
        FileCase{"read", "/run/systemd/resolve/stub-resolv.conf", "allow"},
        FileCase{"write", "/etc/hosts", "deny"}, FileCase{"create", "/etc/test", "deny"},
        FileCase{"mkdir", "/etc/agentsh-test-dir", "deny"},
        FileCase{"read", "/etc/crontab", "deny"}, FileCase{"write", "/var/test", "deny"},
        // /proc and /sys
        FileCase{"read", "/proc/self/status", "allow"},
        FileCase{"read", "/proc/self/maps", "allow"}, FileCase{"list", "/proc/self/fd", "allow"},
        FileCase{"readlink", "/proc/self/exe", "allow"},
        FileCase{"read", "/proc/thread-self/stat", "allow"},
        FileCase{"read", "/proc/4242/status", "allow"},
        FileCase{"read", "/proc/4242/mountinfo", "allow"},
        FileCase{"read", "/proc/meminfo", "allow"}, FileCase{"read", "/proc/cpuinfo", "allow"},
        FileCase{"read", "/proc/stat", "allow"}, FileCase{"read", "/proc/filesystems", "allow"},
        FileCase{"read", "/proc/sys/kernel/osrelease", "allow"},
        FileCase{"read", "/sys/fs/cgroup/cpu.max", "allow"},
        FileCase{"read", "/sys/fs/cgroup/memory.max", "allow"},
        FileCase{"read", "/sys/devices/system/cpu/online", "allow"},
        FileCase{"read", "/proc/1/environ", "deny"}, FileCase{"read", "/proc/self/environ", "deny"},
        FileCase{"read", "/proc/4242/task/4243/environ", "deny"},
        FileCase{"read", "/proc/1/mem", "deny"}, FileCase{"read", "/proc/kcore", "deny"},
        FileCase{"read", "/proc/kallsyms", "deny"},
        FileCase{"write", "/proc/sys/kernel/hostname", "deny"},
        FileCase{"write", "/proc/self/oom_score_adj", "deny"},
        FileCase{"read", "/sys/kernel/notes", "deny"},
        FileCase{"write", "/sys/fs/cgroup/cgroup.procs", "deny"}));

TEST(DefaultPolicy, HomeIsTheWorkspace) {
  auto e = shipped_default(kHomeIsWorkspace);
  // Credentials and start-up files stay protected although the workspace covers them.
  EXPECT_EQ(e->check_file("/root/.ssh/id_rsa", FileOp::kRead).decision, Decision::kApprove);
  EXPECT_EQ(e->check_file("/root/.aws/credentials", FileOp::kRead).decision, Decision::kApprove);
  EXPECT_EQ(e->check_file("/root/.bashrc", FileOp::kWrite).decision, Decision::kDeny);
  EXPECT_EQ(e->check_file("/root/.profile", FileOp::kRename).decision, Decision::kDeny);
  EXPECT_EQ(e->check_file("/root/.gitconfig", FileOp::kRead).decision, Decision::kAllow);
  EXPECT_EQ(e->check_file("/root/project/a.c", FileOp::kWrite).decision, Decision::kAllow);
  EXPECT_EQ(e->check_file("/root/project/a.c", FileOp::kDelete).decision, Decision::kSoftDelete);
}

struct CommandCase {
  Argv argv;
  const char* want;  // effect with approvals disabled: "allow" / "deny"
  const char* decision;
};

class DefaultPolicyCommands : public ::testing::TestWithParam<CommandCase> {};

TEST_P(DefaultPolicyCommands, Decide) {
  static auto e = shipped_default(kSeparate);
  const CommandCase& c = GetParam();
  Verdict v = e->check_command(c.argv);
  std::string line;
  for (const auto& a : c.argv) line += a + " ";
  EXPECT_EQ(v.effect == Effect::kAllow ? "allow" : "deny", std::string(c.want))
      << line << "→ rule " << v.rule;
  EXPECT_EQ(decision_name(v.decision), c.decision) << line << "→ rule " << v.rule;
}

INSTANTIATE_TEST_SUITE_P(
    Table, DefaultPolicyCommands,
    ::testing::Values(
        // everyday work
        CommandCase{{"git", "status"}, "allow", "allow"},
        CommandCase{{"git", "commit", "-m", "x"}, "allow", "allow"},
        CommandCase{{"git", "push", "--force-with-lease"}, "allow", "allow"},
        CommandCase{{"make", "-j2"}, "allow", "allow"},
        CommandCase{{"cmake", "-B", "build"}, "allow", "allow"},
        CommandCase{{"ninja", "-C", "build"}, "allow", "allow"},
        CommandCase{{"cc", "-O2", "-o", "x", "x.c"}, "allow", "allow"},
        CommandCase{{"/usr/bin/gcc", "-c", "x.c"}, "allow", "allow"},
        CommandCase{{"clang++", "x.cc"}, "allow", "allow"},
        CommandCase{{"ld", "-o", "x", "x.o"}, "allow", "allow"},
        CommandCase{{"as", "x.s"}, "allow", "allow"},
        CommandCase{{"python3", "setup.py", "build"}, "allow", "allow"},
        CommandCase{{"python3", "-m", "pytest"}, "allow", "allow"},
        CommandCase{{"node", "index.js"}, "allow", "allow"},
        CommandCase{{"npm", "test"}, "allow", "allow"},
        CommandCase{{"npm", "run", "build"}, "allow", "allow"},
        CommandCase{{"cargo", "build", "--release"}, "allow", "allow"},
        CommandCase{{"go", "test", "./..."}, "allow", "allow"},
        CommandCase{{"bash", "-c", "make && ./run-tests"}, "allow", "allow"},
        CommandCase{{"/bin/bash.real", "-c", "cd src && cc -c a.c"}, "allow", "allow"},
        CommandCase{{"kill", "%1"}, "allow", "allow"},
        CommandCase{{"rm", "-rf", "build"}, "allow", "allow"},
        CommandCase{{"curl", "-sSf", "https://example.com"}, "allow", "allow"},
        // installs need an approval (refused while approvals are off)
        CommandCase{{"npm", "install", "express"}, "deny", "approve"},
        CommandCase{{"npm", "i"}, "deny", "approve"},
        CommandCase{{"pip", "install", "requests"}, "deny", "approve"},
        CommandCase{{"pip3", "install", "-r", "requirements.txt"}, "deny", "approve"},
        CommandCase{{"python3", "-m", "pip", "install", "x"}, "deny", "approve"},
        CommandCase{{"cargo", "install", "ripgrep"}, "deny", "approve"},
        CommandCase{{"go", "install", "x@latest"}, "deny", "approve"},
        CommandCase{{"bash", "-c", "cd web && npm install"}, "deny", "approve"},
        CommandCase{{"git", "push", "--force", "origin", "main"}, "deny", "approve"},
        CommandCase{{"ssh", "host"}, "deny", "approve"},
        // never
        CommandCase{{"sudo", "ls"}, "deny", "deny"},
        CommandCase{{"env", "sudo", "whoami"}, "deny", "deny"},
        CommandCase{{"sh", "-c", "ls | xargs sudo"}, "deny", "deny"},
        CommandCase{{"su", "-"}, "deny", "deny"}, CommandCase{{"pkexec", "id"}, "deny", "deny"},
        CommandCase{{"nsenter", "-t", "1", "-m"}, "deny", "deny"},
        CommandCase{{"apt-get", "install", "-y", "x"}, "deny", "deny"},
        CommandCase{{"systemctl", "restart", "x"}, "deny", "deny"},
        CommandCase{{"mount", "/dev/sda1", "/mnt"}, "deny", "deny"},
        CommandCase{{"mkfs.ext4", "/dev/sda1"}, "deny", "deny"},
        CommandCase{{"nc", "-l", "4444"}, "deny", "deny"},
        CommandCase{{"rm", "-rf", "/"}, "deny", "deny"},
        CommandCase{{"rm", "-r", "-f", "~"}, "deny", "deny"},
        CommandCase{{"ip", "route", "add", "default", "via", "x"}, "deny", "deny"},
        CommandCase{{"ip", "addr"}, "allow", "allow"},
        CommandCase{{"apt", "list", "--installed"}, "allow", "allow"}));

TEST(DefaultPolicy, ApprovalsTurnAsks) {
  auto e = shipped_default(kSeparate, ApprovalMode::kTty);
  EXPECT_EQ(e->check_command({"npm", "install", "x"}).effect, Effect::kAsk);
  EXPECT_EQ(e->check_file("/home/agent/.ssh/id_rsa", FileOp::kRead).effect, Effect::kAsk);
  EXPECT_EQ(e->check_command({"sudo", "id"}).effect, Effect::kDeny);
}

TEST(DefaultPolicy, Network) {
  auto e = shipped_default(kSeparate);
  auto rule = [&](const char* d, const char* ip, uint16_t port) {
    return e->check_network(d, ip, port).rule;
  };
  EXPECT_EQ(rule("", "127.0.0.1", 3000), "allow-loopback");
  EXPECT_EQ(rule("localhost", "", 8080), "allow-localhost-name");
  EXPECT_EQ(rule("", "169.254.169.254", 80), "deny-metadata-services");
  EXPECT_EQ(rule("", "10.1.2.3", 443), "deny-private-networks");
  EXPECT_EQ(rule("", "192.168.1.1", 80), "deny-private-networks");
  EXPECT_EQ(rule("", "fd12::1", 443), "deny-private-networks");
  // A public name that resolves into a private range is still refused.
  EXPECT_EQ(rule("github.com", "10.0.0.5", 443), "deny-private-networks");
  EXPECT_EQ(rule("github.com", "140.82.121.4", 443), "allow-code-hosting");
  EXPECT_EQ(rule("github.com", "140.82.121.4", 22), "allow-code-hosting");
  EXPECT_EQ(rule("registry.npmjs.org", "", 443), "allow-package-registries");
  EXPECT_EQ(rule("files.pythonhosted.org", "", 443), "allow-package-registries");
  EXPECT_EQ(rule("api.anthropic.com", "", 443), "allow-llm-providers");
  Verdict unknown = e->check_network("example.org", "93.184.215.14", 443);
  EXPECT_EQ(unknown.decision, Decision::kApprove);
  EXPECT_EQ(unknown.effect, Effect::kDeny);
  EXPECT_EQ(unknown.message, "Agent wants to connect to example.org:443");
  EXPECT_EQ(rule("example.org", "93.184.215.14", 25), "default-deny-network");
  EXPECT_EQ(rule("", "93.184.215.14", 6667), "default-deny-network");
}

TEST(DefaultPolicy, EnvironmentDropsCredentialsOnly) {
  auto e = shipped_default(kSeparate);
  for (const char* ok : {"PATH", "HOME", "CC", "CFLAGS", "GOPATH", "NODE_ENV", "GIT_AUTHOR_NAME",
                         "PYTHONPATH", "LANG", "TERM", "MAKEFLAGS", "TOKENIZERS_PARALLELISM"}) {
    EXPECT_TRUE(e->env_allowed(ok)) << ok;
  }
  for (const char* bad :
       {"AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
        "GITHUB_TOKEN", "NPM_TOKEN", "SECRET_MASTER", "DATABASE_URL", "STRIPE_SECRET_KEY",
        "DB_PASSWORD", "SSH_AUTH_SOCK", "GOOGLE_APPLICATION_CREDENTIALS"}) {
    EXPECT_FALSE(e->env_allowed(bad)) << bad;
  }
}

}  // namespace
}  // namespace agentsh::policy
