// libagentsh_hook.so, file operations: real programs (tests/cases/hook_fileops.c and
// everyday tools) run with the hook preloaded against snapshots built here; assertions
// on the exact errno, on what is (not) on disk, and on the audit records the broker got.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/hook_harness.h"

namespace agentsh::hook_test {
namespace {

using policy::Decision;
using policy::FileOp;

constexpr policy::OpMask kReadOps = policy::op_bit(FileOp::kRead) | policy::op_bit(FileOp::kOpen) |
                                    policy::op_bit(FileOp::kStat) | policy::op_bit(FileOp::kList) |
                                    policy::op_bit(FileOp::kReadlink) |
                                    policy::op_bit(FileOp::kExec);

// A workspace W with a secret, a read-only area, a soft-delete area, a redirect and an
// audited file; the system readable.
class HookFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    w_ = world_.dir() / "w";
    fs::create_directories(w_ + "/sub");
    fs::create_directories(w_ + "/secretdir");
    fs::create_directories(w_ + "/ro");
    fs::create_directories(w_ + "/soft/full");
    fs::create_directories(w_ + "/soft/empty");
    write_file(w_ + "/ok", "ok-content");
    write_file(w_ + "/secret", "top-secret");
    write_file(w_ + "/secretdir/f", "deep-secret");
    write_file(w_ + "/ro/file", "read-only");
    write_file(w_ + "/soft/a", "soft-a");
    write_file(w_ + "/soft/full/x", "x");
    write_file(w_ + "/audited", "audited");
    write_file(w_ + "/approve-me", "approve-me");
    fs::create_symlink(w_ + "/secret", w_ + "/link");
    fs::create_symlink(w_ + "/secretdir", w_ + "/ldir");
    fs::create_symlink("ok", w_ + "/oklink");
  }

  // The standard rules; tests may add rules first (first match wins).
  void add_rules() {
    auto& b = world_.builder();
    b.add_file_rule("deny-secret", "no secrets: {{.Path}}", "", policy::kAllOps, Decision::kDeny,
                    {w_ + "/secret", w_ + "/secretdir", w_ + "/secretdir/**"});
    b.add_file_rule("soft-delete", "", "", ops({FileOp::kDelete, FileOp::kRmdir}),
                    Decision::kSoftDelete, {w_ + "/soft/**"});
    b.add_file_rule("redirect-writes", "", w_ + "/redirected",
                    ops({FileOp::kWrite, FileOp::kCreate}), Decision::kRedirect,
                    {w_ + "/redir-me"});
    b.add_file_rule("audit-this", "", "", policy::kAllOps, Decision::kAudit, {w_ + "/audited"});
    b.add_file_rule("approve-this", "wants {{.Path}}", "", policy::kAllOps, Decision::kApprove,
                    {w_ + "/approve-me"});
    b.add_file_rule("ro-read", "", "", kReadOps, Decision::kAllow, {w_ + "/ro", w_ + "/ro/**"});
    b.add_file_rule("ro-deny", "read-only area", "", policy::kAllOps, Decision::kDeny,
                    {w_ + "/ro", w_ + "/ro/**"});
    b.add_file_rule("allow-workspace", "", "", policy::kAllOps, Decision::kAllow,
                    {w_, w_ + "/**", world_.dir().path().string()});
    b.add_file_rule("allow-system-read", "", "", kReadOps, Decision::kAllow,
                    {"/", "/usr/**", "/lib/**", "/lib64/**", "/bin/**", "/etc/**", "/proc/**",
                     "/sys/**", "/tmp", "/dev/**", "/usr", "/etc", "/proc"});
    b.add_file_rule("allow-dev", "", "", policy::kAllOps, Decision::kAllow,
                    {"/dev/null", "/dev/tty", "/dev/pts/**"});
  }

  void standard(uint32_t flags = snapshot::kFlagEnforce,
                policy::ApprovalMode mode = policy::ApprovalMode::kNone) {
    add_rules();
    world_.write_snapshot(flags, mode);
  }

