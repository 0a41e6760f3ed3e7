// The tracer's corner cases: every program in tests/cases/tracer_*.c, built dynamic and
// static, runs under a real Supervisor with a fixed rule table (StaticDecider) and NO
// hook — the tracer alone must hold the line. Each test asserts the exact outcome: the
// errno the program saw, its exit status or signal, that a denied program never ran (its
// marker file is absent), that a denied write left nothing behind, and the audit record.
//
// Each run happens in a forked "harness" process that plays `agentsh exec`: it is the
// supervisor (non-dumpable, with worker threads, reaping its tree) so the gtest process
// stays clean. System-path writes go to a private tmpfs over /usr/local inside a private
// mount namespace; network tests use 127.0.0.1 (allowed) and 127.0.0.2 (denied) only.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tracer/static_decider.h"
#include "tracer/supervisor.h"

namespace agentsh::tracer {
namespace {

namespace fs = std::filesystem;
using policy::FileOp;
using policy::op_bit;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

fs::path cases_dir() {
  // The test binary lives in build/tests/; the cases in build/tests/cases/.
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  self[n > 0 ? n : 0] = '\0';
  return fs::path(self).parent_path() / "cases";
}

struct RunResult {
  int status = -1;
  std::string out, err, audit, info, harness_err;
  bool harness_ok = false;
  std::string prepare_error;
};

struct RunSpec {
  std::vector<std::string> argv;
  StaticDecider* decider = nullptr;
  bool hook_present = false;
  uint64_t gate = 0;
  bool private_usr_local = false;
  bool deny_ptrace_first = false;      // simulate a container that refuses ptrace
  bool kill_tree_when_marker = false;  // call kill_tree() once <cwd>/ready exists
  // The child (not the supervisor) gets its own mount namespace with a tmpfs over /mnt,
  // as an integrator that isolates the agent would do; the supervisor's /mnt is another
  // tmpfs. Nothing reaches the host either way.
  bool child_own_mnt = false;
  // <cwd>/trash is a tmpfs (harness's private mount namespace): another filesystem.
  bool trash_on_tmpfs = false;
  std::string cwd;
};

class TracerCase : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/agentsh-tracer-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ / "ok");
    fs::create_directories(dir_ / "secret");
    fs::create_directories(dir_ / "ro");
    std::ofstream(dir_ / "secret" / "key") << "top secret";
    std::ofstream(dir_ / "ro" / "file") << "read only";
    // The denied and the allowed command are the same marker program under two names.
    fs::copy_file(bin("tracer_marker"), dir_ / "blocked-cmd");
    fs::copy_file(bin("tracer_marker"), dir_ / "allowed-cmd");
    decider_.deny_command("block-cmd", "blocked-cmd")
        .deny_path("deny-secret", (dir_ / "secret").string(), policy::kAllOps)
        .deny_path("deny-system-write", "/usr",
                   op_bit(FileOp::kWrite) | op_bit(FileOp::kCreate) | op_bit(FileOp::kDelete) |
                       op_bit(FileOp::kRename) | op_bit(FileOp::kMkdir) | op_bit(FileOp::kMknod) |
                       op_bit(FileOp::kChmod))
        .deny_path("deny-ro-chmod", (dir_ / "ro").string(),
                   op_bit(FileOp::kChmod) | op_bit(FileOp::kChown) | op_bit(FileOp::kWrite) |
                       op_bit(FileOp::kDelete) | op_bit(FileOp::kRename) | op_bit(FileOp::kLink) |
                       op_bit(FileOp::kSymlink) | op_bit(FileOp::kMknod) | op_bit(FileOp::kMkdir) |
                       op_bit(FileOp::kRmdir) | op_bit(FileOp::kCreate))
        .soft_delete_path("soft-delete-keep", (dir_ / "keep").string(), (dir_ / "trash").string())
        .deny_net("deny-loopback2", "127.0.0.2");
    fs::create_directories(dir_ / "keep");
    fs::create_directories(dir_ / "trash");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string bin(const std::string& name) const {
    return (cases_dir() / (name + GetParam())).string();
  }
  std::string p(const std::string& rel) const { return (dir_ / rel).string(); }

  RunResult run(RunSpec spec) {
    if (spec.decider == nullptr) spec.decider = &decider_;
    if (spec.cwd.empty()) spec.cwd = dir_.string();
    fs::path rdir = dir_ / ("run" + std::to_string(runs_++));
    fs::create_directories(rdir);
    pid_t h = fork();
    if (h == 0) harness(spec, rdir);  // never returns
    int st = 0;
    waitpid(h, &st, 0);
    RunResult r;
    r.harness_ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    r.out = slurp(rdir / "out");
    r.err = slurp(rdir / "err");
    r.audit = slurp(rdir / "audit");
    r.info = slurp(rdir / "info") + slurp(rdir / "counters");
    r.prepare_error = slurp(rdir / "prepare_error");
    r.harness_err = slurp(rdir / "harness_err");
    std::string s = slurp(rdir / "status");
    if (!s.empty()) r.status = std::stoi(s);
    return r;
  }

