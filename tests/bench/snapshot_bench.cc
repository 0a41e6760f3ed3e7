// Decision latency of the compiled snapshot (policy/snapshot_view.h), the code the hook
// runs on every governed open/exec/connect. Target: well under 200 ns per file decision.
//
// The snapshot mirrors the file_rules (and network_rules) of the reference default
// policy (/work/shared/reference/default-policy.yaml) with PROJECT_ROOT=/home/user/proj
// and HOME=/root expanded by hand, plus the protected paths a real session adds.
#include <benchmark/benchmark.h>

#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "policy/cidr.h"
#include "policy/decision.h"
#include "policy/glob.h"
#include "policy/snapshot_builder.h"
#include "policy/snapshot_view.h"

namespace {

using agentsh::policy::Decision;
using agentsh::policy::FileOp;
using agentsh::policy::kAllOps;
using agentsh::policy::op_bit;
using agentsh::policy::OpMask;
namespace snapshot = agentsh::snapshot;
namespace cidr = agentsh::cidr;

constexpr OpMask ops(std::initializer_list<FileOp> list) {
  OpMask m = 0;
  for (FileOp op : list) m |= op_bit(op);
  return m;
}

cidr::Cidr net(std::string_view s) {
  cidr::Cidr c{};
  if (!cidr::parse_cidr(s.data(), s.size(), &c)) abort();
  return c;
}

std::string build_reference_snapshot() {
  using F = FileOp;
  const OpMask read5 = ops({F::kRead, F::kOpen, F::kStat, F::kList, F::kReadlink});
  snapshot::Builder b;
  b.set_session("bench", "/run/agentsh/bench.sock", "/usr/lib/agentsh/libagentsh_hook.so",
                "/run/agentsh/bench.snap", "default", 18081, 18053);
  b.add_protected("/usr/lib/agentsh", snapshot::kProtectReadOnly);
  b.add_protected("/run/agentsh", snapshot::kProtectReadOnly);
  b.add_protected("/var/lib/agentsh", snapshot::kProtectHidden);

  b.add_file_rule("allow-workspace-read", "", "", read5, Decision::kAllow,
                  {"/home/user/proj", "/home/user/proj/**"});
  b.add_file_rule("allow-workspace-write", "", "",
                  ops({F::kWrite, F::kCreate, F::kMkdir, F::kChmod, F::kRename}), Decision::kAllow,
                  {"/home/user/proj", "/home/user/proj/**"});
  b.add_file_rule("soft-delete-workspace", "File quarantined (recoverable): {{.Path}}", "",
                  ops({F::kDelete, F::kRmdir}), Decision::kSoftDelete,
                  {"/home/user/proj", "/home/user/proj/**"});
  b.add_file_rule("allow-tmp", "", "", kAllOps, Decision::kAllow, {"/tmp/**", "/var/tmp/**"});
  b.add_file_rule(
      "allow-dev-nodes", "", "", kAllOps, Decision::kAllow,
      {"/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/stdin", "/dev/stdout",
       "/dev/stderr", "/dev/fd/**", "/dev/pts/**", "/dev/tty", "/dev/fuse"});
  b.add_file_rule("allow-sprite-folder-read", "", "", read5, Decision::kAllow,
                  {"/.sprite", "/.sprite/**"});
  b.add_file_rule("block-sprite-folder-write", "Cannot modify Sprites skills folder: {{.Path}}", "",
                  ops({F::kWrite, F::kCreate, F::kDelete, F::kMkdir, F::kChmod, F::kRename}),
                  Decision::kDeny, {"/.sprite/**"});
  b.add_file_rule("block-dangerous-binaries",
                  "Access to privilege escalation tool blocked: {{.Path}}", "", kAllOps,
                  Decision::kDeny,
                  {"/usr/bin/sudo", "/usr/bin/su", "/usr/bin/pkexec", "/usr/bin/doas", "/bin/su",
                   "/usr/sbin/chroot", "/usr/bin/nsenter", "/usr/bin/unshare"});
  b.add_file_rule("allow-system-read", "", "", read5, Decision::kAllow,
                  {"/usr/**", "/lib/**", "/lib64/**", "/bin/**", "/sbin/**"});
  b.add_file_rule(
      "allow-etc-minimal", "", "", ops({F::kRead, F::kOpen, F::kStat}), Decision::kAllow,
      {"/etc/hosts", "/etc/resolv.conf", "/etc/ssl/certs/**", "/etc/ca-certificates/**",
       "/etc/localtime", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d/**",
       "/etc/nsswitch.conf", "/etc/gai.conf", "/etc/passwd", "/etc/group", "/etc/mtab"});
  b.add_file_rule("allow-root-listing", "", "", ops({F::kRead, F::kOpen, F::kStat, F::kList}),
                  Decision::kAllow, {"/"});
  b.add_file_rule("approve-ssh-access", "Agent wants to access SSH keys: {{.Path}}", "", kAllOps,
                  Decision::kApprove, {"/root/.ssh/**", "/root/.ssh/**"});
  b.add_file_rule("approve-aws-credentials", "Agent wants to access AWS credentials: {{.Path}}", "",
                  kAllOps, Decision::kApprove, {"/root/.aws/**", "/root/.aws/**"});
  b.add_file_rule(
      "approve-cloud-credentials", "Agent wants to access cloud credentials: {{.Path}}", "",
      kAllOps, Decision::kApprove,
      {"/root/.gcloud/**", "/root/.azure/**", "/root/.config/gcloud/**", "/root/.kube/**"});
  b.add_file_rule("approve-env-files", "Agent wants to access environment file: {{.Path}}", "",
                  kAllOps, Decision::kApprove, {"**/.env", "**/.env.*"});
  b.add_file_rule("approve-git-credentials", "Agent wants to access git credentials: {{.Path}}", "",
                  kAllOps, Decision::kApprove, {"/root/.git-credentials", "**/.netrc"});
  b.add_file_rule("allow-cache-read", "", "", ops({F::kRead, F::kOpen, F::kStat, F::kList}),
                  Decision::kAllow,
                  {"/root/.npm/**", "/root/.cache/**", "/root/.cargo/**", "/root/.npm/**",
                   "/root/.cache/**", "/root/.cargo/**"});
  b.add_file_rule("deny-proc-sys", "", "", kAllOps, Decision::kDeny, {"/proc/**", "/sys/**"});
  b.add_file_rule("default-deny-files", "", "", kAllOps, Decision::kDeny, {"**"});

  b.add_net_rule("allow-localhost", "", Decision::kAllow, {}, {net("127.0.0.1/32"), net("::1/128")},
                 {});
  b.add_net_rule("allow-npm", "", Decision::kAllow, {"registry.npm.example"}, {}, {{443, 443}});
  b.add_net_rule("allow-pypi", "", Decision::kAllow, {"pypi.example", "files.pypi-files.example"},
                 {}, {{443, 443}});
  b.add_net_rule("allow-cargo", "", Decision::kAllow, {"crates.example", "static.crates.example"},
                 {}, {{443, 443}});
  b.add_net_rule("allow-go-proxy", "", Decision::kAllow,
                 {"proxy.golang.example", "sum.golang.example"}, {}, {{443, 443}});
  b.add_net_rule("allow-llm-proxy", "", Decision::kAllow, {}, {net("127.0.0.1/32")}, {});
  b.add_net_rule(
      "block-private-networks", "", Decision::kDeny, {},
      {net("10.0.0.0/8"), net("172.16.0.0/12"), net("192.168.0.0/16"), net("169.254.0.0/16")}, {});
  b.add_net_rule("block-metadata-services", "", Decision::kDeny, {},
                 {net("169.254.169.254/32"), net("100.100.100.200/32")}, {});
  b.add_net_rule("block-flyio-internal", "", Decision::kDeny, {"*.internal", "fly.io", "*.fly.io"},
                 {}, {});
  b.add_net_rule("block-evil-domains", "", Decision::kDeny, {"evil.com", "*.evil.com"}, {}, {});
  b.add_net_rule("approve-unknown-https", "", Decision::kApprove, {}, {}, {{443, 443}});
  b.add_net_rule("approve-unknown-http", "", Decision::kApprove, {}, {}, {{80, 80}});
  b.add_net_rule("default-deny-network", "", Decision::kDeny, {"*"}, {}, {});
  return b.finish();
}

// The blob in an aligned buffer, as the hook's mmap() would give it.
struct Fixture {
  Fixture() : bytes(build_reference_snapshot()), mem(new uint8_t[bytes.size()]) {
    memcpy(mem.get(), bytes.data(), bytes.size());
    if (!view.attach(mem.get(), bytes.size())) abort();
  }
  std::string bytes;
  std::unique_ptr<uint8_t[]> mem;
  snapshot::View view;
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

void file_decision(benchmark::State& state, const char* path, FileOp op, const char* want_rule) {
  const snapshot::View& v = fixture().view;
  const size_t len = strlen(path);
  snapshot::FileVerdict check = v.check_file(path, len, op);
  if (strcmp(check.rule, want_rule) != 0) {
    state.SkipWithError((std::string("unexpected rule ") + check.rule).c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(path);
    snapshot::FileVerdict r = v.check_file(path, len, op);
    benchmark::DoNotOptimize(r);
  }
}

void net_decision(benchmark::State& state, const char* domain, const char* ip, uint16_t port,
                  const char* want_rule) {
  const snapshot::View& v = fixture().view;
  cidr::IpAddr addr{};
  const cidr::IpAddr* a = nullptr;
  if (ip != nullptr) {
    if (!cidr::parse_ip(ip, strlen(ip), &addr)) abort();
    a = &addr;
  }
  const size_t dlen = strlen(domain);
  snapshot::NetVerdict check = v.check_net(domain, dlen, a, port);
  if (strcmp(check.rule, want_rule) != 0) {
    state.SkipWithError((std::string("unexpected rule ") + check.rule).c_str());
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(domain);
    snapshot::NetVerdict r = v.check_net(domain, dlen, a, port);
    benchmark::DoNotOptimize(r);
  }
}

// File decisions: an early rule, a middle rule, the fall-through to the last rule.
BENCHMARK_CAPTURE(file_decision, usr_lib_libc_read, "/usr/lib/x86_64-linux-gnu/libc.so.6",
                  FileOp::kRead, "allow-system-read");
BENCHMARK_CAPTURE(file_decision, tmp_write, "/tmp/x", FileOp::kWrite, "allow-tmp");
BENCHMARK_CAPTURE(file_decision, etc_shadow_read, "/etc/shadow", FileOp::kRead,
                  "default-deny-files");
BENCHMARK_CAPTURE(file_decision, project_source_read, "/home/user/proj/src/main.c", FileOp::kRead,
                  "allow-workspace-read");
BENCHMARK_CAPTURE(file_decision, project_dotenv_read, "/home/user/proj/.env", FileOp::kRead,
                  "allow-workspace-read");
BENCHMARK_CAPTURE(file_decision, deep_unknown_stat,
                  "/opt/some/vendor/tree/with/many/levels/lib/python3.11/site-packages/x.py",
                  FileOp::kStat, "default-deny-files");
BENCHMARK_CAPTURE(file_decision, home_dotenv_open, "/root/app/.env.local", FileOp::kOpen,
                  "approve-env-files");
BENCHMARK_CAPTURE(file_decision, protected_write, "/run/agentsh/bench.snap", FileOp::kWrite,
                  "agentsh-protected");

// Network decisions.
BENCHMARK_CAPTURE(net_decision, proxy_port, "", "127.0.0.1", 18081, "agentsh-proxy");
BENCHMARK_CAPTURE(net_decision, npm_https, "registry.npm.example", "198.51.100.7", 443,
                  "allow-npm");
BENCHMARK_CAPTURE(net_decision, metadata_ip, "", "169.254.169.254", 80, "block-private-networks");
BENCHMARK_CAPTURE(net_decision, evil_subdomain, "a.b.evil.com", "198.51.100.9", 8080,
                  "block-evil-domains");
BENCHMARK_CAPTURE(net_decision, unknown_ssh, "example.org", "198.51.100.10", 22,
                  "default-deny-network");

// The matcher on its own.
void glob_match(benchmark::State& state, const char* pat, const char* text, char sep) {
  const size_t plen = strlen(pat), tlen = strlen(text);
  for (auto _ : state) {
    benchmark::DoNotOptimize(pat);
    bool r = agentsh::glob::match(pat, plen, text, tlen, sep, sep == '\0');
    benchmark::DoNotOptimize(r);
  }
}
BENCHMARK_CAPTURE(glob_match, trailing_globstar, "/usr/**", "/usr/lib/x86_64-linux-gnu/libc.so.6",
                  '/');
BENCHMARK_CAPTURE(glob_match, leading_globstar_miss, "**/.env.*",
                  "/usr/lib/x86_64-linux-gnu/libc.so.6", '/');
BENCHMARK_CAPTURE(glob_match, domain_star, "*.evil.com", "a.b.evil.com", '\0');

}  // namespace
