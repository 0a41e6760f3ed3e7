#include "agentsh/command_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>

#include "agentsh/audit_store.h"
#include "agentsh/broker.h"
#include "agentsh/config.h"
#include "agentsh/exec_env.h"
#include "agentsh/policy_context.h"
#include "agentsh/runtime_dir.h"
#include "common/fs_util.h"
#include "policy/engine.h"

extern char** environ;

namespace agentsh {

namespace {

// The pid of the command, for the signal handlers (async-signal-safe access only).
volatile sig_atomic_t g_child_pid = 0;

void forward_signal(int sig, siginfo_t* info, void*) {
  pid_t child = g_child_pid;
  if (child <= 0) return;
  // A terminal's SIGINT/SIGQUIT already reached the whole foreground process group,
  // the command included; forwarding it again would deliver it twice. Only signals
  // sent to us on purpose (kill(2), si_code <= 0) are forwarded.
  if ((sig == SIGINT || sig == SIGQUIT) && info && info->si_code > 0) return;
  kill(child, sig);
}

void install_forwarders() {
  struct sigaction sa {};
  sa.sa_sigaction = forward_signal;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGQUIT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGWINCH, SIGALRM})
    sigaction(sig, &sa, nullptr);
}

std::string random_hex(int bytes) {
  std::random_device rd;
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (int i = 0; i < bytes; ++i) {
    unsigned v = rd() & 0xff;
    s += hex[v >> 4];
    s += hex[v & 15];
  }
  return s;
}

std::string basename_of(const std::string& p) {
  auto s = p.find_last_of('/');
  return s == std::string::npos ? p : p.substr(s + 1);
}

std::string join_args(const std::vector<std::string>& argv) {
  std::string s;
  for (const auto& a : argv) {
    if (!s.empty()) s += ' ';
    s += a;
  }
  return s;
}

// The hook library: $AGENTSH_HOOK_LIBRARY, else next to the binary's lib directory
// (build/bin → build/lib; PREFIX/bin → PREFIX/lib/agentsh).
std::string find_hook_library() {
  if (const char* e = getenv("AGENTSH_HOOK_LIBRARY"); e && *e && access(e, R_OK) == 0) return e;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return "";
  exe[n] = '\0';
  std::string dir = exe;
  dir = dir.substr(0, dir.find_last_of('/'));
  std::string up = dir.substr(0, dir.find_last_of('/'));
  for (const std::string& cand :
       {up + "/lib/libagentsh_hook.so", up + "/lib/agentsh/libagentsh_hook.so",
        dir + "/libagentsh_hook.so"}) {
    if (access(cand.c_str(), R_OK) == 0) return cand;
  }
  return "";
}

// Finds CMD like execvp would, in the PATH the command will see.
std::string resolve_command(const std::string& cmd, const std::string& path_env) {
  if (cmd.find('/') != std::string::npos) return cmd;
  std::string path = path_env.empty() ? "/usr/local/bin:/usr/bin:/bin" : path_env;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + cmd;
    struct stat st;
    if (stat(cand.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(cand.c_str(), X_OK) == 0)
      return cand;
    start = end + 1;
  }
  return "";
}

// The one stderr line for a command blocked by policy (same text as the hook's).
std::string blocked_line(const policy::Verdict& v, const std::string& fallback_cmd) {
  std::string cmd = v.subject.empty() ? basename_of(fallback_cmd) : basename_of(v.subject);
  std::string line = "blocked by policy: rule=" + (v.rule.empty() ? "default" : v.rule) +
                     " command=" + cmd;
  if (v.decision == policy::Decision::kApprove) line += " (" + v.reason + ")";
  return line;
}

}  // namespace