  [[noreturn]] static void harness(const RunSpec& spec, const fs::path& rdir) {
    alarm(60);  // a hang fails the test instead of the suite
    auto file = [&](const char* name) {
      return open((rdir / name).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    };
    dup2(file("harness_err"), 2);  // what the supervisor itself says
    if (spec.child_own_mnt) {
      if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
          mount("tmpfs", "/mnt", "tmpfs", 0, "size=1m") != 0)
        _exit(12);
    }
    if (spec.trash_on_tmpfs) {
      if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
          mount("tmpfs", (spec.cwd + "/trash").c_str(), "tmpfs", 0, "size=1m") != 0)
        _exit(13);
    }
    if (spec.private_usr_local) {
      if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
          mount("tmpfs", "/usr/local", "tmpfs", 0, "size=1m") != 0)
        _exit(10);
    }
    if (spec.deny_ptrace_first) {
      // What a container runtime's seccomp profile does: ptrace fails with EPERM.
      sock_filter f[] = {
          BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
          BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ptrace, 0, 1),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
          BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      };
      sock_fprog prog{4, f};
      if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
          syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        _exit(11);
    }
    int audit_fd = file("audit");
    Options o;
    o.decider = spec.decider;
    o.audit = [audit_fd](const AuditEvent& e) {
      std::string line =
          e.type + "|" + e.operation + "|" + e.target + "|" + e.effective + "|" + e.rule + "\n";
      ssize_t w = write(audit_fd, line.data(), line.size());
      (void)w;
    };
    o.gate_addr = spec.gate;
    o.hook_present = spec.hook_present;
    o.session_id = "test";
    Supervisor sup(o);
    std::string err;
    if (!sup.prepare(&err)) {
      int fd = file("prepare_error");
      ssize_t w = write(fd, err.data(), err.size());
      (void)w;
      _exit(3);
    }
    {
      std::string info = "dumpable=" + std::to_string(prctl(PR_GET_DUMPABLE)) + "\nmode=" +
                         (sup.mode() == Supervisor::Mode::kFull ? "full" : "hook-only") + "\n";
      int fd = file("info");
      ssize_t w = write(fd, info.data(), info.size());
      (void)w;
    }
    int out = file("out"), errf = file("err");
    std::vector<char*> argv;
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::string sup_pid = "SUPERVISOR_PID=" + std::to_string(getpid());
    char* envp[] = {const_cast<char*>("PATH=/usr/bin:/bin"), const_cast<char*>(sup_pid.c_str()),
                    nullptr};
    pid_t c = fork();
    if (c == 0) {
      dup2(out, 1);
      dup2(errf, 2);
      if (chdir(spec.cwd.c_str()) != 0) _exit(125);
      if (spec.child_own_mnt &&
          (unshare(CLONE_NEWNS) != 0 || mount("tmpfs", "/mnt", "tmpfs", 0, "size=1m") != 0 ||
           mkdir("/mnt/child-view", 0755) != 0))
        _exit(124);
      if (sup.in_child() != 0) _exit(126);
      execve(argv[0], argv.data(), envp);
      _exit(127);
    }
    std::thread killer;
    if (spec.kill_tree_when_marker) {
      killer = std::thread([&sup, ready = spec.cwd + "/ready"] {
        while (access(ready.c_str(), F_OK) != 0) usleep(10000);
        sup.kill_tree();
      });
    }
    int st = sup.run(c);
    if (killer.joinable()) killer.join();
    {
      std::string more = "execs=" + std::to_string(spec.decider->exec_calls()) +
                         "\ndirect_execs=" + std::to_string(spec.decider->direct_exec_calls()) +
                         "\n";
      int fd = file("counters");
      ssize_t w = write(fd, more.data(), more.size());
      (void)w;
    }
    std::string s = std::to_string(st);
    int sf = file("status");
    ssize_t w = write(sf, s.data(), s.size());
    (void)w;
    _exit(0);
  }

  RunResult run_case(std::vector<std::string> argv, bool private_usr_local = false) {
    RunSpec s;
    s.argv = std::move(argv);
    s.private_usr_local = private_usr_local;
    return run(s);
  }

  fs::path dir_;
  StaticDecider decider_;
  int runs_ = 0;
};

bool exited_ok(const RunResult& r) {
  return WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0;
}

#define EXPECT_HAS(hay, needle) EXPECT_NE((hay).find(needle), std::string::npos) << (hay)
#define EXPECT_LACKS(hay, needle) EXPECT_EQ((hay).find(needle), std::string::npos) << (hay)

// ---- exec ------------------------------------------------------------------------------

const char* kExecModes[] = {"execve", "empty-env", "no-preload", "fake-preload",
                            "raw",    "execveat",  "fexecve",    "vfork",
                            "fork",   "clone3",    "thread"};

TEST_P(TracerCase, DeniedExecNeverRunsWhateverTheWay) {
  for (const char* mode : kExecModes) {
    SCOPED_TRACE(mode);
    fs::remove(p("marker"));
    RunResult r = run_case({bin("tracer_exec"), mode, p("blocked-cmd"), p("marker")});
    ASSERT_TRUE(r.harness_ok) << r.prepare_error;
    EXPECT_TRUE(exited_ok(r)) << r.status;
    EXPECT_HAS(r.out, "exec=EACCES");
    EXPECT_LACKS(r.out, "marker ran");
    EXPECT_FALSE(fs::exists(p("marker")));
    EXPECT_HAS(r.err, "agentsh: blocked by policy: rule=block-cmd command=blocked-cmd\n");
    EXPECT_HAS(r.audit, "exec|exec|" + p("blocked-cmd") + " " + p("marker") + "|deny|block-cmd");
  }
}

TEST_P(TracerCase, AllowedExecRunsWhateverTheWay) {
  for (const char* mode : kExecModes) {
    SCOPED_TRACE(mode);
    fs::remove(p("marker"));
    RunResult r = run_case({bin("tracer_exec"), mode, p("allowed-cmd"), p("marker")});
    ASSERT_TRUE(r.harness_ok) << r.prepare_error;
    EXPECT_TRUE(exited_ok(r)) << r.status;
    EXPECT_HAS(r.out, "marker ran: " + p("allowed-cmd"));
    EXPECT_TRUE(fs::exists(p("marker")));
    EXPECT_EQ(slurp(p("marker")), p("allowed-cmd"));
    EXPECT_HAS(r.audit, "exec|exec|" + p("allowed-cmd") + " " + p("marker") + "|allow|");
    // Only the command the supervisor was asked to run is a direct exec; what it starts
    // is nested.
    EXPECT_HAS(r.info, "execs=2\ndirect_execs=1\n");
  }
}

size_t count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + 1)) ++n;
  return n;
}