  RunResult ops_run(const std::vector<std::string>& args, const std::string& cwd = "") {
    std::vector<std::string> argv{case_bin("hook_fileops")};
    argv.insert(argv.end(), args.begin(), args.end());
    return world_.hooked(argv, cwd);
  }

  std::vector<AuditRecord> audits_for(const std::string& target) {
    std::vector<AuditRecord> v;
    for (const auto& a : world_.broker().audits()) {
      if (a.target == target) v.push_back(a);
    }
    return v;
  }

  HookWorld world_;
  std::string w_;
};

TEST_F(HookFileTest, OpenAllowedSucceedsAndDeniedFailsWithEacces) {
  standard();
  RunResult r = ops_run({"read", w_ + "/ok", "read", w_ + "/secret", "open", w_ + "/secret", "rw",
                         "open", w_ + "/secretdir/f", "r"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"read OK ok-content", "read ERR EACCES",
                                                 "open ERR EACCES", "open ERR EACCES"}));
}

TEST_F(HookFileTest, DenialSendsExactlyOneAuditRecord) {
  standard();
  RunResult r = ops_run({"open", w_ + "/secret", "r"});
  ASSERT_EQ(r.lines(), std::vector<std::string>{"open ERR EACCES"});
  ASSERT_TRUE(
      world_.broker().wait_audit([&](const AuditRecord& a) { return a.target == w_ + "/secret"; }));
  auto recs = audits_for(w_ + "/secret");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].op, "read");
  EXPECT_EQ(recs[0].rule, "deny-secret");
  EXPECT_EQ(recs[0].decision, "deny");
  EXPECT_EQ(recs[0].message, "no secrets: " + w_ + "/secret");
  EXPECT_EQ(recs[0].err, EACCES);
}

TEST_F(HookFileTest, AllowedOperationsAreSilent) {
  standard();
  RunResult r = ops_run({"read", w_ + "/ok", "stat", w_ + "/ok", "write", w_ + "/new", "hello"});
  ASSERT_EQ(r.lines(), (std::vector<std::string>{"read OK ok-content", "stat OK", "write OK"}));
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(world_.broker().audits().empty());
  EXPECT_EQ(read_file(w_ + "/new"), "hello");
}

TEST_F(HookFileTest, WritesToReadOnlyAreaNeverLand) {
  standard();
  RunResult r = ops_run({"write", w_ + "/ro/file", "clobbered", "open", w_ + "/ro/file", "a",
                         "creat", w_ + "/ro/new", "fopen", w_ + "/ro/new2", "w", "truncate",
                         w_ + "/ro/file", "0", "read", w_ + "/ro/file"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"write ERR EACCES", "open ERR EACCES",
                                                 "creat ERR EACCES", "fopen ERR EACCES",
                                                 "truncate ERR EACCES", "read OK read-only"}));
  EXPECT_EQ(read_file(w_ + "/ro/file"), "read-only");
  EXPECT_FALSE(fs::exists(w_ + "/ro/new"));
  EXPECT_FALSE(fs::exists(w_ + "/ro/new2"));
}

TEST_F(HookFileTest, SymlinkToDeniedFileIsTheDeniedFile) {
  standard();
  RunResult r = ops_run({"read", w_ + "/link", "stat", w_ + "/link", "lstat", w_ + "/link",
                         "readlink", w_ + "/link", "open", w_ + "/link", "path", "open",
                         w_ + "/link", "nofollow", "read", w_ + "/oklink"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"read ERR EACCES", "stat ERR EACCES", "lstat OK",
                                                 "readlink OK " + w_ + "/secret", "open ERR EACCES",
                                                 "open ERR ELOOP", "read OK ok-content"}));
}

TEST_F(HookFileTest, WritingThroughASymlinkWritesTheTarget) {
  standard();
  RunResult r = ops_run({"write", w_ + "/link", "pwned", "unlink", w_ + "/link"});
  // The write is a write to the secret (denied); removing the link itself is allowed.
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"write ERR EACCES", "unlink OK"}));
  EXPECT_EQ(read_file(w_ + "/secret"), "top-secret");
  EXPECT_FALSE(fs::exists(fs::symlink_status(w_ + "/link")));
}

