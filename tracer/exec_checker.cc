#include "tracer/exec_checker.h"

#include <elf.h>
#include <fcntl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "tracer/creds_scope.h"
#include "tracer/remote_memory.h"

namespace agentsh::tracer {

namespace {

constexpr size_t kBinprmBuf = 256;  // BINPRM_BUF_SIZE
constexpr int kMaxInterpDepth = 4;  // BINPRM_MAX_RECURSION
constexpr size_t kMaxArgBytes = 8 << 20;
constexpr size_t kMaxArgs = 1 << 20;

std::string base_name(const std::string& p) {
  size_t s = p.rfind('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string join_argv(const std::vector<std::string>& argv, const std::string& path) {
  if (argv.empty()) return path;
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

bool fileless(const std::string& real) {
  return real.empty() || real[0] != '/' || real.compare(0, 7, "/memfd:") == 0 ||
         (real.size() > 10 && real.compare(real.size() - 10, 10, " (deleted)") == 0);
}

// Reads the first bytes of an image and whether it is a dynamic ELF (has PT_INTERP).
bool inspect(const SupervisorContext& ctx, int object, std::string* head, bool* dynamic) {
  *dynamic = false;
  ScopedFd fd = ctx.reopen(object, O_RDONLY | O_NOCTTY);
  if (!fd) return false;  // execute-only: nothing to read, nothing to parse
  // One read covers the ELF header and, in practice, every program header.
  char buf[4096];
  ssize_t n = pread(fd.get(), buf, sizeof buf, 0);
  if (n < 0) return false;
  head->assign(buf, static_cast<size_t>(n < static_cast<ssize_t>(kBinprmBuf) ? n : kBinprmBuf));
  if (n < static_cast<ssize_t>(sizeof(Elf64_Ehdr)) || memcmp(buf, ELFMAG, SELFMAG) != 0)
    return true;
  Elf64_Ehdr eh;
  memcpy(&eh, buf, sizeof eh);
  if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr)) return true;
  for (unsigned i = 0; i < eh.e_phnum && i < 256; ++i) {
    Elf64_Phdr ph;
    uint64_t off = eh.e_phoff + i * sizeof ph;
    if (off + sizeof ph <= static_cast<uint64_t>(n)) {
      memcpy(&ph, buf + off, sizeof ph);
    } else if (pread(fd.get(), &ph, sizeof ph, static_cast<off_t>(off)) !=
               static_cast<ssize_t>(sizeof ph)) {
      break;
    }
    if (ph.p_type == PT_INTERP) {
      *dynamic = true;
      break;
    }
  }
  return true;
}

}  // namespace

bool ExecChecker::parse_shebang(const std::string& head, std::string* interp, std::string* arg) {
  if (head.size() < 2 || head[0] != '#' || head[1] != '!') return false;
  size_t end = head.find('\n');
  if (end == std::string::npos) end = head.size();
  size_t i = 2;
  while (i < end && (head[i] == ' ' || head[i] == '\t')) ++i;
  size_t s = i;
  while (i < end && head[i] != ' ' && head[i] != '\t' && head[i] != '\0') ++i;
  *interp = head.substr(s, i - s);
  while (i < end && (head[i] == ' ' || head[i] == '\t')) ++i;
  size_t a = i, e = end;
  while (e > a && (head[e - 1] == ' ' || head[e - 1] == '\t')) --e;
  *arg = head.substr(a, e - a);
  // An arg up to the first NUL only (the kernel stops there).
  if (size_t z = arg->find('\0'); z != std::string::npos) arg->resize(z);
  return true;
}

std::vector<std::string> ExecChecker::script_argv(const std::vector<std::string>& argv,
                                                  const std::string& interp, const std::string& arg,
                                                  const std::string& filename) {
  std::vector<std::string> out{interp};
  if (!arg.empty()) out.push_back(arg);
  out.push_back(filename);
  for (size_t i = 1; i < argv.size(); ++i) out.push_back(argv[i]);
  return out;
}

Outcome ExecChecker::deny(const Caller& c, const std::vector<std::string>& argv,
                          const std::string& path, const Verdict& v) {
  std::string key = path + '\0' + join_argv(argv, path);
  bool repeat = false;
  ctx_.procs.update(c.tid, [&](ProcState& s) {
    repeat = s.last_exec_denial == key;
    s.last_exec_denial = key;
  });
  if (repeat) return Outcome::error(EACCES);
  std::string name = v.subject;
  if (name.empty()) name = base_name(!argv.empty() && !argv[0].empty() ? argv[0] : path);
  std::string line = "agentsh: blocked by policy: rule=" + v.rule + " command=" + name + "\n";
  // The caller's own stderr: the program (and whoever reads its output) sees why.
  if (ScopedFd err = proc_fs::getfd(c.tid, 2)) {
    ssize_t w = write(err.get(), line.data(), line.size());
    (void)w;
  }
  ctx_.audit(c.tgid, "exec", "exec", join_argv(argv, path), v, false);
  return Outcome::error(EACCES);
}

Outcome ExecChecker::check(const Caller& c) {
  const SyscallInfo& s = *c.info;
  int di = syscall_table::arg_index(s, Arg::kDirfd);
  int pi = syscall_table::arg_index(s, Arg::kPath);
  int ai = syscall_table::arg_index(s, Arg::kArgv);
  int fi = syscall_table::arg_index(s, Arg::kFlags);
  int dirfd = di >= 0 ? static_cast<int>(c.arg(di)) : AT_FDCWD;
  int flags = fi >= 0 ? static_cast<int>(c.arg(fi)) : 0;
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) return Outcome::error(EINVAL);