TEST_P(TracerCase, OneDenialLineAndRecordPerCommandEvenWhenPathSearchRetries) {
  RunResult r = run_case({bin("tracer_exec"), "execvp", p("blocked-cmd"), p("marker")});
  EXPECT_HAS(r.out, "exec=EACCES");
  EXPECT_EQ(count(r.err, "agentsh: blocked by policy:"), 1u) << r.err;
  EXPECT_EQ(count(r.audit, "|deny|block-cmd"), 1u) << r.audit;
  EXPECT_FALSE(fs::exists(p("marker")));
}

TEST_P(TracerCase, ExecIsDecidedOnTheRealPathThroughSymlinks) {
  // The program is decided by where it really is: a final symlink, a directory symlink
  // in the middle, a relative spelling from the cwd — each resolves to blocked-cmd.
  fs::create_symlink(p("blocked-cmd"), p("innocent"));
  fs::create_directory_symlink(dir_, p("dl"));
  for (const std::string& target :
       {p("innocent"), p("dl/innocent"), p("dl/blocked-cmd"), std::string("./innocent")}) {
    SCOPED_TRACE(target);
    fs::remove(p("marker"));
    RunResult r = run_case({bin("tracer_exec"), "execve", target, p("marker")});
    ASSERT_TRUE(r.harness_ok);
    EXPECT_HAS(r.out, "exec=EACCES");
    EXPECT_FALSE(fs::exists(p("marker")));
    EXPECT_HAS(r.err, "rule=block-cmd command=blocked-cmd");
  }
  // The allowed program through the same spellings runs.
  fs::create_symlink(p("allowed-cmd"), p("fine"));
  for (const std::string& target : {p("fine"), p("dl/fine"), std::string("./dl/allowed-cmd")}) {
    SCOPED_TRACE(target);
    fs::remove(p("marker"));
    RunResult r = run_case({bin("tracer_exec"), "execve", target, p("marker")});
    ASSERT_TRUE(r.harness_ok);
    EXPECT_TRUE(exited_ok(r));
    EXPECT_HAS(r.out, "marker ran: " + target);
    EXPECT_TRUE(fs::exists(p("marker")));
  }
  // A missing program, and ".." after a symlink (the kernel applies it to the link's
  // target: <parent of dir>/innocent, which does not exist — lexically it would be
  // <dir>/innocent): the kernel's answer, nothing decided.
  for (const std::string& target : {p("missing"), std::string("dl/../innocent")}) {
    SCOPED_TRACE(target);
    RunResult r = run_case({bin("tracer_exec"), "execve", target, p("marker")});
    EXPECT_HAS(r.out, "exec=ENOENT");
    EXPECT_LACKS(r.err, "blocked by policy");
  }
}

TEST_P(TracerCase, FilelessExecIsRefused) {
  RunResult r = run_case({bin("tracer_exec"), "memfd", p("allowed-cmd"), p("marker")});
  ASSERT_TRUE(r.harness_ok);
  EXPECT_HAS(r.out, "exec=EACCES");
  EXPECT_FALSE(fs::exists(p("marker")));
  EXPECT_HAS(r.err, "rule=tracer-fileless-exec");
  EXPECT_HAS(r.audit, "|deny|tracer-fileless-exec");
}

TEST_P(TracerCase, ScriptInterpreterIsAProgramToo) {
  // #!blocked-cmd: the interpreter the kernel would start is denied.
  std::ofstream(p("evil.sh")) << "#!" << p("blocked-cmd") << "\n";
  fs::permissions(p("evil.sh"), fs::perms::owner_all);
  RunResult r = run_case({bin("tracer_exec"), "execve", p("evil.sh"), p("marker")});
  EXPECT_HAS(r.out, "exec=EACCES");
  EXPECT_FALSE(fs::exists(p("marker")));
  EXPECT_HAS(r.err, "rule=block-cmd command=blocked-cmd");
  // #!allowed-cmd with an argument: runs, and sees the argv the kernel builds.
  std::ofstream(p("good.sh")) << "#!" << p("allowed-cmd") << " " << p("marker") << "\n";
  fs::permissions(p("good.sh"), fs::perms::owner_all);
  r = run_case({bin("tracer_exec"), "execve", p("good.sh"), p("unused")});
  EXPECT_TRUE(exited_ok(r));
  EXPECT_HAS(r.out, "marker ran: " + p("allowed-cmd"));
  EXPECT_TRUE(fs::exists(p("marker")));
}

TEST_P(TracerCase, ScriptRewrittenInPlaceIsReadAgain) {
  // The exec check remembers an image's first page per file version: a script rewritten
  // in place (same inode, same size, within one clock tick) to name a blocked
  // interpreter must be seen with its new #! line by the same supervisor.
  const std::string script = p("s.sh");
  std::ofstream(script) << "#!" << p("allowed-cmd") << " " << p("marker") << "\n";
  fs::permissions(script, fs::perms::owner_all);
  const std::string sh = "'" + script + "'; echo rc1=$?; printf '#!%s %s\\n' '" + p("blocked-cmd") +
                         "' '" + p("marker") + "' > '" + script + "'; '" + script +
                         "'; echo rc2=$?";
  RunResult r = run_case({"/bin/sh", "-c", sh});
  ASSERT_TRUE(r.harness_ok);
  EXPECT_HAS(r.out, "marker ran: " + p("allowed-cmd") + "\nrc1=0\n");
  EXPECT_HAS(r.out, "rc2=126\n");
  EXPECT_LACKS(r.out, "marker ran: " + p("blocked-cmd"));
  EXPECT_HAS(r.err, "rule=block-cmd command=blocked-cmd");
  EXPECT_EQ(slurp(p("marker")), p("allowed-cmd"));
}