TEST_F(HookFileTest, ProcSelfLinksAndStdinStillWork) {
  standard();
  RunResult r = ops_run({"readlink", "/proc/self/exe", "stat", "/lib", "stat",
                         "/lib/x86_64-linux-gnu", "read", "/proc/self/comm"});
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"readlink OK " + case_bin("hook_fileops"), "stat OK",
                                      "stat OK", "read OK hook_fileops", ""}));
  // /dev/stdin -> /proc/self/fd/0 -> pipe:[…]: an object the process already holds.
  RunResult p = world_.hooked(
      {"/bin/sh", "-c", "echo piped | " + case_bin("hook_fileops") + " read /dev/stdin"});
  EXPECT_EQ(p.out, "read OK piped\n\n") << p.err;
}

TEST_F(HookFileTest, SymlinkedDirectoryLeadsIntoDeniedTree) {
  standard();
  RunResult r = ops_run(
      {"read", w_ + "/ldir/f", "opendir", w_ + "/ldir", "write", w_ + "/ldir/planted", "x"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"read ERR EACCES", "opendir ERR EACCES",
                                                 "write ERR EACCES"}));
  EXPECT_FALSE(fs::exists(w_ + "/secretdir/planted"));
}

TEST_F(HookFileTest, RelativePathsAndDotDotTricks) {
  standard();
  RunResult r = ops_run({"read", "../secret", "read", "./../ok", "read", "../sub/../secret", "read",
                         "missing/../../ok", "read", "../ok/../ok", "read", ".//..//secretdir/./f",
                         "chdir", "..", "read", "secret", "read", "ok"},
                        w_ + "/sub");
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"read ERR EACCES", "read OK ok-content", "read ERR EACCES",
                                      "read ERR ENOENT", "read ERR ENOTDIR", "read ERR EACCES",
                                      "chdir OK", "read ERR EACCES", "read OK ok-content"}));
}

TEST_F(HookFileTest, DirfdRelativeOpens) {
  standard();
  RunResult r = ops_run({"openat",
                         w_ + "/sub",
                         "../secret",
                         "r",
                         "openat",
                         w_,
                         "ok",
                         "r",
                         "openat",
                         w_,
                         "secretdir/f",
                         "r",
                         "openat",
                         w_,
                         "ldir/f",
                         "r",
                         "openat",
                         w_ + "/sub",
                         "/" + w_.substr(1) + "/secret",
                         "r"});
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"openat ERR EACCES", "openat OK", "openat ERR EACCES",
                                      "openat ERR EACCES", "openat ERR EACCES"}));
}

TEST_F(HookFileTest, ProcMagicLinksResolveToTheRealPath) {
  standard();
  RunResult r =
      ops_run({"read", "/proc/self/root" + w_ + "/secret", "read", "/proc/self/cwd/secret", "read",
               "/proc/self/cwd/ok", "read", "/proc/thread-self/root" + w_ + "/secret"},
              w_);
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"read ERR EACCES", "read ERR EACCES",
                                                 "read OK ok-content", "read ERR EACCES"}));
}