  Stats& stats = ctx_.stats;
  uint64_t t = stats.now();
  std::string path;
  std::vector<std::string> argv;
  int r = remote_memory::read_exec_args(c.tid, c.arg(pi), 4095, c.arg(ai), kMaxArgBytes, kMaxArgs,
                                        &path, &argv);
  if (r < 0) return Outcome::error(r == -EPERM ? EACCES : -r);
  // Whether the tid was still the caller when its memory was read is proven by the
  // notification still pending — checked by fs_.lookup() below before it returns the
  // object, so before anything is decided, written or audited (a failed lookup only
  // answers an error, harmless to a gone notification).
  stats.lap(Stats::kExecReadArgs, &t);

  CredsScope creds(c.tid, c.state.foreign_creds, ctx_.self_creds, ctx_.self_user_ns);
  if (creds.error()) return Outcome::error(creds.error());

  ScopedFd object;
  std::string lexical, real;
  struct stat st {};
  r = fs_.lookup(c, dirfd, path, flags & AT_SYMLINK_NOFOLLOW, flags & AT_EMPTY_PATH, &object,
                 &lexical, &real, &st);
  // Nothing to run: the kernel would fail the same way. Not decided, so a shell walking
  // $PATH (dash execs every candidate) prints no denial for the misses.
  if (r < 0) return Outcome::error(-r);
  stats.lap(Stats::kExecLookup, &t);
  if (S_ISLNK(st.st_mode)) return Outcome::error(ELOOP);
  if (!S_ISREG(st.st_mode)) return Outcome::error(EACCES);
  if (fileless(real)) {
    Verdict v = Verdict::denied("tracer-fileless-exec",
                                "executing a file that has no path (memfd, deleted) is not "
                                "allowed");
    return deny(c, argv, real, v);
  }

  // The filename the kernel records (bprm->filename) — what a #! interpreter receives.
  std::string filename = path;
  if (dirfd != AT_FDCWD && (path.empty() || path[0] != '/'))
    filename = "/dev/fd/" + std::to_string(dirfd) + (path.empty() ? "" : "/" + path);

  const bool nested = !c.state.initial;
  Verdict v = ctx_.decider->exec(argv, real, nested);
  if (!v.allow) return deny(c, argv, real, v);
  Verdict shown = v;
  stats.lap(Stats::kExecDecide, &t);

  std::vector<std::string> expect = argv.empty() ? std::vector<std::string>{""} : argv;
  std::string head;
  bool dynamic = false;
  for (int depth = 0;; ++depth) {
    {
      // The file this loop is at: `st` is its fstat (the lookup's).
      ImageHeaderCache::Header h;
      if (!headers_.find(st, &h) && inspect(ctx_, object.get(), &h.head, &h.dynamic))
        headers_.put(st, h);
      // Unreadable (execute-only): no #! to follow, not known to be dynamic.
      head = std::move(h.head);
      dynamic = h.dynamic;
    }
    stats.lap(Stats::kExecInspect, &t);
    std::string interp, arg;
    if (!parse_shebang(head, &interp, &arg)) break;
    if (interp.empty()) return Outcome::error(ENOEXEC);
    if (depth >= kMaxInterpDepth) return Outcome::error(ELOOP);
    expect = script_argv(expect, interp, arg, filename);
    filename = interp;
    ScopedFd iobj;
    std::string ilex, ireal;
    struct stat ist {};
    r = fs_.lookup(c, AT_FDCWD, interp, false, false, &iobj, &ilex, &ireal, &ist);
    if (r < 0) return Outcome::error(-r);
    if (!S_ISREG(ist.st_mode)) return Outcome::error(EACCES);
    // The interpreter is a program the tree starts too: `#!/usr/bin/sudo` is sudo.
    Verdict iv = ctx_.decider->exec(expect, ireal, nested);
    if (!iv.allow) return deny(c, expect, ireal, iv);
    object = std::move(iobj);
    st = ist;
  }