TEST_P(TracerCase, ExecRaceNeverRunsTheDeniedProgram) {
  // Another thread flips the path between an allowed and a denied program while exec
  // runs: the copy is decided, and what the kernel actually loads is checked at
  // PTRACE_EVENT_EXEC — a swapped image is killed before it runs.
  RunResult r = run_case(
      {bin("tracer_race"), "exec", p("allowed-cmd"), p("blocked-cmd"), p("marker"), "200"});
  ASSERT_TRUE(r.harness_ok);
  EXPECT_HAS(r.out, "ran=");
  if (fs::exists(p("marker"))) {
    EXPECT_EQ(slurp(p("marker")), p("allowed-cmd"));
  }
  EXPECT_LACKS(r.out, "marker ran: " + p("blocked-cmd"));
}

TEST_P(TracerCase, ExecArgvRaceNeverRunsWithUndecidedArguments) {
  // The path stays allowed, argv[0] flips to the blocked name: the argv the new image
  // received is compared at PTRACE_EVENT_EXEC (from its initial stack, or /proc cmdline
  // when that differs) and a program started with arguments nobody decided is killed.
  RunResult r = run_case(
      {bin("tracer_race"), "argv", p("allowed-cmd"), p("blocked-cmd"), p("marker"), "200"});
  ASSERT_TRUE(r.harness_ok);
  EXPECT_HAS(r.out, "ran=");
  if (fs::exists(p("marker"))) {
    EXPECT_EQ(slurp(p("marker")), p("allowed-cmd"));
  }
  EXPECT_LACKS(r.out, "marker ran: " + p("blocked-cmd"));
}

// ---- files -----------------------------------------------------------------------------

TEST_P(TracerCase, OpenRaceNeverLeaksTheDeniedFile) {
  std::ofstream(p("ok/plain")) << "plain";
  RunResult r = run_case({bin("tracer_race"), "open", p("ok/plain"), p("secret/key"), "3000"});
  ASSERT_TRUE(r.harness_ok);
  EXPECT_HAS(r.out, "leaked=0\n");
  EXPECT_LACKS(r.out, "opened=0 ");  // the allowed file did open
}

TEST_P(TracerCase, DeniedFileOpensFailWithEaccesEveryWay) {
  for (const char* op : {"read", "raw-read"}) {
    SCOPED_TRACE(op);
    RunResult r = run_case({bin("tracer_file"), op, p("secret/key")});
    EXPECT_HAS(r.out, std::string(op) + "=EACCES");
    EXPECT_HAS(r.audit, "file|read|" + p("secret/key") + "|deny|deny-secret");
  }
  for (const char* op : {"write", "raw-openat", "raw-open", "thread-write", "openat2", "creat"}) {
    SCOPED_TRACE(op);
    RunResult r = run_case({bin("tracer_file"), op, p("secret/new")});
    EXPECT_HAS(r.out, std::string(op) + "=EACCES");
    EXPECT_FALSE(fs::exists(p("secret/new")));
    EXPECT_HAS(r.audit, "|deny|deny-secret");
  }
}

// The open fast path (a plainly allowed lexical path opened with RESOLVE_NO_SYMLINKS)
// must decide exactly like the general path: a directory opened without O_DIRECTORY is
// a list, and a path through a symlink in its first component (merged /usr: /lib ->
// usr/lib) is also judged where it leads.
TEST_P(TracerCase, TracerPerfFastPathOpensDecideLikeTheGeneralPath) {
  fs::create_directories(dir_ / "nolist");
  StaticDecider d;
  d.deny_path("deny-list", p("nolist"), op_bit(FileOp::kList))
      .deny_path("deny-os-release", "/usr/lib/os-release", op_bit(FileOp::kRead));
  auto run_with = [&](std::vector<std::string> argv) {
    RunSpec s;
    s.argv = std::move(argv);
    s.decider = &d;
    return run(s);
  };
  for (const char* op : {"read", "raw-read"}) {
    SCOPED_TRACE(op);
    RunResult r = run_with({bin("tracer_file"), op, p("nolist")});
    EXPECT_HAS(r.out, std::string(op) + "=EACCES");
    EXPECT_HAS(r.audit, "file|list|" + p("nolist") + "|deny|deny-list");
    // Allowed directory: the open works (raw-read only opens), reading it is the
    // kernel's EISDIR.
    r = run_with({bin("tracer_file"), op, p("ok")});
    EXPECT_HAS(r.out, std::string(op) + (std::string(op) == "read" ? "=EISDIR" : "=ok"));
  }
  std::error_code ec;
  if (!fs::is_symlink("/lib", ec) || fs::read_symlink("/lib", ec) != "usr/lib" ||
      !fs::exists("/usr/lib/os-release", ec))
    GTEST_SKIP() << "needs a merged /usr (/lib -> usr/lib) with /usr/lib/os-release";
  for (const char* op : {"read", "raw-read"}) {
    SCOPED_TRACE(op);
    RunResult r = run_with({bin("tracer_file"), op, "/lib/os-release"});
    EXPECT_HAS(r.out, std::string(op) + "=EACCES");
    EXPECT_HAS(r.audit, "file|read|/usr/lib/os-release|deny|deny-os-release");
    r = run_with({bin("tracer_file"), op, "/usr/lib/os-release"});
    EXPECT_HAS(r.out, std::string(op) + "=EACCES");
    // The allowed neighbour through the same symlink opens and reads.
    r = run_with({bin("tracer_file"), op, "/lib/x86_64-linux-gnu/libc.so.6"});
    EXPECT_HAS(r.out, std::string(op) + "=ok");
  }
}