TEST_F(HookFileTest, MutationsOnDeniedPathsFailAndChangeNothing) {
  standard();
  RunResult r = ops_run(
      {"unlink",      w_ + "/secret", "rename", w_ + "/secret", w_ + "/stolen",   "rename",
       w_ + "/ok",    w_ + "/ro/ok",  "link",   w_ + "/secret", w_ + "/hardlink", "symlink",
       "/etc/passwd", w_ + "/ro/sl",  "mkdir",  w_ + "/ro/d",   "rmdir",          w_ + "/secretdir",
       "chmod",       w_ + "/secret", "777",    "mkfifo",       w_ + "/ro/fifo",  "remove",
       w_ + "/secret"});
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"unlink ERR EACCES", "rename ERR EACCES", "rename ERR EACCES",
                                      "link ERR EACCES", "symlink ERR EACCES", "mkdir ERR EACCES",
                                      "rmdir ERR EACCES", "chmod ERR EACCES", "mkfifo ERR EACCES",
                                      "remove ERR EACCES"}));
  EXPECT_EQ(read_file(w_ + "/secret"), "top-secret");
  EXPECT_EQ(read_file(w_ + "/ok"), "ok-content");
  EXPECT_FALSE(fs::exists(w_ + "/stolen"));
  EXPECT_FALSE(fs::exists(w_ + "/hardlink"));
  EXPECT_FALSE(fs::exists(fs::symlink_status(w_ + "/ro/sl")));
  EXPECT_FALSE(fs::exists(w_ + "/ro/d"));
  EXPECT_FALSE(fs::exists(w_ + "/ro/fifo"));
  EXPECT_EQ(fs::status(w_ + "/secret").permissions() & fs::perms::others_write, fs::perms::none);
}

TEST_F(HookFileTest, AllowedMutationsWork) {
  standard();
  RunResult r = ops_run({"mkdir",       w_ + "/d",      "rename",      w_ + "/ok",  w_ + "/d/ok2",
                         "link",        w_ + "/d/ok2",  w_ + "/d/ok3", "symlink",   "ok3",
                         w_ + "/d/sl",  "chmod",        w_ + "/d/ok2", "600",       "unlink",
                         w_ + "/d/ok3", "mkdir",        w_ + "/d/e",   "rmdir",     w_ + "/d/e",
                         "mkfifo",      w_ + "/d/fifo", "read",        w_ + "/d/sl"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"mkdir OK", "rename OK", "link OK", "symlink OK",
                                                 "chmod OK", "unlink OK", "mkdir OK", "rmdir OK",
                                                 "mkfifo OK", "read ERR ENOENT"}));
  EXPECT_EQ(read_file(w_ + "/d/ok2"), "ok-content");
  EXPECT_EQ(fs::status(w_ + "/d/ok2").permissions(),
            fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_FALSE(fs::exists(w_ + "/d/e"));
}

TEST_F(HookFileTest, KernelErrorsStayTheKernelsOnAllowedPaths) {
  standard();
  RunResult r =
      ops_run({"open",       w_ + "/nope", "r",          "open",     w_ + "/ok",     "c",
               "open",       w_ + "/ok/",  "r",          "open",     w_ + "/oklink", "nofollow",
               "unlink",     w_ + "/sub",  "rmdir",      w_ + "/ok", "mkdir",        w_ + "/ok",
               "open",       w_ + "/sub",  "w",          "readlink", w_ + "/ok",     "readlink",
               w_ + "/nope", "stat",       w_ + "/ok/x", "lstat",    w_ + "/nope/x"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{
                           "open ERR ENOENT", "open ERR EEXIST", "open ERR ENOTDIR",
                           "open ERR ELOOP", "unlink ERR EISDIR", "rmdir ERR ENOTDIR",
                           "mkdir ERR EEXIST", "open ERR EISDIR", "readlink ERR EINVAL",
                           "readlink ERR ENOENT", "stat ERR ENOTDIR", "lstat ERR ENOENT"}));
}

TEST_F(HookFileTest, TrailingSlashAndDotSurviveTheSlowPath) {
  standard();
  // Through a symlinked directory every operation takes the slow path (resolution).
  fs::create_symlink(w_ + "/sub", w_ + "/subl");
  write_file(w_ + "/sub/f", "f");
  fs::create_directories(w_ + "/sub/d");
  RunResult r =
      ops_run({"unlink", w_ + "/subl/f/", "stat", w_ + "/subl/f/", "rmdir", w_ + "/subl/d/.",
               "open", w_ + "/subl/f/", "r", "read", w_ + "/subl/f", "rmdir", w_ + "/subl/d/"});
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"unlink ERR ENOTDIR", "stat ERR ENOTDIR", "rmdir ERR EINVAL",
                                      "open ERR ENOTDIR", "read OK f", "rmdir OK"}));
  EXPECT_TRUE(fs::exists(w_ + "/sub/f"));
  EXPECT_FALSE(fs::exists(w_ + "/sub/d"));
}

