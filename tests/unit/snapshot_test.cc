// Round trips through snapshot::Builder → snapshot::View: file and network decisions,
// first-match order, op masks, protected paths, the proxy exemption, and corrupt blobs
// (attach must fail or every later read must stay inside the blob).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "policy/cidr.h"
#include "policy/decision.h"
#include "policy/glob.h"
#include "policy/snapshot_builder.h"
#include "policy/snapshot_view.h"

namespace agentsh::snapshot {
namespace {

using policy::Decision;
using policy::FileOp;
using policy::op_bit;

// An 8-aligned private copy of a blob, sized exactly, so that AddressSanitizer (and
// valgrind) flag any read past its end.
class Blob {
 public:
  // operator new[] returns memory aligned for any fundamental type (16 bytes here),
  // which is what mmap() gives the hook; the allocation is exactly `bytes.size()` long.
  explicit Blob(std::string_view bytes)
      : size_(bytes.size()), mem_(new uint8_t[bytes.size() == 0 ? 1 : bytes.size()]) {
    memcpy(mem_.get(), bytes.data(), bytes.size());
  }
  const void* data() const { return mem_.get(); }
  size_t size() const { return size_; }

 private:
  size_t size_;
  std::unique_ptr<uint8_t[]> mem_;
};

cidr::Cidr net(std::string_view s) {
  cidr::Cidr c;
  EXPECT_TRUE(cidr::parse_cidr(s.data(), s.size(), &c)) << s;
  return c;
}

cidr::IpAddr ip(std::string_view s) {
  cidr::IpAddr a;
  EXPECT_TRUE(cidr::parse_ip(s.data(), s.size(), &a)) << s;
  return a;
}

constexpr policy::OpMask kReadish = op_bit(FileOp::kRead) | op_bit(FileOp::kOpen) |
                                    op_bit(FileOp::kStat) | op_bit(FileOp::kList) |
                                    op_bit(FileOp::kReadlink);

class SnapshotTest : public ::testing::Test {
 protected:
  void attach() {
    blob_ = std::make_unique<Blob>(b_.finish());
    ASSERT_TRUE(view_.attach(blob_->data(), blob_->size()));
  }
  FileVerdict file(std::string_view path, FileOp op) {
    return view_.check_file(path.data(), path.size(), op);
  }
  NetVerdict netq(std::string_view domain, const char* addr, uint16_t port) {
    cidr::IpAddr a;
    const cidr::IpAddr* p = nullptr;
    if (addr != nullptr) {
      a = ip(addr);
      p = &a;
    }
    return view_.check_net(domain.data(), domain.size(), p, port);
  }