// A set*id that changes nothing (make's children call setresuid(-1, 0, -1) as root) does
// not mark the process as having foreign credentials — but a real change still does,
// before and after such a no-op, and emulated opens then run with the caller's ids.
TEST_P(TracerCase, TracerPerfNoOpCredentialCallsDoNotHideRealChanges) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (to become nobody)";
  // Readable by root only, in a directory nobody may enter.
  fs::create_directories(dir_ / "rootonly");
  fs::permissions(dir_ / "rootonly", fs::perms::owner_all);
  std::ofstream(dir_ / "rootonly" / "f") << "root";
  fs::permissions(dir_ / "rootonly" / "f", fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(dir_, fs::perms::owner_all | fs::perms::others_exec | fs::perms::group_exec);
  const std::string f = p("rootonly/f");
  RunResult r = run_case({bin("tracer_perf_creds"), "noop", f});
  EXPECT_HAS(r.out, "open=ok");
  for (const char* mode : {"drop", "noop-then-drop", "fsuid"}) {
    SCOPED_TRACE(mode);
    r = run_case({bin("tracer_perf_creds"), mode, f});
    EXPECT_HAS(r.out, "open=EACCES");
  }
}

TEST_P(TracerCase, AllowedFileWritesHappenWithTheRightContent) {
  for (const char* op : {"write", "raw-openat", "raw-open", "thread-write", "openat2", "creat"}) {
    SCOPED_TRACE(op);
    fs::remove(p("ok/f"));
    RunResult r = run_case({bin("tracer_file"), op, p("ok/f")});
    EXPECT_HAS(r.out, std::string(op) + "=ok");
    EXPECT_EQ(slurp(p("ok/f")), "x");
    // Created with the caller's umask (022 here): 0644.
    EXPECT_EQ(fs::status(p("ok/f")).permissions(), fs::perms::owner_read | fs::perms::owner_write |
                                                       fs::perms::group_read |
                                                       fs::perms::others_read);
  }
  RunResult r = run_case({bin("tracer_file"), "read", p("ok/f")});
  EXPECT_HAS(r.out, "read=ok");
}

TEST_P(TracerCase, SymlinkIntoDeniedTreeIsJudgedWhereItLeads) {
  fs::create_symlink(p("secret/key"), p("ok/link"));
  RunResult r = run_case({bin("tracer_file"), "read", p("ok/link")});
  EXPECT_HAS(r.out, "read=EACCES");
  EXPECT_HAS(r.audit, "file|read|" + p("secret/key") + "|deny|deny-secret");
  fs::create_directory_symlink(p("secret"), p("ok/dirlink"));
  r = run_case({bin("tracer_file"), "write", p("ok/dirlink/planted")});
  EXPECT_HAS(r.out, "write=EACCES");
  EXPECT_FALSE(fs::exists(p("secret/planted")));
}

TEST_P(TracerCase, ProcSelfAndDevFdMeanTheCallerNotTheSupervisor) {
  RunResult r = run_case({bin("tracer_file"), "selfproc", "-"});
  EXPECT_HAS(r.out, "self-pid-match=yes");
  EXPECT_HAS(r.out, "written-through-dev-stdout\n");
  EXPECT_HAS(r.out, "written-through-dev-fd-1\n");
  // The supervisor's own fds are never reachable, whichever way they are named.
  RunResult s =
      run_case({"/bin/sh", "-c", bin("tracer_file") + " read /proc/$SUPERVISOR_PID/fd/0"});
  EXPECT_HAS(s.out, "read=EACCES");
  EXPECT_HAS(s.audit, "|deny|tracer-protect-supervisor");
}

TEST_P(TracerCase, RelativePathsResolveAgainstTheCallersCwd) {
  RunSpec s;
  s.argv = {bin("tracer_file"), "read", "key"};
  s.cwd = p("secret");
  RunResult r = run(s);
  EXPECT_HAS(r.out, "read=EACCES");
  EXPECT_HAS(r.audit, "file|read|" + p("secret/key") + "|deny");
  s.argv = {bin("tracer_file"), "write", "../ok/rel"};
  r = run(s);
  EXPECT_HAS(r.out, "write=ok");
  EXPECT_EQ(slurp(p("ok/rel")), "x");
}

TEST_P(TracerCase, RelativeUnixSocketPathsResolveAgainstTheCallersCwd) {
  // Threaded caller: the supervisor performs connect/sendto/sendmsg on unix sockets
  // itself, so a relative sun_path must mean the caller's cwd, not the supervisor's.
  RunSpec s;
  s.argv = {bin("tracer_unix_relative")};
  s.cwd = p("ok");
  RunResult r = run(s);
  EXPECT_TRUE(exited_ok(r)) << r.out;
  EXPECT_HAS(r.out, "connect=ok");
  EXPECT_HAS(r.out, "sendto=2");
  EXPECT_HAS(r.out, "sendmsg=2");
  EXPECT_HAS(r.out, "got=hiyo");
}

TEST_P(TracerCase, PathSyscallsOnDeniedPathsChangeNothing) {
  std::ofstream(p("ro/victim")) << "v";
  fs::create_directory(p("ro/dir"));
  struct Case {
    const char* op;
    std::string a, b;
  } cases[] = {
      {"truncate", p("ro/victim"), ""},
      {"rename", p("ro/victim"), p("ok/moved")},
      {"rename", p("ok/x"), p("ro/victim")},
      {"link", p("ro/victim"), p("ok/hard")},
      {"link", p("secret/key"), p("ok/hard2")},
      {"symlink", p("ro/sl"), p("ok")},
      {"chmod", p("ro/victim"), ""},
      {"chown", p("ro/victim"), ""},
      {"mknod", p("ro/fifo"), ""},
      {"unlink", p("ro/victim"), ""},
      {"mkdir", p("ro/newdir"), ""},
      {"rmdir", p("ro/dir"), ""},
      {"fchmod", p("ro/victim"), ""},
      {"append", p("ro/victim"), ""},
  };
  std::ofstream(p("ok/x")) << "x";
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.op) + " " + c.a + " " + c.b);
    std::vector<std::string> argv{bin("tracer_file"), c.op, c.a};
    if (!c.b.empty()) argv.push_back(c.b);
    RunResult r = run_case(argv);
    EXPECT_HAS(r.out, std::string(c.op) + "=EACCES");
    EXPECT_EQ(slurp(p("ro/victim")), "v");
    EXPECT_EQ(fs::status(p("ro/victim")).permissions(),
              fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                  fs::perms::others_read);
    EXPECT_TRUE(fs::is_directory(p("ro/dir")));
    EXPECT_TRUE(fs::exists(p("ok/x")));
    for (const char* gone : {"ok/moved", "ok/hard", "ok/hard2", "ro/sl", "ro/fifo", "ro/newdir"})
      EXPECT_FALSE(fs::exists(fs::symlink_status(p(gone)))) << gone;
  }
}