TEST_F(HookFileTest, NoFreeFdDoesNotBreakStatOrUnlink) {
  standard();
  // The hook's O_PATH handles need an fd; a program at its fd limit must still get the
  // kernel's answers for calls that need none.
  write_file(w_ + "/gone", "x");
  fs::create_symlink(w_ + "/sub", w_ + "/subl");
  RunResult r =
      ops_run({"fill", "stat", w_ + "/ok", "stat", w_ + "/subl/../ok", "access", w_ + "/ok",
               "unlink", w_ + "/gone", "mkdir", w_ + "/newdir", "rename", w_ + "/newdir",
               w_ + "/newdir2", "stat", w_ + "/secret", "open", w_ + "/ok", "r"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"fill EMFILE", "stat OK", "stat OK", "access OK",
                                                 "unlink OK", "mkdir OK", "rename OK",
                                                 "stat ERR EACCES", "open ERR OTHER"}));
  EXPECT_FALSE(fs::exists(w_ + "/gone"));
  EXPECT_TRUE(fs::exists(w_ + "/newdir2"));
}

TEST_F(HookFileTest, SoftDeleteMovesIntoTrash) {
  standard();
  RunResult r = ops_run({"unlink", w_ + "/soft/a", "rmdir", w_ + "/soft/full", "rmdir",
                         w_ + "/soft/empty", "unlink", w_ + "/soft/missing"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"unlink OK", "rmdir ERR ENOTEMPTY", "rmdir OK",
                                                 "unlink ERR ENOENT"}));
  EXPECT_FALSE(fs::exists(w_ + "/soft/a"));
  EXPECT_FALSE(fs::exists(w_ + "/soft/empty"));
  EXPECT_TRUE(fs::exists(w_ + "/soft/full/x"));
  std::vector<std::string> trash;
  for (const auto& e : fs::directory_iterator(world_.trash())) {
    trash.push_back(e.path().filename().string());
  }
  std::sort(trash.begin(), trash.end());
  ASSERT_EQ(trash.size(), 2u);
  // <pid>-<counter>-<basename>
  EXPECT_TRUE(trash[0].ends_with("-a") || trash[1].ends_with("-a"));
  EXPECT_TRUE(trash[0].ends_with("-empty") || trash[1].ends_with("-empty"));
  for (const auto& t : trash) {
    if (t.ends_with("-a")) {
      EXPECT_EQ(read_file(world_.trash() + "/" + t), "soft-a");
    }
  }
  ASSERT_TRUE(world_.broker().wait_audit([&](const AuditRecord& a) {
    return a.target == w_ + "/soft/a" && a.decision == "soft_delete";
  }));
  auto recs = audits_for(w_ + "/soft/a");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].op, "delete");
  EXPECT_EQ(recs[0].rule, "soft-delete");
  EXPECT_EQ(recs[0].err, 0);
}