  ExecApproval a;
  a.dev = st.st_dev;
  a.ino = st.st_ino;
  a.argv = std::move(expect);
  a.dynamic = dynamic;
  a.command = join_argv(argv, real);
  ctx_.audit(c.tgid, "exec", "exec", a.command, shown, true);
  ctx_.procs.set_approval(c.tid, std::move(a));
  stats.lap(Stats::kExecRecord, &t);
  return Outcome::proceed();
}

bool ExecChecker::verify(pid_t tgid, pid_t former_tid) {
  uint64_t t = ctx_.stats.now();
  bool ok = verify_image(tgid, former_tid);
  ctx_.stats.lap(Stats::kExecVerify, &t);
  return ok;
}

bool ExecChecker::verify_image(pid_t tgid, pid_t former_tid) {
  std::optional<ExecApproval> a = ctx_.procs.on_exec(tgid, former_tid);
  auto fail = [&](const std::string& target, const char* why) {
    ctx_.audit_builtin(tgid, "exec", "exec", target, "tracer-exec-mismatch", why);
    return false;
  };
  if (!a) return fail("pid " + std::to_string(tgid), "exec that the supervisor never approved");
  struct stat st {};
  std::string proc = "/proc/" + std::to_string(tgid);
  if (stat((proc + "/exe").c_str(), &st) != 0 || st.st_dev != a->dev || st.st_ino != a->ino)
    return fail(a->command, "the program that started is not the one approved");
  if (argv_on_stack(tgid, a->argv)) return accept(tgid, *a);
  std::string cmdline;
  if (!proc_fs::read_file(proc + "/cmdline", &cmdline, kMaxArgBytes + 4096))
    return fail(a->command, "cannot read the new program's arguments");
  std::vector<std::string> got;
  size_t start = 0;
  for (size_t i = 0; i < cmdline.size(); ++i) {
    if (cmdline[i] == '\0') {
      got.emplace_back(cmdline, start, i - start);
      start = i + 1;
    }
  }
  if (start != cmdline.size()) got.emplace_back(cmdline, start);
  if (got != a->argv) return fail(a->command, "the arguments changed after approval");
  return accept(tgid, *a);
}

bool ExecChecker::accept(pid_t tgid, const ExecApproval& a) {
  GateState gs = (a.dynamic && ctx_.gate != 0) ? GateState::kEligible : GateState::kNone;
  ctx_.procs.update(tgid, [gs](ProcState& s) { s.gate = gs; });
  return true;
}

bool ExecChecker::argv_on_stack(pid_t tgid, const std::vector<std::string>& expect) {
  // At PTRACE_EVENT_EXEC no instruction of the new image has run: the stack pointer is
  // where the kernel put argc, followed by the argv pointers and a NULL, and the strings
  // lie back to back from argv[0] — the very bytes /proc/<pid>/cmdline shows (arg_start
  // to arg_end). Nothing else can write the fresh address space (process_vm_writev,
  // /proc/<pid>/mem and ptrace into another process are refused), so reading it with
  // two process_vm_readv is as exact as the cmdline file and needs no open, second read
  // and close. True only on an exact match (count, contiguous layout, bytes); anything
  // else (a 32-bit image, an unreadable stack) leaves the decision to the cmdline check.
  const size_t n = expect.size();
  if (n == 0 || n > 4096) return false;
  errno = 0;
  long sp = ptrace(PTRACE_PEEKUSER, tgid, offsetof(user_regs_struct, rsp), 0);
  if (errno != 0 || sp == 0) return false;
  std::vector<uint64_t> words(n + 2);
  if (remote_memory::read(tgid, static_cast<uint64_t>(sp), words.data(), words.size() * 8) != 0)
    return false;
  if (words[0] != n || words[n + 1] != 0) return false;
  std::string blob;
  for (size_t i = 0; i < n; ++i) {
    if (words[1 + i] != words[1] + blob.size()) return false;
    blob += expect[i];
    blob += '\0';
  }
  if (blob.size() > kMaxArgBytes) return false;
  std::string got(blob.size(), '\0');
  if (remote_memory::read(tgid, words[1], got.data(), got.size()) != 0) return false;
  return got == blob;
}

}  // namespace agentsh::tracer