TEST_P(TracerCase, PathSyscallsOnAllowedPathsWork) {
  std::ofstream(p("ok/a")) << "abc";
  auto ok = [&](std::vector<std::string> args) {
    std::vector<std::string> argv{bin("tracer_file")};
    argv.insert(argv.end(), args.begin(), args.end());
    RunResult r = run_case(argv);
    EXPECT_HAS(r.out, args[0] + "=ok");
  };
  ok({"truncate", p("ok/a")});
  EXPECT_EQ(fs::file_size(p("ok/a")), 0u);
  ok({"link", p("ok/a"), p("ok/b")});
  EXPECT_TRUE(fs::equivalent(p("ok/a"), p("ok/b")));
  ok({"rename", p("ok/b"), p("ok/c")});
  EXPECT_TRUE(fs::exists(p("ok/c")));
  EXPECT_FALSE(fs::exists(p("ok/b")));
  ok({"symlink", p("ok/s"), "c"});
  EXPECT_EQ(fs::read_symlink(p("ok/s")), "c");
  ok({"chmod", p("ok/c")});
  EXPECT_EQ(fs::status(p("ok/c")).permissions(), fs::perms::owner_read | fs::perms::owner_write);
  ok({"chown", p("ok/c")});
  ok({"mknod", p("ok/fifo")});
  EXPECT_TRUE(fs::is_fifo(p("ok/fifo")));
  ok({"mkdir", p("ok/d")});
  EXPECT_TRUE(fs::is_directory(p("ok/d")));
  EXPECT_EQ(fs::status(p("ok/d")).permissions() & fs::perms::all,
            fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                fs::perms::others_read | fs::perms::others_exec);
  ok({"rmdir", p("ok/d")});
  EXPECT_FALSE(fs::exists(p("ok/d")));
  ok({"unlink", p("ok/c")});
  EXPECT_FALSE(fs::exists(p("ok/c")));
  ok({"fchmod", p("ok/a")});
}

TEST_P(TracerCase, SoftDeleteMovesIntoTheTrashInsteadOfDeleting) {
  std::ofstream(p("keep/doc.txt")) << "precious";
  RunResult r = run_case({bin("tracer_file"), "unlink", p("keep/doc.txt")});
  EXPECT_HAS(r.out, "unlink=ok");
  EXPECT_FALSE(fs::exists(p("keep/doc.txt")));
  std::vector<fs::path> in_trash;
  for (const auto& e : fs::directory_iterator(p("trash"))) in_trash.push_back(e.path());
  ASSERT_EQ(in_trash.size(), 1u);
  EXPECT_NE(in_trash[0].filename().string().find("-doc.txt"), std::string::npos);
  EXPECT_EQ(slurp(in_trash[0]), "precious");
  EXPECT_HAS(r.audit, "file|delete|" + p("keep/doc.txt") + "|allow|soft-delete-keep");
  EXPECT_EQ(count(r.audit, "file|delete|"), 1u);
  // rmdir of a non-empty directory still fails as it would; an empty one is moved.
  fs::create_directories(p("keep/full/x"));
  r = run_case({bin("tracer_file"), "rmdir", p("keep/full")});
  EXPECT_HAS(r.out, "rmdir=ENOTEMPTY");
  fs::create_directories(p("keep/empty"));
  r = run_case({bin("tracer_file"), "rmdir", p("keep/empty")});
  EXPECT_HAS(r.out, "rmdir=ok");
  EXPECT_FALSE(fs::exists(p("keep/empty")));
}

// The trash on another filesystem than the file (a tmpfs here): rename says EXDEV, so
// the tracer copies into the trash and only then removes the original (as the hook does).
TEST_P(TracerCase, SoftDeleteAcrossFilesystemsCopiesIntoTheTrash) {
  std::ofstream(p("keep/doc.txt")) << "precious";
  fs::create_directories(p("keep/empty"));
  RunSpec s;
  s.argv = {"/bin/sh", "-c",
            bin("tracer_file") + " unlink " + p("keep/doc.txt") + "; " + bin("tracer_file") +
                " rmdir " + p("keep/empty") + "; cat " + p("trash") + "/*-doc.txt; echo; ls " +
                p("trash") + "; stat -f -c %T " + p("trash")};
  s.trash_on_tmpfs = true;
  RunResult r = run(s);
  ASSERT_TRUE(r.harness_ok) << r.prepare_error << r.harness_err;
  EXPECT_HAS(r.out, "unlink=ok");
  EXPECT_HAS(r.out, "rmdir=ok");
  EXPECT_HAS(r.out, "precious\n");  // the copy, read back inside the namespace
  EXPECT_HAS(r.out, "-empty\n");
  EXPECT_HAS(r.out, "tmpfs\n");
  EXPECT_FALSE(fs::exists(p("keep/doc.txt")));  // the original went, after the copy
  EXPECT_FALSE(fs::exists(p("keep/empty")));
  EXPECT_HAS(r.audit, "file|delete|" + p("keep/doc.txt") + "|allow|soft-delete-keep");
  EXPECT_TRUE(fs::is_empty(p("trash")));  // outside the namespace: the tmpfs is not there
}