// The workspace and the trash on different filesystems (a tmpfs here): rename says
// EXDEV, so the hook copies into the trash and only then removes the original.
TEST_F(HookFileTest, SoftDeleteAcrossFilesystems) {
  char tmpl[] = "/dev/shm/agentsh-xdev-XXXXXX";
  if (!fs::exists("/dev/shm") || mkdtemp(tmpl) == nullptr) GTEST_SKIP() << "no /dev/shm";
  std::string x = tmpl;
  struct stat a {
  }, b{};
  fs::create_directories(world_.trash());
  if (stat(x.c_str(), &a) != 0 || stat(world_.trash().c_str(), &b) != 0 || a.st_dev == b.st_dev) {
    fs::remove_all(x);
    GTEST_SKIP() << "/dev/shm is on the trash's filesystem";
  }
  write_file(x + "/file", "cross-device");
  fs::create_symlink("/etc/hostname", x + "/link");
  fs::create_directories(x + "/emptydir");
  world_.builder().add_file_rule("soft-xdev", "", "", ops({FileOp::kDelete, FileOp::kRmdir}),
                                 Decision::kSoftDelete, {x + "/**"});
  world_.builder().add_file_rule("xdev-rest", "", "", policy::kAllOps, Decision::kAllow,
                                 {x, x + "/**"});
  standard();
  RunResult r = ops_run({"unlink", x + "/file", "unlink", x + "/link", "rmdir", x + "/emptydir"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"unlink OK", "unlink OK", "rmdir OK"}));
  EXPECT_FALSE(fs::exists(x + "/file"));
  EXPECT_FALSE(fs::is_symlink(x + "/link"));
  EXPECT_FALSE(fs::exists(x + "/emptydir"));
  int files = 0, links = 0, dirs = 0;
  for (const auto& e : fs::directory_iterator(world_.trash())) {
    std::string n = e.path().filename().string();
    if (n.ends_with("-file")) {
      ++files;
      EXPECT_EQ(read_file(e.path().string()), "cross-device");
    } else if (n.ends_with("-link")) {
      ++links;
      EXPECT_TRUE(fs::is_symlink(e.path()));
      EXPECT_EQ(fs::read_symlink(e.path()).string(), "/etc/hostname");
    } else if (n.ends_with("-emptydir")) {
      ++dirs;
      EXPECT_TRUE(fs::is_directory(e.path()));
    }
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ(links, 1);
  EXPECT_EQ(dirs, 1);
  fs::remove_all(x);
}

TEST_F(HookFileTest, RedirectWritesElsewhere) {
  standard();
  RunResult r = ops_run({"write", w_ + "/redir-me", "payload"});
  EXPECT_EQ(r.lines(), std::vector<std::string>{"write OK"});
  EXPECT_FALSE(fs::exists(w_ + "/redir-me"));
  EXPECT_EQ(read_file(w_ + "/redirected"), "payload");
  ASSERT_TRUE(world_.broker().wait_audit([&](const AuditRecord& a) {
    return a.target == w_ + "/redir-me" && a.decision == "redirect";
  }));
}

TEST_F(HookFileTest, AuditDecisionAllowsAndRecords) {
  standard();
  RunResult r = ops_run({"read", w_ + "/audited"});
  EXPECT_EQ(r.lines(), std::vector<std::string>{"read OK audited"});
  ASSERT_TRUE(world_.broker().wait_audit(
      [&](const AuditRecord& a) { return a.target == w_ + "/audited" && a.decision == "audit"; }));
}

TEST_F(HookFileTest, ErrnoUntouchedOnTheAllowPath) {
  standard();
  RunResult r = ops_run({"errno", w_ + "/ok", "errno", w_ + "/oklink", "errno", "/etc/hostname"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"errno kept", "errno kept", "errno kept"}));
}

TEST_F(HookFileTest, ConcurrentOpensFromManyThreads) {
  standard();
  RunResult r = world_.hooked({case_bin("hook_threads"), w_ + "/ok", w_ + "/secret", "8", "300"});
  EXPECT_EQ(r.out, "allowed_ok=2400 denied_eacces=2400 other=0\n") << r.err;
}

TEST_F(HookFileTest, ApprovalWithNobodyToAskIsDenied) {
  standard(snapshot::kFlagEnforce, policy::ApprovalMode::kNone);
  RunResult r = ops_run({"read", w_ + "/approve-me"});
  EXPECT_EQ(r.lines(), std::vector<std::string>{"read ERR EACCES"});
  ASSERT_TRUE(world_.broker().wait_audit([&](const AuditRecord& a) {
    return a.target == w_ + "/approve-me" && a.message == "approval required";
  }));
  EXPECT_TRUE(world_.broker().approvals().empty());
}