int CommandRunner::run() {
  if (opts_.argv.empty()) {
    fprintf(stderr, "agentsh exec: no command given\nTry 'agentsh help exec'.\n");
    return 2;
  }

  // ---- configuration, session, variables, policy -----------------------------------
  std::string session_id = opts_.session_id;
  if (session_id.empty()) {
    if (const char* e = getenv("AGENTSH_SESSION_ID"); e && *e) session_id = e;
  }
  ContextRequest creq;
  creq.config_path = opts_.config_path;
  creq.policy_arg = opts_.policy_arg;
  creq.workspace = opts_.workspace;
  creq.session_id = session_id;
  // A session named on the command line must exist; one inherited from the
  // environment is used when found (its id still tags the audit rows).
  creq.session_required = opts_.session_explicit;
  PolicyContext ctx;
  std::string err;
  if (!load_policy_context(creq, &ctx, &err)) {
    fprintf(stderr, "agentsh: %s\n", err.c_str());
    return 2;
  }
  const Config& cfg = ctx.cfg;
  const std::string& origin = ctx.policy_origin;
  std::string command_id = opts_.command_id;
  if (command_id.empty()) {
    if (const char* e = getenv("AGENTSH_COMMAND_ID"); e && *e) command_id = e;
    else command_id = "cmd-" + random_hex(8);
  }

  // ---- state: runtime dir, audit ----------------------------------------------------
  std::string sdir = state_dir(cfg);
  RuntimeDir rt;
  if (!rt.create(sdir + "/run", &err)) {
    fprintf(stderr, "agentsh exec: %s\n", err.c_str());
    return 2;
  }
  // soft_delete moves files here (the hook renames into it); private to our uid.
  std::string trash = sdir + "/trash/" + (session_id.empty() ? command_id : session_id);
  if (!fs_util::make_dirs(trash, 0700)) {
    fprintf(stderr, "agentsh exec: cannot create trash directory %s: %s\n", trash.c_str(),
            strerror(errno));
    return 2;
  }

  std::unique_ptr<AuditStore> audit;
  if (cfg.audit_enabled) {
    audit = AuditStore::open(cfg.audit_db, &err);
    if (!audit)
      fprintf(stderr, "agentsh: WARNING: audit disabled for this run: %s\n", err.c_str());
  }
  auto record = [&](AuditEvent ev) {
    if (!audit) return;
    ev.session = session_id;
    ev.command_id = command_id;
    audit->record(std::move(ev));
  };

  std::string hook = opts_.no_hook ? std::string() : find_hook_library();
  if (!opts_.no_hook && hook.empty()) {
    fprintf(stderr,
            "agentsh: libagentsh_hook.so not found next to the agentsh binary (set "
            "AGENTSH_HOOK_LIBRARY); refusing to run ungoverned\n");
    return 2;
  }

  // ---- compile ------------------------------------------------------------------------
  policy::EngineOptions eo;
  eo.approval_mode = cfg.approval_mode();
  eo.session_id = session_id;
  eo.broker_socket = rt.path() + "/broker.sock";
  eo.hook_library = hook;
  eo.snapshot_path = rt.path() + "/policy.snap";
  eo.trash_dir = trash;
  eo.snapshot_flags = snapshot::kFlagHookExecViaBroker;
  // agentsh's own files: the agent may read them (the hook must), never change them.
  eo.protect_readonly = {rt.path(), hook, cfg.sessions_dir};
  if (cfg.source != "<embedded>") eo.protect_readonly.push_back(cfg.source);
  if (origin != "<embedded>") eo.protect_readonly.push_back(origin);
  eo.protect_hidden = {cfg.audit_db, cfg.audit_db + "-wal", cfg.audit_db + "-shm"};
  std::unique_ptr<policy::Engine> engine = policy::Engine::compile(ctx.policy, ctx.vars, eo, &err);
  if (!engine) {
    fprintf(stderr, "agentsh: policy error: %s\n", err.c_str());
    return 2;
  }
  if (!rt.write_file("policy.snap", engine->snapshot_bytes(), 0444, &err)) {
    fprintf(stderr, "agentsh exec: %s\n", err.c_str());
    return 2;
  }

  // ---- environment --------------------------------------------------------------------
  ExecEnv env = build_exec_env(*engine, cfg, environ, opts_.explicit_env);
  for (const auto& d : env.dropped_explicit)
    fprintf(stderr, "agentsh: environment variable %s withheld by policy\n", d.c_str());
  if (!hook.empty()) {
    env.set_preload(hook);
    env.set("AGENTSH_SNAPSHOT", eo.snapshot_path);
  }
  env.set("AGENTSH_IN_SESSION", "1");
  env.set("AGENTSH_COMMAND_ID", command_id);
  if (!session_id.empty()) env.set("AGENTSH_SESSION_ID", session_id);

  // ---- top-level check ----------------------------------------------------------------
  std::vector<std::string> argv = opts_.argv;
  std::string resolved = resolve_command(argv[0], env.get("PATH"));
  policy::Verdict v = engine->check_command(argv, resolved);
  {
    AuditEvent ev;
    ev.pid = getpid();
    ev.type = "exec";
    ev.operation = "exec";
    ev.target = join_args(argv);
    ev.decision = std::string(policy::decision_name(v.decision));
    ev.effective = v.effect == policy::Effect::kAllow ? "allow" : "deny";
    ev.rule = v.rule;
    ev.message = v.effect == policy::Effect::kAllow ? v.message : v.reason;
    ev.source = "policy";
    record(ev);
  }
  if (v.effect != policy::Effect::kAllow) {
    // kAsk would need an approver; the approval path lives in the broker handler below
    // for nested execs. At the top level we ask the same way.
    fprintf(stderr, "agentsh: %s\n", blocked_line(v, argv[0]).c_str());
    if (audit) audit->flush();
    return 126;
  }
  if (v.decision == policy::Decision::kRedirect && v.command_redirect) {
    std::vector<std::string> nargv = {v.command_redirect->command};
    for (const auto& a : v.command_redirect->args) nargv.push_back(a);
    if (!v.message.empty()) fprintf(stderr, "agentsh: %s\n", v.message.c_str());
    argv = nargv;
    resolved = resolve_command(argv[0], env.get("PATH"));
  }
  if (resolved.empty()) {
    fprintf(stderr, "agentsh: %s: command not found\n", argv[0].c_str());
    if (audit) audit->flush();
    return 127;
  }

  // ---- broker: nested exec checks and audit from hooked processes -------------------
  Broker broker;
  Broker::Handlers h;
  h.exec_check = [&](const ExecCheckRequest& req) -> broker::Reply {
    policy::Verdict nv = engine->check_command(req.argv, req.resolved);
    AuditEvent ev;
    ev.pid = req.pid;
    ev.type = "exec";
    ev.operation = "exec";
    ev.target = join_args(req.argv);
    ev.decision = std::string(policy::decision_name(nv.decision));
    ev.effective = nv.effect == policy::Effect::kAllow ? "allow" : "deny";
    ev.rule = nv.rule;
    ev.message = nv.effect == policy::Effect::kAllow ? nv.message : nv.reason;
    ev.source = "hook";
    record(ev);
    if (nv.effect != policy::Effect::kAllow)
      return Broker::deny(EACCES, nv.rule, blocked_line(nv, req.argv.empty() ? req.resolved : req.argv[0]));
    broker::Reply r = Broker::allow();
    if (nv.decision == policy::Decision::kRedirect && nv.command_redirect) {
      r.redirect = 1;
      std::string packed = nv.command_redirect->command;
      packed.push_back('\0');
      for (const auto& a : nv.command_redirect->args) {
        packed += a;
        packed.push_back('\0');
      }
      if (packed.size() + 1 <= sizeof r.redirect_argv) memcpy(r.redirect_argv, packed.data(), packed.size());
      else r = Broker::deny(EACCES, nv.rule, "redirect target too long");
    }
    return r;
  };
  h.audit = [&](const BrokerAudit& a) {
    AuditEvent ev;
    ev.pid = a.pid;
    ev.type = a.operation.rfind("net", 0) == 0 || a.operation == "connect" || a.operation == "sendto"
                  ? "network"
                  : "file";
    ev.operation = a.operation;
    ev.target = a.target;
    ev.decision = a.decision;
    ev.effective = a.err ? "deny" : "allow";
    ev.rule = a.rule;
    ev.message = a.message;
    ev.source = "hook";
    record(ev);
  };
  h.approval = [&](const ApprovalAsk& a) -> broker::Reply {
    // No approver is wired into this build: fail closed, saying so.
    return Broker::deny(EACCES, a.rule, "approval required (no approver available)");
  };
  if (!broker.start(eo.broker_socket, h, &err)) {
    fprintf(stderr, "agentsh exec: %s\n", err.c_str());
    return 2;
  }

  // ---- run ----------------------------------------------------------------------------
  std::vector<std::string> envv = env.vector();
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envv) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "agentsh exec: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    // Child: async-signal-safe only from here to execve.
    execve(resolved.c_str(), cargv.data(), cenv.data());
    int e = errno;
    const char* msg = e == ENOENT ? ": command not found\n" : ": cannot execute\n";
    if (write(2, "agentsh: ", 9) < 0 || write(2, resolved.c_str(), resolved.size()) < 0 ||
        write(2, msg, strlen(msg)) < 0) {
    }
    _exit(e == ENOENT ? 127 : 126);
  }
  g_child_pid = pid;
  install_forwarders();
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) break;
  }
  g_child_pid = 0;
  broker.stop();
  if (audit) audit->flush();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace agentsh