TEST_P(TracerCase, SystemPathWriteIsRefusedAndLeavesNothing) {
  // /usr/local is a private tmpfs in the harness's own mount namespace: even a failure
  // of the tracer could not touch the host.
  for (const char* op : {"write", "raw-openat", "mkdir", "mknod"}) {
    SCOPED_TRACE(op);
    RunResult r = run_case({bin("tracer_file"), op, "/usr/local/agentsh-tracer-case"}, true);
    ASSERT_TRUE(r.harness_ok) << r.prepare_error;
    EXPECT_HAS(r.out, std::string(op) + "=EACCES");
    EXPECT_HAS(r.audit, "|/usr/local/agentsh-tracer-case|deny|deny-system-write");
  }
  EXPECT_FALSE(fs::exists("/usr/local/agentsh-tracer-case"));
}

TEST_P(TracerCase, OpenByHandleIsRefused) {
  RunResult r = run_case({bin("tracer_file"), "handle", p("ok")});
  EXPECT_HAS(r.out, "handle=EACCES");
  EXPECT_HAS(r.audit, "system|open_by_handle_at|");
}

TEST_P(TracerCase, EmulationHappensInTheChildsMountNamespace) {
  RunSpec s;
  s.argv = {"/bin/sh", "-c",
            bin("tracer_file") + " write /mnt/child-view/f && " + bin("tracer_file") +
                " read /mnt/child-view/f && cat /mnt/child-view/f"};
  s.child_own_mnt = true;
  RunResult r = run(s);
  ASSERT_TRUE(r.harness_ok) << r.prepare_error;
  EXPECT_HAS(r.out, "write=ok");
  EXPECT_HAS(r.out, "read=ok");
  EXPECT_HAS(r.out, "x");
  EXPECT_TRUE(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0) << r.status << r.err;
}

// ---- network ---------------------------------------------------------------------------

class Listener {
 public:
  Listener() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_ANY);  // 127.0.0.1 and 127.0.0.2 alike
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 16);
    socklen_t l = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &l);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { close(fd_); }
  std::string port() const { return std::to_string(port_); }

 private:
  int fd_;
  uint16_t port_;
};

TEST_P(TracerCase, ConnectToDeniedAddressIsRefusedAllowedOneWorks) {
  Listener l;
  RunResult r = run_case({bin("tracer_net"), "connect", "127.0.0.1", l.port()});
  EXPECT_HAS(r.out, "connect=ok");
  for (const char* op :
       {"connect", "raw-connect", "connect6", "sendto", "sendmsg", "sendmmsg", "fastopen"}) {
    SCOPED_TRACE(op);
    r = run_case({bin("tracer_net"), op, "127.0.0.2", l.port()});
    EXPECT_HAS(r.out, std::string(op) + "=EACCES");
    EXPECT_HAS(r.audit, "network|");
    EXPECT_HAS(r.audit, "|127.0.0.2:" + l.port() + "|deny|deny-loopback2");
  }
  r = run_case({bin("tracer_net"), "sendto", "127.0.0.1", l.port()});
  EXPECT_HAS(r.out, "sendto=ok");
  r = run_case({bin("tracer_net"), "sendmsg", "127.0.0.1", l.port()});
  EXPECT_HAS(r.out, "sendmsg=ok");
  r = run_case({bin("tracer_net"), "sendmmsg", "127.0.0.1", l.port()});
  EXPECT_HAS(r.out, "sent=2 len0=4");
  EXPECT_HAS(r.out, "sendmmsg=ok");
}

// ---- foreign ABIs ----------------------------------------------------------------------

TEST_P(TracerCase, ForeignSyscallAbisKillTheProcess) {
  for (const char* abi : {"i386", "x32"}) {
    SCOPED_TRACE(abi);
    RunResult r = run_case({bin("tracer_abi"), abi});
    ASSERT_TRUE(WIFSIGNALED(r.status)) << r.status << " " << r.out;
    EXPECT_EQ(WTERMSIG(r.status), SIGSYS);
    EXPECT_HAS(r.out, std::string("calling ") + abi);
    EXPECT_LACKS(r.out, "survived");
    EXPECT_HAS(r.audit, "system|foreign-abi|");
  }
  // An i386 open of a denied file never reaches the file.
  RunResult r = run_case({bin("tracer_file"), "i386-open", p("secret/key")});
  ASSERT_TRUE(WIFSIGNALED(r.status));
  EXPECT_EQ(WTERMSIG(r.status), SIGSYS);
}

// ---- other processes -------------------------------------------------------------------

TEST_P(TracerCase, TheSupervisorIsOutOfReach) {
  // The harness is the supervisor: SUPERVISOR_PID in the case's environment.
  struct Case {
    const char* op;
    const char* expect;
  } cases[] = {
      {"kill", "EPERM"},       {"kill0", "EPERM"},      {"tgkill", "EPERM"},
      {"pidfd-kill", "EPERM"}, {"ptrace", "EPERM"},     {"seize", "EPERM"},
      {"vmread", "EPERM"},     {"vmwrite", "EPERM"},    {"pidfd-getfd", "EPERM"},
      {"environ", "EACCES"},   {"mem-write", "EACCES"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.op);
    RunResult r =
        run_case({"/bin/sh", "-c", bin("tracer_proc") + " " + c.op + " \"$SUPERVISOR_PID\" 3"});
    ASSERT_TRUE(r.harness_ok);
    EXPECT_HAS(r.out, std::string(c.op) + "=" + c.expect);
    EXPECT_HAS(r.info, "dumpable=0");
  }
  // Outside the session in general: init.
  RunResult r = run_case({bin("tracer_proc"), "kill0", "1"});
  EXPECT_HAS(r.out, "kill0=EPERM");
  EXPECT_HAS(r.audit, "signal|kill|pid 1 signal 0|deny|tracer-outside-session");
}

TEST_P(TracerCase, SignalsInsideTheTreeStillWork) {
  RunResult r = run_case({bin("tracer_proc"), "kill-child"});
  EXPECT_HAS(r.out, "kill-child=ok");
  EXPECT_HAS(r.out, "child-signal=9");
  r = run_case({bin("tracer_proc"), "kill-self"});
  ASSERT_TRUE(WIFSIGNALED(r.status));
  EXPECT_EQ(WTERMSIG(r.status), SIGUSR1);
}