TEST_F(HookFileTest, ApprovalAskedThroughTheBroker) {
  standard(snapshot::kFlagEnforce, policy::ApprovalMode::kApi);
  world_.broker().approve_all(true);
  RunResult yes = ops_run({"read", w_ + "/approve-me"});
  EXPECT_EQ(yes.lines(), std::vector<std::string>{"read OK approve-me"});
  world_.broker().approve_all(false);
  RunResult no = ops_run({"read", w_ + "/approve-me"});
  EXPECT_EQ(no.lines(), std::vector<std::string>{"read ERR EACCES"});
  auto asked = world_.broker().approvals();
  ASSERT_EQ(asked.size(), 2u);
  EXPECT_EQ(asked[0].kind, "file");
  EXPECT_EQ(asked[0].op, "read");
  EXPECT_EQ(asked[0].target, w_ + "/approve-me");
  EXPECT_EQ(asked[0].rule, "approve-this");
  EXPECT_EQ(asked[0].message, "wants " + w_ + "/approve-me");
}

TEST_F(HookFileTest, ShadowApprovalAllowsAndAudits) {
  standard(snapshot::kFlagEnforce, policy::ApprovalMode::kShadow);
  RunResult r = ops_run({"read", w_ + "/approve-me"});
  EXPECT_EQ(r.lines(), std::vector<std::string>{"read OK approve-me"});
  EXPECT_TRUE(world_.broker().wait_audit([&](const AuditRecord& a) {
    return a.target == w_ + "/approve-me" && a.decision == "approve";
  }));
}

TEST_F(HookFileTest, ObserveModeAllowsButAuditsDenials) {
  standard(0);  // no kFlagEnforce
  RunResult r = ops_run({"read", w_ + "/secret", "write", w_ + "/ro/file", "changed"});
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"read OK top-secret", "write OK"}));
  ASSERT_TRUE(world_.broker().wait_audit(
      [&](const AuditRecord& a) { return a.target == w_ + "/secret" && a.decision == "deny"; }));
  auto recs = audits_for(w_ + "/secret");
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].err, 0);  // recorded, not enforced
}

TEST_F(HookFileTest, MissingSnapshotFailsClosedWithOneWarning) {
  standard();
  std::vector<std::string> env = world_.env();
  env[1] = "AGENTSH_SNAPSHOT=" + (world_.dir() / "does-not-exist.snap");
  RunResult r = run({case_bin("hook_fileops"), "read", w_ + "/ok", "stat", w_ + "/ok"}, env);
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"read ERR EACCES", "stat ERR EACCES"}));
  EXPECT_EQ(r.err, "agentsh: AGENTSH_SNAPSHOT=" + (world_.dir() / "does-not-exist.snap") +
                       ": the snapshot file does not exist; denying file, network and exec "
                       "operations (fail closed)\n");
}

TEST_F(HookFileTest, CorruptSnapshotFailsClosed) {
  standard();
  std::string blob = read_file(world_.snapshot_path());
  blob[0] = 'X';  // bad magic
  write_file(world_.snapshot_path(), blob);
  RunResult r = ops_run({"read", w_ + "/ok"});
  EXPECT_EQ(r.lines(), std::vector<std::string>{"read ERR EACCES"});
  EXPECT_NE(r.err.find("fail closed"), std::string::npos) << r.err;
}

TEST_F(HookFileTest, TheHooksOwnFilesStayReadable) {
  // A policy that denies everything still lets a process read the hook and the snapshot
  // (a child that cannot map them cannot be governed), but not write them.
  world_.builder().add_file_rule("deny-everything", "", "", policy::kAllOps, Decision::kDeny,
                                 {"/**"});
  world_.write_snapshot();
  RunResult r = ops_run({"open", hook_lib(), "r", "open", world_.snapshot_path(), "r", "open",
                         world_.snapshot_path(), "w", "open", w_ + "/ok", "r"});
  EXPECT_EQ(r.lines(),
            (std::vector<std::string>{"open OK", "open OK", "open ERR EACCES", "open ERR EACCES"}));
}

TEST_F(HookFileTest, WithoutSnapshotVariableTheHookIsInert) {
  standard();
  RunResult r = run({case_bin("hook_fileops"), "read", w_ + "/secret"},
                    {"LD_PRELOAD=" + hook_lib(), "PATH=/usr/bin:/bin"});
  EXPECT_EQ(r.lines(), std::vector<std::string>{"read OK top-secret"});
  EXPECT_EQ(r.err, "");
}