  Builder b_;
  std::unique_ptr<Blob> blob_;
  View view_;
};

TEST_F(SnapshotTest, HeaderRoundTrip) {
  b_.set_flags(kFlagEnforce | kFlagTracerActive);
  b_.set_approval_mode(policy::ApprovalMode::kShadow);
  b_.set_session("sess-1", "/run/agentsh/s.sock", "/usr/lib/agentsh/libagentsh_hook.so",
                 "/run/agentsh/snap", "default", 18081, 18053);
  b_.set_trash_dir("/tmp/trash");
  b_.set_gate_addr(0x7f0000001000ull);
  attach();
  const Header& h = view_.header();
  EXPECT_EQ(h.flags, kFlagEnforce | kFlagTracerActive);
  EXPECT_EQ(h.approval_mode, static_cast<uint8_t>(policy::ApprovalMode::kShadow));
  EXPECT_STREQ(view_.str(h.session_id), "sess-1");
  EXPECT_STREQ(view_.str(h.broker_socket), "/run/agentsh/s.sock");
  EXPECT_STREQ(view_.str(h.hook_library), "/usr/lib/agentsh/libagentsh_hook.so");
  EXPECT_STREQ(view_.str(h.snapshot_path), "/run/agentsh/snap");
  EXPECT_STREQ(view_.str(h.policy_name), "default");
  EXPECT_STREQ(view_.str(h.trash_dir), "/tmp/trash");
  EXPECT_EQ(view_.str_len(h.trash_dir), 10u);
  EXPECT_EQ(h.proxy_port, 18081);
  EXPECT_EQ(h.dns_port, 18053);
  EXPECT_EQ(h.gate_addr, 0x7f0000001000ull);
  EXPECT_EQ(h.total_size, blob_->size());
  EXPECT_EQ(memcmp(h.magic, kMagic, 8), 0);
}

TEST_F(SnapshotTest, EmptyPolicyDeniesEverything) {
  attach();
  FileVerdict f = file("/etc/hosts", FileOp::kRead);
  EXPECT_EQ(f.decision, Decision::kDeny);
  EXPECT_STREQ(f.rule, "default-deny-files");
  EXPECT_STREQ(f.message, "");
  EXPECT_FALSE(f.protected_path);
  NetVerdict n = netq("example.com", "93.184.216.34", 443);
  EXPECT_EQ(n.decision, Decision::kDeny);
  EXPECT_STREQ(n.rule, "default-deny-network");
  EXPECT_STREQ(view_.str(view_.header().session_id), "");
}

TEST_F(SnapshotTest, UnattachedViewDenies) {
  View v;
  EXPECT_FALSE(v.attached());
  EXPECT_EQ(v.check_file("/x", 2, FileOp::kRead).decision, Decision::kDeny);
  EXPECT_EQ(v.check_net("a.b", 3, nullptr, 80).decision, Decision::kDeny);
  EXPECT_STREQ(v.str(Str{0, 0}), "");
}

TEST_F(SnapshotTest, FirstMatchWins) {
  b_.add_file_rule("deny-secret", "no secrets: {{.Path}}", "", policy::kAllOps, Decision::kDeny,
                   {"/proj/secret/**"});
  b_.add_file_rule("allow-proj", "", "", policy::kAllOps, Decision::kAllow, {"/proj", "/proj/**"});
  b_.add_file_rule("deny-proj-late", "", "", policy::kAllOps, Decision::kDeny, {"/proj/**"});
  attach();
  FileVerdict v = file("/proj/secret/key", FileOp::kRead);
  EXPECT_EQ(v.decision, Decision::kDeny);
  EXPECT_STREQ(v.rule, "deny-secret");
  EXPECT_STREQ(v.message, "no secrets: {{.Path}}");
  v = file("/proj/src/a.c", FileOp::kWrite);
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_STREQ(v.rule, "allow-proj");
  v = file("/proj", FileOp::kList);
  EXPECT_STREQ(v.rule, "allow-proj");
  v = file("/projx", FileOp::kRead);
  EXPECT_STREQ(v.rule, "default-deny-files");
}

TEST_F(SnapshotTest, OpMaskSelectsRules) {
  b_.add_file_rule("read-ws", "", "", kReadish, Decision::kAllow, {"/ws/**"});
  b_.add_file_rule("soft-del-ws", "quarantined", "",
                   op_bit(FileOp::kDelete) | op_bit(FileOp::kRmdir), Decision::kSoftDelete,
                   {"/ws/**"});
  b_.add_file_rule("redirect-ws", "", "/ws/.shadow", op_bit(FileOp::kWrite), Decision::kRedirect,
                   {"/ws/**"});
  b_.add_file_rule("approve-ws", "", "", op_bit(FileOp::kCreate), Decision::kApprove, {"/ws/**"});
  b_.add_file_rule("audit-ws", "", "", op_bit(FileOp::kExec), Decision::kAudit, {"/ws/**"});
  attach();
  struct {
    FileOp op;
    Decision want;
    const char* rule;
  } cases[] = {
      {FileOp::kRead, Decision::kAllow, "read-ws"},
      {FileOp::kStat, Decision::kAllow, "read-ws"},
      {FileOp::kReadlink, Decision::kAllow, "read-ws"},
      {FileOp::kDelete, Decision::kSoftDelete, "soft-del-ws"},
      {FileOp::kRmdir, Decision::kSoftDelete, "soft-del-ws"},
      {FileOp::kWrite, Decision::kRedirect, "redirect-ws"},
      {FileOp::kCreate, Decision::kApprove, "approve-ws"},
      {FileOp::kExec, Decision::kAudit, "audit-ws"},
      {FileOp::kChmod, Decision::kDeny, "default-deny-files"},
      {FileOp::kAccess, Decision::kDeny, "default-deny-files"},
      {FileOp::kRename, Decision::kDeny, "default-deny-files"},
  };
  for (const auto& c : cases) {
    FileVerdict v = file("/ws/a/b.txt", c.op);
    EXPECT_EQ(v.decision, c.want) << policy::file_op_name(c.op);
    EXPECT_STREQ(v.rule, c.rule) << policy::file_op_name(c.op);
  }
  FileVerdict v = file("/ws/x", FileOp::kWrite);
  EXPECT_STREQ(v.redirect_to, "/ws/.shadow");
  EXPECT_STREQ(file("/ws/x", FileOp::kDelete).message, "quarantined");
  // An out-of-range op matches no rule.
  EXPECT_STREQ(file("/ws/x", FileOp::kCount).rule, "default-deny-files");
}

TEST_F(SnapshotTest, GlobKinds) {
  b_.add_file_rule("env", "", "", policy::kAllOps, Decision::kApprove, {"**/.env", "**/.env.*"});
  b_.add_file_rule("exact", "", "", policy::kAllOps, Decision::kAllow,
                   {"/etc/hosts", "/etc/ssl/certs/**"});
  b_.add_file_rule("mid", "", "", policy::kAllOps, Decision::kAudit, {"/a/**/b"});
  b_.add_file_rule("class", "", "", policy::kAllOps, Decision::kAllow, {"/dev/tty[0-9]"});
  attach();
  EXPECT_STREQ(file("/home/u/.env", FileOp::kRead).rule, "env");
  EXPECT_STREQ(file("/.env", FileOp::kRead).rule, "env");
  EXPECT_STREQ(file("/p/.env.local", FileOp::kRead).rule, "env");
  EXPECT_STREQ(file("/etc/hosts", FileOp::kRead).rule, "exact");
  EXPECT_STREQ(file("/etc/hostsx", FileOp::kRead).rule, "default-deny-files");
  EXPECT_STREQ(file("/etc/host", FileOp::kRead).rule, "default-deny-files");
  EXPECT_STREQ(file("/etc/ssl/certs/ca.pem", FileOp::kRead).rule, "exact");
  // "X/**" also answers the non-mutating questions about X itself ...
  EXPECT_STREQ(file("/etc/ssl/certs", FileOp::kRead).rule, "exact");
  EXPECT_STREQ(file("/etc/ssl/certs", FileOp::kStat).rule, "exact");
  // ... but never implies a mutation of X.
  EXPECT_STREQ(file("/etc/ssl/certs", FileOp::kDelete).rule, "default-deny-files");
  EXPECT_STREQ(file("/etc/ssl/certs", FileOp::kChmod).rule, "default-deny-files");
  EXPECT_STREQ(file("/etc/ssl/cert", FileOp::kRead).rule, "default-deny-files");
  EXPECT_STREQ(file("/a/b", FileOp::kRead).rule, "mid");
  EXPECT_STREQ(file("/a/x/y/b", FileOp::kRead).rule, "mid");
  EXPECT_STREQ(file("/dev/tty3", FileOp::kRead).rule, "class");
  EXPECT_STREQ(file("/dev/ttyS", FileOp::kRead).rule, "default-deny-files");
}

TEST_F(SnapshotTest, ProtectedPathsBeatRules) {
  b_.add_file_rule("allow-all", "", "", policy::kAllOps, Decision::kAllow, {"**"});
  b_.add_protected("/opt/agentsh/", kProtectReadOnly);
  b_.add_protected("/var/lib/agentsh/audit.db", kProtectHidden);
  attach();
  const FileOp reads[] = {FileOp::kRead,     FileOp::kOpen,   FileOp::kStat, FileOp::kList,
                          FileOp::kReadlink, FileOp::kAccess, FileOp::kExec};
  const FileOp writes[] = {FileOp::kWrite, FileOp::kCreate, FileOp::kDelete, FileOp::kRmdir,
                           FileOp::kMkdir, FileOp::kRename, FileOp::kLink,   FileOp::kSymlink,
                           FileOp::kChmod, FileOp::kChown,  FileOp::kMknod};
  for (const char* p : {"/opt/agentsh", "/opt/agentsh/lib/libagentsh_hook.so"}) {
    for (FileOp op : reads) {
      FileVerdict v = file(p, op);
      EXPECT_EQ(v.decision, Decision::kAllow) << p << " " << policy::file_op_name(op);
      EXPECT_STREQ(v.rule, "agentsh-protected");
      EXPECT_TRUE(v.protected_path);
    }
    for (FileOp op : writes) {
      FileVerdict v = file(p, op);
      EXPECT_EQ(v.decision, Decision::kDeny) << p << " " << policy::file_op_name(op);
      EXPECT_STREQ(v.rule, "agentsh-protected");
      EXPECT_TRUE(v.protected_path);
    }
  }
  EXPECT_NE(std::string(file("/opt/agentsh/x", FileOp::kWrite).message).find("read-only"),
            std::string::npos);
  EXPECT_NE(
      std::string(file("/var/lib/agentsh/audit.db", FileOp::kRead).message).find("not accessible"),
      std::string::npos);
  for (int i = 0; i < static_cast<int>(FileOp::kCount); ++i) {
    FileOp op = static_cast<FileOp>(i);
    FileVerdict v = file("/var/lib/agentsh/audit.db", op);
    EXPECT_EQ(v.decision, Decision::kDeny) << policy::file_op_name(op);
    EXPECT_STREQ(v.rule, "agentsh-protected");
  }
  // Neighbours are not protected.
  FileVerdict v = file("/opt/agentshx/x", FileOp::kWrite);
  EXPECT_EQ(v.decision, Decision::kAllow);
  EXPECT_STREQ(v.rule, "allow-all");
  EXPECT_FALSE(v.protected_path);
  EXPECT_STREQ(file("/var/lib/agentsh/audit.db-wal", FileOp::kRead).rule, "allow-all");
  EXPECT_STREQ(file("/var/lib/agentsh", FileOp::kRead).rule, "allow-all");
}

TEST_F(SnapshotTest, NetSelectors) {
  b_.add_net_rule("allow-localhost", "", Decision::kAllow, {},
                  {net("127.0.0.1/32"), net("::1/128")}, {});
  b_.add_net_rule("allow-npm", "", Decision::kAllow, {"Registry.NPM.example"}, {}, {{443, 443}});
  b_.add_net_rule("block-private", "private", Decision::kDeny, {},
                  {net("10.0.0.0/8"), net("192.168.0.0/16")}, {});
  b_.add_net_rule("block-evil", "evil", Decision::kDeny, {"evil.com", "*.evil.com"}, {}, {});
  b_.add_net_rule("ssh-to-lab", "", Decision::kAudit, {"*.lab.example"}, {net("203.0.113.0/24")},
                  {{22, 22}, {2200, 2299}});
  b_.add_net_rule("approve-https", "", Decision::kApprove, {}, {}, {{443, 443}});
  attach();
  struct {
    const char* domain;
    const char* ip;
    uint16_t port;
    const char* rule;
    Decision want;
  } cases[] = {
      {"", "127.0.0.1", 8080, "allow-localhost", Decision::kAllow},
      {"", "::1", 5432, "allow-localhost", Decision::kAllow},
      {"", "::ffff:127.0.0.1", 1, "allow-localhost", Decision::kAllow},
      {"registry.npm.example", "198.51.100.7", 443, "allow-npm", Decision::kAllow},
      {"REGISTRY.npm.Example", nullptr, 443, "allow-npm", Decision::kAllow},
      {"registry.npm.example.", nullptr, 443, "allow-npm", Decision::kAllow},  // root dot
      {"registry.npm.example", nullptr, 0, "allow-npm", Decision::kAllow},     // port unknown
      {"registry.npm.example", nullptr, 80, "default-deny-network", Decision::kDeny},
      {"x.registry.npm.example", nullptr, 80, "default-deny-network", Decision::kDeny},
      {"", "10.1.2.3", 443, "block-private", Decision::kDeny},
      {"", "::ffff:192.168.1.1", 443, "block-private", Decision::kDeny},
      {"evil.com", nullptr, 80, "block-evil", Decision::kDeny},
      {"a.b.EVIL.com", "198.51.100.9", 8080, "block-evil", Decision::kDeny},
      {"notevil.com", nullptr, 443, "approve-https", Decision::kApprove},
      // All three selectors must hold.
      {"h.lab.example", "203.0.113.5", 22, "ssh-to-lab", Decision::kAudit},
      {"h.lab.example", "203.0.113.5", 2250, "ssh-to-lab", Decision::kAudit},
      {"h.lab.example", "203.0.113.5", 2300, "default-deny-network", Decision::kDeny},
      {"h.lab.example", "203.0.114.5", 22, "default-deny-network", Decision::kDeny},
      {"h.other.example", "203.0.113.5", 22, "default-deny-network", Decision::kDeny},
      {"", "203.0.113.5", 22, "default-deny-network", Decision::kDeny},         // needs a domain
      {"h.lab.example", nullptr, 22, "default-deny-network", Decision::kDeny},  // needs ip
      {"", "8.8.8.8", 53, "default-deny-network", Decision::kDeny},
  };
  for (const auto& c : cases) {
    NetVerdict v = netq(c.domain, c.ip, c.port);
    EXPECT_STREQ(v.rule, c.rule) << c.domain << " " << (c.ip ? c.ip : "-") << ":" << c.port;
    EXPECT_EQ(v.decision, c.want) << c.domain << " " << (c.ip ? c.ip : "-") << ":" << c.port;
  }
  EXPECT_STREQ(netq("evil.com", nullptr, 1).message, "evil");
  // A null domain pointer is "no domain".
  cidr::IpAddr a = ip("203.0.113.5");
  EXPECT_STREQ(view_.check_net(nullptr, 5, &a, 22).rule, "default-deny-network");
}

TEST_F(SnapshotTest, RuleWithoutSelectorsMatchesEverything) {
  b_.add_net_rule("block-evil", "", Decision::kDeny, {"*.evil.com"}, {}, {});
  b_.add_net_rule("catch-all", "", Decision::kAudit, {}, {}, {});
  attach();
  EXPECT_STREQ(netq("", nullptr, 0).rule, "catch-all");
  EXPECT_STREQ(netq("x.evil.com", nullptr, 0).rule, "block-evil");
  EXPECT_STREQ(netq("", "2001:db8::1", 9).rule, "catch-all");
}

TEST_F(SnapshotTest, ProxyPortsAreExempt) {
  b_.set_session("s", "", "", "", "p", 18081, 18053);
  b_.add_net_rule("deny-all", "", Decision::kDeny, {}, {}, {});
  attach();
  EXPECT_STREQ(netq("", "127.0.0.1", 18081).rule, "agentsh-proxy");
  EXPECT_EQ(netq("", "127.0.0.1", 18081).decision, Decision::kAllow);
  EXPECT_STREQ(netq("", "::1", 18053).rule, "agentsh-proxy");
  EXPECT_STREQ(netq("", "::ffff:127.0.0.1", 18053).rule, "agentsh-proxy");
  EXPECT_STREQ(netq("", "127.0.0.1", 18082).rule, "deny-all");
  EXPECT_STREQ(netq("", "127.0.0.2", 18081).rule, "deny-all");  // only the exact address
  EXPECT_STREQ(netq("", "10.0.0.1", 18081).rule, "deny-all");
  EXPECT_STREQ(netq("localhost", nullptr, 18081).rule, "deny-all");  // needs the ip
  EXPECT_STREQ(netq("", "127.0.0.1", 0).rule, "deny-all");
}

TEST_F(SnapshotTest, ZeroProxyPortExemptsNothing) {
  b_.set_session("s", "", "", "", "p", 0, 0);
  b_.add_net_rule("deny-all", "", Decision::kDeny, {}, {}, {});
  attach();
  EXPECT_STREQ(netq("", "127.0.0.1", 0).rule, "deny-all");
  EXPECT_STREQ(netq("", "127.0.0.1", 1).rule, "deny-all");
}

TEST_F(SnapshotTest, SharedStringsAreDeduplicated) {
  std::vector<std::string> globs = {"/a/**", "/b/**"};
  b_.add_file_rule("one", "same message", "", kReadish, Decision::kAllow, globs);
  b_.add_file_rule("two", "same message", "", policy::kAllOps, Decision::kDeny, globs);
  attach();
  FileVerdict r = file("/a/x", FileOp::kRead);
  FileVerdict w = file("/a/x", FileOp::kWrite);
  EXPECT_STREQ(r.rule, "one");
  EXPECT_STREQ(w.rule, "two");
  EXPECT_EQ(r.message, w.message);  // one copy in the blob
}

TEST_F(SnapshotTest, ShortAndRelativeShapesAreNotSkipped) {
  // Globs whose literal prefix is shorter than 2 bytes are exempt from the rule-level
  // fast reject (kRuleScanAlways); paths shorter than 2 bytes only reach such rules.
  b_.add_file_rule("class-first", "", "", policy::kAllOps, Decision::kAudit, {"/[xy]z/**"});
  b_.add_file_rule("root", "", "", policy::kAllOps, Decision::kAllow, {"/"});
  b_.add_file_rule("star-first", "", "", policy::kAllOps, Decision::kApprove, {"/*/secret"});
  b_.add_file_rule("long", "", "", policy::kAllOps, Decision::kDeny, {"/etc/**"});
  attach();
  EXPECT_STREQ(file("/xz/a", FileOp::kRead).rule, "class-first");
  EXPECT_STREQ(file("/yz/a", FileOp::kRead).rule, "class-first");
  EXPECT_STREQ(file("/", FileOp::kRead).rule, "root");
  EXPECT_STREQ(file("/home/secret", FileOp::kRead).rule, "star-first");
  EXPECT_STREQ(file("/etc/x", FileOp::kRead).rule, "long");
  EXPECT_STREQ(file("/e", FileOp::kRead).rule, "default-deny-files");
  EXPECT_STREQ(file("", FileOp::kRead).rule, "default-deny-files");
}

// The view's shortcuts (literal-prefix reject, rule head mask, "<literal>**" shortcut)
// must give exactly the decisions of a plain first-match loop over glob::match.
TEST(SnapshotRandom, ShortcutsAgreeWithPlainFirstMatch) {
  std::mt19937 rng(4242);
  const std::vector<std::string> atoms = {"/a", "/b",   "/ab", "/.env", "/**",  "/*", "**/",
                                          "?",  "[ab]", "/e",  "x",     "/etc", "*"};
  const std::vector<std::string> path_atoms = {"/a", "/b",   "/ab", "/.env",
                                               "/e", "/etc", "/x",  "/ba"};
  for (int round = 0; round < 200; ++round) {
    struct Rule {
      std::vector<std::string> globs;
      policy::OpMask ops;
    };
    std::vector<Rule> rules;
    Builder b;
    int nrules = 1 + static_cast<int>(rng() % 8);
    for (int r = 0; r < nrules; ++r) {
      Rule rule;
      int nglobs = 1 + static_cast<int>(rng() % 3);
      for (int g = 0; g < nglobs; ++g) {
        std::string pat;
        int n = 1 + static_cast<int>(rng() % 4);
        for (int i = 0; i < n; ++i) pat += atoms[rng() % atoms.size()];
        rule.globs.push_back(pat);
      }
      rule.ops = static_cast<policy::OpMask>(rng()) & policy::kAllOps;
      b.add_file_rule("r" + std::to_string(r), "", "", rule.ops, Decision::kAllow, rule.globs);
      rules.push_back(rule);
    }
    Blob blob(b.finish());
    View v;
    ASSERT_TRUE(v.attach(blob.data(), blob.size()));
    for (int q = 0; q < 200; ++q) {
      std::string path;
      int n = static_cast<int>(rng() % 5);
      for (int i = 0; i < n; ++i) path += path_atoms[rng() % path_atoms.size()];
      FileOp op = static_cast<FileOp>(rng() % static_cast<unsigned>(FileOp::kCount));
      std::string want = "default-deny-files";
      // The oracle: first match, where "X/**" also covers X for the non-mutating ops.
      const policy::OpMask look = op_bit(FileOp::kRead) | op_bit(FileOp::kOpen) |
                                  op_bit(FileOp::kStat) | op_bit(FileOp::kList) |
                                  op_bit(FileOp::kReadlink) | op_bit(FileOp::kAccess);
      for (size_t r = 0; r < rules.size() && want == "default-deny-files"; ++r) {
        if ((rules[r].ops & op_bit(op)) == 0) continue;
        for (const std::string& g : rules[r].globs) {
          if (glob::match(g, path, '/', false)) {
            want = "r" + std::to_string(r);
            break;
          }
        }
        if (want != "default-deny-files" || (look & op_bit(op)) == 0) continue;
        for (const std::string& g : rules[r].globs) {
          if (g.size() < 3 || g.compare(g.size() - 3, 3, "/**") != 0) continue;
          std::string dir = g.size() == 3 ? "/" : g.substr(0, g.size() - 3);
          if (glob::match(dir, path, '/', false)) {
            want = "r" + std::to_string(r);
            break;
          }
        }
      }
      ASSERT_STREQ(v.check_file(path.data(), path.size(), op).rule, want.c_str())
          << "path '" << path << "' op " << policy::file_op_name(op) << " round " << round;
    }
  }
}

TEST(SnapshotBuilder, DuplicateGlobsAreDroppedWithinARule) {
  Builder with_dups, without;
  with_dups.add_file_rule("r", "", "", policy::kAllOps, Decision::kAllow,
                          {"/root/.ssh/**", "/b", "/root/.ssh/**", "/b"});
  without.add_file_rule("r", "", "", policy::kAllOps, Decision::kAllow, {"/root/.ssh/**", "/b"});
  EXPECT_EQ(with_dups.finish(), without.finish());
}

TEST(SnapshotBuilder, DomainsAreLowerCasedAndPortRangesOrdered) {
  Builder b;
  b.add_net_rule("r", "", Decision::kDeny, {"*.EVIL.Com"}, {}, {{2300, 2200}});
  Blob blob(b.finish());
  View v;
  ASSERT_TRUE(v.attach(blob.data(), blob.size()));
  const NetRule& r = *reinterpret_cast<const NetRule*>(static_cast<const uint8_t*>(blob.data()) +
                                                       v.header().net_rules.off);
  const Str& d =
      *reinterpret_cast<const Str*>(static_cast<const uint8_t*>(blob.data()) + r.domains.off);
  EXPECT_STREQ(v.str(d), "*.evil.com");
  EXPECT_STREQ(v.check_net("x.evil.com", 10, nullptr, 2250).rule, "r");
  EXPECT_STREQ(v.check_net("x.evil.com", 10, nullptr, 2301).rule, "default-deny-network");
}

// ---- corrupt blobs ----------------------------------------------------------------

std::string sample_blob() {
  Builder b;
  b.set_session("sess", "/run/s.sock", "/lib/hook.so", "/run/snap", "default", 18081, 53);
  b.set_trash_dir("/tmp/.trash");
  b.add_protected("/opt/agentsh", kProtectReadOnly);
  b.add_protected("/var/lib/agentsh/audit.db", kProtectHidden);
  b.add_file_rule("allow-ws", "msg", "", kReadish, Decision::kAllow, {"/ws", "/ws/**"});
  b.add_file_rule("redirect", "", "/elsewhere", op_bit(FileOp::kWrite), Decision::kRedirect,
                  {"/etc/**"});
  b.add_file_rule("env", "", "", policy::kAllOps, Decision::kApprove, {"**/.env"});
  b.add_net_rule("lo", "", Decision::kAllow, {}, {net("127.0.0.1/32")}, {});
  b.add_net_rule("evil", "bad", Decision::kDeny, {"*.evil.com"}, {}, {{1, 65535}});
  b.add_net_rule("https", "", Decision::kApprove, {"*"}, {net("0.0.0.0/0")}, {{443, 443}});
  return b.finish();
}

// Runs every query kind; with ASan any out-of-bounds read aborts the test.
void exercise(const View& v) {
  const char* paths[] = {
      "/ws/a", "/etc/passwd", "/home/u/.env", "/opt/agentsh/x", "/var/lib/agentsh/audit.db", "/"};
  for (const char* p : paths) {
    for (int op = 0; op <= static_cast<int>(FileOp::kCount); ++op) {
      FileVerdict f = v.check_file(p, strlen(p), static_cast<FileOp>(op));
      ASSERT_NE(f.rule, nullptr);
      ASSERT_NE(f.message, nullptr);
      ASSERT_NE(f.redirect_to, nullptr);
      volatile size_t n = strlen(f.rule) + strlen(f.message) + strlen(f.redirect_to);
      (void)n;
    }
  }
  cidr::IpAddr a = ip("127.0.0.1");
  for (const char* d : {"", "x.evil.com", "example.org"}) {
    for (uint16_t port : {0, 53, 443, 18081}) {
      NetVerdict n = v.check_net(d, strlen(d), &a, port);
      ASSERT_NE(n.rule, nullptr);
      volatile size_t k = strlen(n.rule) + strlen(n.message);
      (void)k;
      n = v.check_net(d, strlen(d), nullptr, port);
      ASSERT_NE(n.rule, nullptr);
    }
  }
  const Header& h = v.header();
  for (const Str* s : {&h.session_id, &h.broker_socket, &h.hook_library, &h.snapshot_path,
                       &h.policy_name, &h.trash_dir}) {
    volatile size_t k = strlen(v.str(*s));
    (void)k;
  }
}

TEST(SnapshotCorrupt, SampleAttaches) {
  std::string s = sample_blob();
  Blob b(s);
  View v;
  ASSERT_TRUE(v.attach(b.data(), b.size()));
  exercise(v);
  EXPECT_STREQ(v.check_file("/ws/a", 5, FileOp::kRead).rule, "allow-ws");
}

TEST(SnapshotCorrupt, EveryTruncationIsRejected) {
  std::string s = sample_blob();
  for (size_t n = 0; n < s.size(); ++n) {
    Blob b(std::string_view(s).substr(0, n));
    View v;
    EXPECT_FALSE(v.attach(b.data(), b.size())) << "truncated at " << n;
    EXPECT_FALSE(v.attached());
  }
}

TEST(SnapshotCorrupt, LongerMappingIsFine) {
  // mmap rounds up to a page: trailing bytes past total_size are ignored.
  std::string s = sample_blob() + std::string(4096, '\xff');
  Blob b(s);
  View v;
  ASSERT_TRUE(v.attach(b.data(), b.size()));
  exercise(v);
}

TEST(SnapshotCorrupt, BadHeaderFields) {
  std::string s = sample_blob();
  auto rejects = [&](auto mutate) {
    std::string c = s;
    Header h;
    memcpy(&h, c.data(), sizeof h);
    mutate(h);
    memcpy(c.data(), &h, sizeof h);
    Blob b(c);
    View v;
    return !v.attach(b.data(), b.size());
  };
  EXPECT_TRUE(rejects([](Header& h) { h.magic[0] = 'X'; }));
  EXPECT_TRUE(rejects([](Header& h) { h.version = 2; }));
  EXPECT_TRUE(rejects([](Header& h) { h.total_size += 1; }));
  EXPECT_TRUE(rejects([](Header& h) { h.total_size = 8; }));
  EXPECT_TRUE(rejects([](Header& h) { h.approval_mode = 99; }));
  EXPECT_TRUE(rejects([](Header& h) { h.strings.count += 1; }));
  EXPECT_TRUE(rejects([](Header& h) { h.strings.count = 0; }));
  EXPECT_TRUE(rejects([](Header& h) { h.strings.off = 0xfffffff0u; }));
  EXPECT_TRUE(rejects([](Header& h) { h.file_rules.count = 0x10000000u; }));
  EXPECT_TRUE(rejects([](Header& h) { h.file_rules.off += 2; }));  // misaligned
  EXPECT_TRUE(rejects([](Header& h) { h.net_rules.count = 0xffffffffu; }));
  EXPECT_TRUE(rejects([](Header& h) { h.protect.off = h.total_size; }));
  EXPECT_TRUE(rejects([](Header& h) { h.session_id.len = 0xffffffffu; }));
  EXPECT_TRUE(rejects([](Header& h) { h.session_id.off = 0xffffffffu; }));
  EXPECT_TRUE(rejects([](Header& h) { h.trash_dir.len -= 1; }));  // no NUL at the end
  // Strings ending exactly at, or one past, the end of the string area (the last thing in
  // the blob): their NUL would be outside it.
  EXPECT_TRUE(rejects([](Header& h) { h.policy_name = Str{h.strings.count, 0}; }));
  EXPECT_TRUE(rejects([](Header& h) { h.policy_name = Str{h.strings.count - 1, 1}; }));
  EXPECT_TRUE(rejects([](Header& h) { h.policy_name = Str{0, h.strings.count}; }));
  EXPECT_FALSE(rejects([](Header& h) { h.policy_name = Str{h.strings.count - 1, 0}; }));
  EXPECT_FALSE(rejects([](Header&) {}));
}

TEST(SnapshotCorrupt, InconsistentRuleSummaryIsRejected) {
  std::string s = sample_blob();
  Header h;
  memcpy(&h, s.data(), sizeof h);
  ASSERT_GE(h.file_rules.count, 3u);
  auto rejects = [&](auto mutate) {
    std::string c = s;
    FileRule r;
    char* at = c.data() + h.file_rules.off;  // the first rule: "/ws", "/ws/**"
    memcpy(&r, at, sizeof r);
    mutate(r);
    memcpy(at, &r, sizeof r);
    Blob b(c);
    View v;
    return !v.attach(b.data(), b.size());
  };
  EXPECT_FALSE(rejects([](FileRule&) {}));
  EXPECT_TRUE(rejects([](FileRule& r) {
    r.head_mask[0] = 0;
    r.head_mask[1] = 0;
  }));
  EXPECT_TRUE(rejects([](FileRule& r) { r.head_mask[0] ^= 1; }));
  EXPECT_TRUE(rejects([](FileRule& r) { r.flags = kRuleScanAlways; }));
  EXPECT_TRUE(rejects([](FileRule& r) { r.decision = 6; }));
}

TEST(SnapshotCorrupt, MisalignedBufferIsRejected) {
  std::string s = sample_blob();
  std::unique_ptr<uint64_t[]> mem(new uint64_t[s.size() / 8 + 2]);
  char* p = reinterpret_cast<char*>(mem.get()) + 4;
  memcpy(p, s.data(), s.size());
  View v;
  EXPECT_FALSE(v.attach(p, s.size()));
  EXPECT_FALSE(v.attach(nullptr, s.size()));
}

// Flips every 32-bit word of the blob (except the magic) to a set of hostile values:
// attach either refuses the blob or every query stays inside it (ASan would abort).
TEST(SnapshotCorrupt, HostileWordsNeverReadOutOfBounds) {
  std::string s = sample_blob();
  const uint32_t hostile[] = {0u,
                              1u,
                              3u,
                              0x7fffffffu,
                              0xffffffffu,
                              0xfffffff0u,
                              static_cast<uint32_t>(s.size()),
                              static_cast<uint32_t>(s.size() - 1),
                              static_cast<uint32_t>(s.size() - 4)};
  size_t accepted = 0, rejected = 0;
  for (size_t off = 8; off + 4 <= s.size(); off += 4) {
    for (uint32_t val : hostile) {
      std::string c = s;
      memcpy(c.data() + off, &val, 4);
      Blob b(c);
      View v;
      if (v.attach(b.data(), b.size())) {
        ++accepted;
        exercise(v);
      } else {
        ++rejected;
      }
    }
  }
  // Both outcomes occur (the string area's bytes are free to change, offsets are not).
  EXPECT_GT(rejected, 0u);
  EXPECT_GT(accepted, 0u);
}

TEST(SnapshotCorrupt, FlippedBytesNeverReadOutOfBounds) {
  std::string s = sample_blob();
  for (size_t off = 0; off < s.size(); ++off) {
    for (uint8_t bit : {0x01, 0x80}) {
      std::string c = s;
      c[off] = static_cast<char>(c[off] ^ bit);
      Blob b(c);
      View v;
      if (v.attach(b.data(), b.size())) exercise(v);
    }
  }
}

}  // namespace
}  // namespace agentsh::snapshot