TEST_P(TracerCase, DangerousFacilitiesAreRefused) {
  for (const char* op : {"io_uring", "userfaultfd", "listener", "mount", "chroot"}) {
    SCOPED_TRACE(op);
    RunResult r = run_case({bin("tracer_proc"), op});
    EXPECT_HAS(r.out, std::string(op) + "=EPERM");
    EXPECT_HAS(r.audit, "|deny|tracer-deny-");
  }
}

TEST_P(TracerCase, TheTreeDiesWithTheSupervisor) {
  RunSpec s;
  s.argv = {bin("tracer_proc"), "sleep"};
  s.decider = &decider_;
  s.cwd = dir_.string();
  fs::path rdir = dir_ / "exitkill";
  fs::create_directories(rdir);
  pid_t h = fork();
  if (h == 0) harness(s, rdir);
  // Wait until the traced sleeper exists (a child of the harness).
  pid_t sleeper = 0;
  for (int i = 0; i < 500 && sleeper == 0; ++i) {
    std::string kids =
        slurp("/proc/" + std::to_string(h) + "/task/" + std::to_string(h) + "/children");
    if (!kids.empty())
      sleeper = std::stoi(kids);
    else
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GT(sleeper, 0);
  for (int i = 0; i < 500; ++i) {  // until it has exec'd the case program
    if (slurp("/proc/" + std::to_string(sleeper) + "/cmdline").find("sleep") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(h, SIGKILL);
  int st;
  waitpid(h, &st, 0);
  // PTRACE_O_EXITKILL: the tracee gets SIGKILL when its tracer goes away.
  bool gone = false;
  for (int i = 0; i < 500 && !gone; ++i) {
    std::string stat = slurp("/proc/" + std::to_string(sleeper) + "/stat");
    gone = stat.empty() || stat.find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(gone);
}

TEST_P(TracerCase, KillTreeEndsDaemonisedLeftoversToo) {
  // A background sleeper would keep the session alive forever; kill_tree() ends it.
  RunSpec s;
  s.argv = {"/bin/sh", "-c",
            bin("tracer_proc") + " sleep & " + bin("tracer_proc") + " sleep & : > ready; wait"};
  s.kill_tree_when_marker = true;
  RunResult r = run(s);
  ASSERT_TRUE(r.harness_ok);
  ASSERT_TRUE(WIFSIGNALED(r.status)) << r.status;
  EXPECT_EQ(WTERMSIG(r.status), SIGKILL);
}

// ---- the gate ----------------------------------------------------------------------------

TEST_P(TracerCase, GateRunsDecidedCallsButNeverExecAndCannotBeTampered) {
  uint64_t gate = choose_gate_address();
  char hex[32];
  snprintf(hex, sizeof hex, "%llx", static_cast<unsigned long long>(gate));
  RunSpec s;
  s.argv = {bin("tracer_gate"), hex, p("secret/key"), p("blocked-cmd"), p("marker")};
  s.hook_present = true;
  s.gate = gate;
  RunResult r = run(s);
  ASSERT_TRUE(r.harness_ok);
  if (std::string(GetParam()).empty()) {
    // A dynamic image may set the gate up once, as the hook does.
    EXPECT_HAS(r.out, "gate-map=ok");
    EXPECT_HAS(r.out, "gate-seal=ok");
    EXPECT_HAS(r.out, "gate-open=ok");     // the hook's decision is trusted
    EXPECT_HAS(r.out, "raw-open=EACCES");  // the same call outside the gate is not
    EXPECT_HAS(r.out, "tamper-mprotect=EPERM");
    EXPECT_HAS(r.out, "tamper-gate-mprotect=EPERM");
    EXPECT_HAS(r.out, "tamper-munmap=EPERM");
    EXPECT_HAS(r.out, "tamper-mremap=EPERM");
    EXPECT_HAS(r.out, "tamper-fixed=EPERM");
    EXPECT_HAS(r.out, "gate-exec=EACCES");  // exec always reaches the supervisor
    EXPECT_FALSE(fs::exists(p("marker")));
    EXPECT_HAS(r.audit, "|deny|tracer-gate-guard");
  } else {
    // A static image has no hook: it may not forge a gate.
    EXPECT_HAS(r.out, "gate-map=EPERM");
    EXPECT_LACKS(r.out, "gate-open");
    EXPECT_HAS(r.audit, "system|mmap|");
  }
}

// ---- where the tracer cannot run ---------------------------------------------------------

TEST_P(TracerCase, WithoutPtraceItSaysSoLoudlyAndRunsHookOnly) {
  RunSpec s;
  s.argv = {bin("tracer_file"), "read", p("ok/../ro/file")};
  s.deny_ptrace_first = true;
  s.hook_present = true;
  RunResult r = run(s);
  ASSERT_TRUE(r.harness_ok) << r.prepare_error;
  EXPECT_HAS(r.info, "mode=hook-only");
  EXPECT_HAS(r.harness_err, "WARNING: tracer unavailable (PTRACE_SEIZE failed");
  EXPECT_HAS(r.harness_err, "NOT governed");
  EXPECT_HAS(r.audit, "system|tracer|hook-only|allow|tracer-unavailable");
  EXPECT_HAS(r.out, "read=ok");
  // Nothing governs at all: refuse to start.
  s.hook_present = false;
  r = run(s);
  EXPECT_FALSE(r.harness_ok);
  EXPECT_HAS(r.prepare_error, "cannot govern this command");
}

INSTANTIATE_TEST_SUITE_P(DynamicAndStatic, TracerCase, ::testing::Values("", ".static"),
                         [](const auto& info) {
                           return std::string(info.param).empty() ? "dynamic" : "static";
                         });

}  // namespace
}  // namespace agentsh::tracer