TEST_F(HookFileTest, RealToolsAreGoverned) {
  standard();
  RunResult cat_ok = world_.hooked({"/bin/cat", w_ + "/ok"});
  EXPECT_EQ(cat_ok.status, 0);
  EXPECT_EQ(cat_ok.out, "ok-content");
  RunResult cat_no = world_.hooked({"/bin/cat", w_ + "/secret"});
  EXPECT_EQ(cat_no.status, 1);
  EXPECT_EQ(cat_no.out, "");
  EXPECT_NE(cat_no.err.find("Permission denied"), std::string::npos);

  RunResult cp = world_.hooked({"/bin/cp", w_ + "/ok", w_ + "/ro/copy"});
  EXPECT_NE(cp.status, 0);
  EXPECT_FALSE(fs::exists(w_ + "/ro/copy"));
  RunResult cp_secret = world_.hooked({"/bin/cp", w_ + "/secret", w_ + "/copy"});
  EXPECT_NE(cp_secret.status, 0);
  EXPECT_FALSE(fs::exists(w_ + "/copy"));
  RunResult touch = world_.hooked({"/usr/bin/touch", w_ + "/ro/t"});
  EXPECT_NE(touch.status, 0);
  EXPECT_FALSE(fs::exists(w_ + "/ro/t"));
  RunResult mkdir = world_.hooked({"/bin/mkdir", w_ + "/ro/dd"});
  EXPECT_NE(mkdir.status, 0);
  EXPECT_FALSE(fs::exists(w_ + "/ro/dd"));
  RunResult sh = world_.hooked({"/bin/sh", "-c", "echo x > " + w_ + "/ro/f; cat " + w_ + "/ok"});
  EXPECT_EQ(sh.out, "ok-content");
  EXPECT_FALSE(fs::exists(w_ + "/ro/f"));
  RunResult py =
      world_.hooked({"/usr/bin/python3", "-c",
                     "import sys\ntry:\n  open('" + w_ +
                         "/ro/py','w').write('x')\n  print('written')\n"
                         "except PermissionError as e:\n  print('denied', e.errno)\nprint(open('" +
                         w_ + "/ok').read())"});
  EXPECT_EQ(py.out, "denied 13\nok-content\n") << py.err;
  EXPECT_FALSE(fs::exists(w_ + "/ro/py"));
  RunResult cp_ok = world_.hooked({"/bin/cp", w_ + "/ok", w_ + "/copy-ok"});
  EXPECT_EQ(cp_ok.status, 0) << cp_ok.err;
  EXPECT_EQ(read_file(w_ + "/copy-ok"), "ok-content");
}

TEST_F(HookFileTest, GovernedSyscallsRunFromTheGatePage) {
  constexpr uint64_t kGate = 0x7e5a00000000ull;
  add_rules();
  world_.write_snapshot(snapshot::kFlagEnforce, policy::ApprovalMode::kNone, kGate);
  // hook_gate lets openat2 through only from the gate page (as the tracer's filter does).
  RunResult r = world_.hooked({case_bin("hook_gate"), "7e5a00000000", w_ + "/ok"});
  // Lazy: no gate until the first governed syscall, which then runs from it.
  EXPECT_EQ(r.lines(), (std::vector<std::string>{"before=no", "open OK", "mapped=yes"})) << r.err;
  // The same filter without a gate: the hook's openat2 is refused, so the check is real.
  HookWorld plain;
  plain.builder().add_file_rule("all", "", "", policy::kAllOps, Decision::kAllow, {"/**", "/"});
  plain.write_snapshot();
  RunResult n = plain.hooked({case_bin("hook_gate"), "7e5a00000000", w_ + "/ok"});
  EXPECT_EQ(n.lines(), (std::vector<std::string>{"before=no", "open ERR EPERM", "mapped=no"}))
      << n.err;
}

}  // namespace
}  // namespace agentsh::hook_test
