// CommandRunner: `agentsh exec`. The order of the steps matters and is stated in run():
// the proxy starts before the policy is compiled (its ports go into the snapshot), the
// syscall gate address is chosen before it too (same reason), and the tracer's decider is
// built over the compiled engine.
#include "agentsh/command_runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "agentsh/approval_client.h"
#include "agentsh/audit_store.h"
#include "agentsh/broker.h"
#include "agentsh/config.h"
#include "agentsh/deferred_dlp.h"
#include "agentsh/exec_env.h"
#include "agentsh/llm_log_store.h"
#include "agentsh/output_filter.h"
#include "agentsh/policy_context.h"
#include "agentsh/runtime_dir.h"
#include "agentsh/snapshot_handoff.h"
#include "agentsh/startup_trace.h"
#include "common/fs_util.h"
#include "policy/engine.h"
#include "proxy/dlp_scanner.h"
#include "proxy/policy_net_decider.h"
#include "proxy/proxy.h"
#include "tracer/engine_decider.h"
#include "tracer/supervisor.h"

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
std::string blocked_line(const policy::Verdict& v, const std::string& fallback_cmd,
                         const std::string& why = "") {
  std::string cmd = v.subject.empty() ? basename_of(fallback_cmd) : basename_of(v.subject);
  std::string line =
      "blocked by policy: rule=" + (v.rule.empty() ? "default" : v.rule) + " command=" + cmd;
  if (!why.empty())
    line += " (" + why + ")";
  else if (v.decision == policy::Decision::kApprove && !v.reason.empty())
    line += " (" + v.reason + ")";
  return line;
}

// Where the compiled DLP database is cached (one file per pattern set).
std::string dlp_cache_dir(const std::string& sdir) {
  return sdir + "/cache";
}

const char* effect_word(bool allowed) {
  return allowed ? "allow" : "deny";
}

}  // namespace

// Everything one run holds. Destruction order (reverse of declaration) matters: the
// broker and the proxy stop before the engines they call, the audit store goes last.
struct CommandRunner::State {
  PolicyContext ctx;
  std::string session_id, command_id;
  // DLP: redacts piped command output and what audit rows say (target, message). Built
  // in the background (start-up does not wait for it); declared before `audit`, whose
  // writer thread redacts with it until the store is gone.
  DeferredDlp dlp;
  std::unique_ptr<AuditStore> audit;
  RuntimeDir rt;
  std::string trash, hook;
  snapshot_handoff::Handoff snap_fd;  // the snapshot as a sealed memfd (when the hook runs)
  std::unique_ptr<policy::Engine> net_engine;  // the proxy's (compiled without ports)
  std::unique_ptr<proxy::PolicyNetDecider> net_decider;
  std::unique_ptr<LlmLogStore> llm_log;  // LLM requests the proxy intercepted
  std::unique_ptr<proxy::Proxy> proxy;
  std::unique_ptr<policy::Engine> engine;
  std::unique_ptr<tracer::EngineDecider> decider;
  std::unique_ptr<tracer::Supervisor> tracer;
  Broker broker;
  StartupTrace trace;  // AGENTSH_TRACE_STARTUP=1: phase timings on stderr

  // A trash directory nothing was moved into goes away with the run: without a session
  // every run has its own, and empty ones would pile up (rmdir fails on a non-empty one,
  // which is what keeps soft-deleted files).
  ~State() {
    if (!trash.empty()) rmdir(trash.c_str());
  }

  // Queues one audit row. DLP redaction of target and message happens on the audit
  // writer thread (open_deferred's redactor): callers — the broker serving the hook, the
  // tracer — never wait for it.
  void record(AuditEvent ev) {
    if (!audit) return;
    ev.session = session_id;
    if (ev.command_id.empty()) ev.command_id = command_id;
    audit->record(std::move(ev));
  }

  // Asks a person (api/tty approvals); false unless someone said yes. Blocks.
  // A yes holds for the rest of this run for the same question (kind + target): the
  // top-level command approved once is not asked again when the tracer sees its execve,
  // nor is a file the person already let the agent read. A no is not remembered: the
  // next attempt asks again.
  bool ask(const std::string& kind, const std::string& op, const std::string& target,
           const policy::Verdict& v, std::string* why) {
    std::string key = kind + '\0' + target;
    {
      std::lock_guard<std::mutex> lk(approved_mu);
      if (approved.count(key)) return true;
    }
    ApprovalRequest req;
    req.session = session_id;
    req.kind = kind;
    req.operation = op;
    req.target = target;
    req.rule = v.rule;
    req.message = v.message;
    ApprovalOutcome out = approval_client::request_approval(ctx.cfg, req);
    if (why) *why = out.approved ? "" : "approval denied: " + out.reason;
    if (out.approved) {
      std::lock_guard<std::mutex> lk(approved_mu);
      approved.insert(key);
    }
    return out.approved;
  }
  std::mutex approved_mu;
  std::set<std::string> approved;
};

CommandRunner::CommandRunner(RunOptions opts) : opts_(std::move(opts)) {}
CommandRunner::~CommandRunner() = default;

int CommandRunner::run() {
  if (opts_.argv.empty()) {
    fprintf(stderr, "agentsh exec: no command given\nTry 'agentsh help exec'.\n");
    return 2;
  }
  st_ = std::make_unique<State>();
  State& s = *st_;
  StartupTrace& trace = s.trace;

  // 1. Config, session, workspace, variables, policy.
  s.session_id = opts_.session_id;
  if (s.session_id.empty()) {
    if (const char* e = getenv("AGENTSH_SESSION_ID"); e && *e) s.session_id = e;
  }
  ContextRequest creq;
  creq.config_path = opts_.config_path;
  creq.policy_arg = opts_.policy_arg;
  creq.workspace = opts_.workspace;
  creq.session_id = s.session_id;
  // A session named on the command line must exist; one inherited from the
  // environment is used when found (its id still tags the audit rows).
  creq.session_required = opts_.session_explicit;
  creq.use_policy_cache = true;
  std::string err;
  if (!load_policy_context(creq, &s.ctx, &err)) {
    fprintf(stderr, "agentsh: %s\n", err.c_str());
    return 2;
  }
  const Config& cfg = s.ctx.cfg;
  trace.mark("config + policy loaded");
  s.command_id = opts_.command_id;
  if (s.command_id.empty()) {
    if (const char* e = getenv("AGENTSH_COMMAND_ID"); e && *e)
      s.command_id = e;
    else
      s.command_id = "cmd-" + random_hex(8);
  }

  // 2. State: DLP (in the background), runtime dir (snapshot, broker socket), trash, audit.
  std::string sdir = state_dir(cfg);
  if (cfg.dlp_mode != "disabled") {
    proxy::DlpOptions dopts;
    if (!proxy::DlpOptions::from_config(cfg, &dopts, &err)) {
      fprintf(stderr, "agentsh: WARNING: secret redaction off: %s\n", err.c_str());
    } else {
      // Compiled once per pattern set, then loaded (proxy/dlp_pattern_cache.h); the
      // directory is hidden from the agent below (protect_hidden).
      dopts.cache_dir = dlp_cache_dir(sdir);
      s.dlp.start(std::move(dopts));
    }
  }
  if (!s.rt.create(sdir + "/run", &err)) {
    fprintf(stderr, "agentsh exec: %s\n", err.c_str());
    return 2;
  }
  // soft_delete moves files here (the hook renames into it); private to our uid.
  s.trash = sdir + "/trash/" + (s.session_id.empty() ? s.command_id : s.session_id);
  if (!fs_util::make_dirs(s.trash, 0700)) {
    fprintf(stderr, "agentsh exec: cannot create trash directory %s: %s\n", s.trash.c_str(),
            strerror(errno));
    return 2;
  }
  trace.mark("dlp started, runtime + trash dirs");
  if (s.ctx.session) SessionStore(cfg.sessions_dir).touch(s.ctx.session->id);
  if (cfg.audit_enabled) {
    // Opened by its writer thread; rows are DLP-redacted there too.
    s.audit = AuditStore::open_deferred(cfg.audit_db, [&s](AuditEvent& ev) {
      const proxy::DlpScanner* d = s.dlp.get();
      if (d && d->enabled()) {
        ev.target = d->redact(ev.target).text;
        ev.message = d->redact(ev.message).text;
      }
    });
  }
  if (!cfg.hook_enabled) opts_.no_hook = true;
  s.hook = opts_.no_hook ? std::string() : find_hook_library();
  if (!opts_.no_hook && s.hook.empty()) {
    fprintf(stderr,
            "agentsh: libagentsh_hook.so not found next to the agentsh binary (set "
            "AGENTSH_HOOK_LIBRARY); refusing to run ungoverned\n");
    return 2;
  }

  policy::EngineOptions eo;
  eo.approval_mode = cfg.approval_mode();
  eo.session_id = s.session_id;

  trace.mark("session, audit, hook library");
  // 3. The proxy, on a policy compiled without ports (its own decisions do not depend
  // on them); every outbound connection of HTTP clients goes through it.
  if (cfg.network_enabled && cfg.proxy_mode != "off" && cfg.proxy_mode != "disabled") {
    s.net_engine = policy::Engine::compile(s.ctx.policy, s.ctx.vars, eo, &err);
    if (!s.net_engine) {
      fprintf(stderr, "agentsh: policy error: %s\n", err.c_str());
      return 2;
    }
    auto cfg_copy = std::make_shared<Config>(cfg);
    std::string session = s.session_id;
    s.net_decider = std::make_unique<proxy::PolicyNetDecider>(
        *s.net_engine,
        [cfg_copy, session](const proxy::NetQuestion& q, std::function<void(bool)> done) {
          // Approvals block; the proxy's loop must not. Ask on a thread of its own.
          std::thread([cfg_copy, session, q, done = std::move(done)] {
            ApprovalRequest req;
            req.session = session;
            req.kind = "network";
            req.operation = "connect";
            req.target = (q.domain.empty() ? q.ip : q.domain) + ":" + std::to_string(q.port);
            req.rule = q.decision.rule;
            req.message = q.decision.message;
            done(approval_client::request_approval(*cfg_copy, req).approved);
          }).detach();
        });
    proxy::Proxy::Options po;
    po.decider = s.net_decider.get();
    po.audit = [&s](const AuditEvent& ev) { s.record(ev); };
    po.session_id = s.session_id;
    po.dns_redirects = s.ctx.policy.dns_redirects;
    po.connect_redirects = s.ctx.policy.connect_redirects;
    if (cfg.proxy_port > 0) po.port = static_cast<uint16_t>(cfg.proxy_port);
    if (!cfg.providers.empty()) {
      // LLM audit: provider hosts are decrypted with our CA (proxy/llm_interceptor.h).
      po.llm.providers = cfg.providers;
      po.llm.ca_dir = sdir + "/ca";
      po.llm.dlp = s.dlp.shared();  // waits for the build: the interceptor needs it now
      po.llm.rate_limits = cfg.llm_rate_limits;
      if (cfg.audit_enabled) {
        s.llm_log = LlmLogStore::open(cfg.audit_db, &err);
        if (!s.llm_log)
          fprintf(stderr, "agentsh: WARNING: LLM request log disabled: %s\n", err.c_str());
      }
      if (s.llm_log) {
        po.llm.on_record = [&s](const proxy::LlmRecord& r) {
          s.llm_log->record(r, s.session_id, s.command_id);
        };
      }
    }
    s.proxy = proxy::Proxy::start(po, &err);
    if (!s.proxy) {
      fprintf(stderr, "agentsh exec: network proxy: %s\n", err.c_str());
      return 2;
    }
    eo.proxy_port = s.proxy->http_port();
    eo.dns_port = s.proxy->dns_port();
  }

  trace.mark("proxy");
  // 4. Which layers run. The tracer needs ptrace + seccomp user notifications; where it
  // cannot run, the hook governs alone and says so loudly (Supervisor::prepare).
  bool want_tracer =
      !opts_.hook_only && cfg.sandbox_enabled && cfg.ptrace_enabled && cfg.seccomp_enabled;
  bool tracer_full = false;
  if (want_tracer) {
    tracer::Availability av = tracer::Availability::probe();
    tracer_full = av.ptrace && av.seccomp && av.user_notif;
  }
  if (opts_.no_hook && !tracer_full) {
    fprintf(stderr, "agentsh exec: --no-hook needs the tracer, which cannot run here\n");
    return 2;
  }

  trace.mark("layers probed");
  // 5. Compile the policy once, for everyone: the snapshot the hook maps, the broker's
  // exec checks, the tracer's decisions.
  eo.broker_socket = s.rt.path() + "/broker.sock";
  eo.hook_library = s.hook;
  eo.snapshot_path = s.rt.path() + "/policy.snap";
  eo.trash_dir = s.trash;
  // AGENTSH_HOOK_EXEC_FAST=0: no exec fast table, every hook-only exec asks the broker
  // (to compare, or to rule the table out when chasing a problem).
  if (const char* f = getenv("AGENTSH_HOOK_EXEC_FAST"); f && strcmp(f, "0") == 0)
    eo.exec_fast_table = false;
  if (tracer_full) {
    // The tracer stops every execve and decides there; the hook only keeps itself in
    // the environment. Its already-decided file/network syscalls pass the gate.
    eo.gate_addr = s.hook.empty() ? 0 : tracer::choose_gate_address();
    eo.snapshot_flags = snapshot::kFlagTracerActive;
  } else {
    eo.snapshot_flags = snapshot::kFlagHookExecViaBroker;
  }
  // agentsh's own files: the agent may read them (the hook must), never change them.
  eo.protect_readonly = {s.rt.path(), cfg.sessions_dir};
  if (!s.hook.empty()) eo.protect_readonly.push_back(s.hook);
  if (cfg.source != "<embedded>") eo.protect_readonly.push_back(cfg.source);
  if (s.ctx.policy_origin != "<embedded>") eo.protect_readonly.push_back(s.ctx.policy_origin);
  // Hidden even from reads: the audit trail and the key of the CA that signs the
  // certificates the agent trusts.
  // The DLP pattern cache too: a database the agent could swap would decide what is
  // redacted.
  eo.protect_hidden = {cfg.audit_db, cfg.audit_db + "-wal", cfg.audit_db + "-shm",
                       sdir + "/ca/ca.key", dlp_cache_dir(sdir)};
  // And the policy cache (agentsh/config.h policy_cache_dir), for the same reason.
  if (!s.ctx.policy_cache_dir.empty()) eo.protect_hidden.push_back(s.ctx.policy_cache_dir);
  s.engine = policy::Engine::compile(s.ctx.policy, s.ctx.vars, eo, &err);
  if (!s.engine) {
    fprintf(stderr, "agentsh: policy error: %s\n", err.c_str());
    return 2;
  }
  trace.mark("policy compiled");
  if (!s.rt.write_file("policy.snap", s.engine->snapshot_bytes(), 0444, &err)) {
    fprintf(stderr, "agentsh exec: %s\n", err.c_str());
    return 2;
  }

  trace.mark("snapshot written");
  // 6. The command's environment.
  ExecEnv env = build_exec_env(*s.engine, cfg, environ, opts_.explicit_env);
  for (const auto& d : env.dropped_explicit)
    fprintf(stderr, "agentsh: environment variable %s withheld by policy\n", d.c_str());
  if (!s.hook.empty()) {
    env.set_preload(s.hook);
    env.set("AGENTSH_SNAPSHOT", eo.snapshot_path);
    // The same bytes as an inherited sealed descriptor: the hook maps it without opening
    // a path (snapshot_handoff.h). Without it the hook opens the file, as before.
    std::string herr;
    if (snapshot_handoff::create(s.engine->snapshot_bytes(), &s.snap_fd, &herr)) {
      env.set(snapshot_handoff::kEnvVar, s.snap_fd.env_value);
    } else {
      fprintf(stderr, "agentsh: note: %s; the hook opens the snapshot by path\n", herr.c_str());
    }
  }
  env.set("AGENTSH_IN_SESSION", "1");
  env.set("AGENTSH_COMMAND_ID", s.command_id);
  if (!s.session_id.empty()) env.set("AGENTSH_SESSION_ID", s.session_id);
  if (s.proxy) {
    std::string url = "http://127.0.0.1:" + std::to_string(s.proxy->http_port());
    for (const char* k :
         {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"})
      env.set(k, url);
    // Loopback is decided by the hook/tracer like any address; sending it through the
    // proxy would only add a hop.
    env.set("NO_PROXY", "localhost,127.0.0.1,::1");
    env.set("no_proxy", "localhost,127.0.0.1,::1");
    // Provider hosts are decrypted with our CA: the agent's TLS stacks must trust it.
    if (!cfg.providers.empty()) {
      const std::string ca_dir = state_dir(cfg) + "/ca";
      const std::string bundle = ca_dir + "/ca-bundle.pem";
      for (const char* k :
           {"SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "GIT_SSL_CAINFO"})
        env.set(k, bundle);
      env.set("NODE_EXTRA_CA_CERTS", ca_dir + "/ca.pem");
    }
  }

  // 7. The top-level command.
  std::vector<std::string> argv = opts_.argv;
  std::string resolved = resolve_command(argv[0], env.get("PATH"));
  policy::Verdict v = s.engine->check_command(argv, resolved);
  std::string why;
  bool allowed =
      v.effect == policy::Effect::kAllow ||
      (v.effect == policy::Effect::kAsk && s.ask("exec", "exec", join_args(argv), v, &why));
  {
    AuditEvent ev;
    ev.pid = getpid();
    ev.type = "exec";
    ev.operation = "exec";
    ev.target = join_args(argv);
    ev.decision = std::string(policy::decision_name(v.decision));
    ev.effective = effect_word(allowed);
    ev.rule = v.rule;
    ev.message = allowed ? v.message : (why.empty() ? v.reason : why);
    ev.source = "policy";
    s.record(ev);
  }
  if (!allowed) {
    fprintf(stderr, "agentsh: %s\n", blocked_line(v, argv[0], why).c_str());
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
    return 127;
  }

  trace.mark("environment, top-level check");
  // 8. The broker: exec checks (hook-only mode), approvals and audit from the hook.
  if (!start_broker(eo.broker_socket, &err)) {
    fprintf(stderr, "agentsh exec: %s\n", err.c_str());
    return 2;
  }

  trace.mark("broker");
  // 9. The tracer.
  if (want_tracer) {
    // The trash too: without it the tracer's soft_delete would delete for real.
    s.decider = std::make_unique<tracer::EngineDecider>(
        *s.engine,
        [&s](std::string_view kind, std::string_view target, const policy::Verdict& pv) {
          return s.ask(std::string(kind), kind == "exec" ? "exec" : std::string(kind),
                       std::string(target), pv, nullptr);
        },
        s.trash);
    tracer::Options to;
    to.decider = s.decider.get();
    to.audit = [&s](const AuditEvent& ev) { s.record(ev); };
    to.gate_addr = eo.gate_addr;
    to.proxy_port = eo.proxy_port;
    to.dns_port = eo.dns_port;
    to.session_id = s.session_id;
    to.hook_present = !s.hook.empty();
    s.tracer = std::make_unique<tracer::Supervisor>(to);
    if (!s.tracer->prepare(&err)) {
      fprintf(stderr, "%s\n", err.c_str());
      return 2;
    }
  }

  trace.mark("tracer prepared");
  // 10. Run: the user's stdin/stdout/stderr and TTY untouched — except that output
  // going to a pipe or file passes the DLP redactor (a terminal is left alone).
  return spawn_and_wait(argv, resolved, env);
}

bool CommandRunner::start_broker(const std::string& path, std::string* err) {
  State& s = *st_;
  Broker::Handlers h;
  // One exec check. `may_block` false (the broker's serving thread): a verdict that asks
  // a person returns nullopt before anything is recorded, and the broker retries on a
  // thread of its own with `may_block` true.
  // The audit row of one exec the hook put to us (or allowed in-process, below).
  auto exec_event = [](const ExecCheckRequest& req, const std::string& target,
                       const policy::Verdict& nv, bool allowed, const std::string& why) {
    AuditEvent ev;
    ev.pid = req.pid;
    ev.type = "exec";
    ev.operation = "exec";
    ev.target = target;
    ev.decision = std::string(policy::decision_name(nv.decision));
    ev.effective = effect_word(allowed);
    ev.rule = nv.rule;
    ev.message = allowed ? nv.message : (why.empty() ? nv.reason : why);
    ev.source = "hook";
    return ev;
  };
  auto decide = [&s, exec_event](const ExecCheckRequest& req,
                                 bool may_block) -> std::optional<broker::Reply> {
    policy::Verdict nv = s.engine->check_command(req.argv, req.resolved, /*nested=*/true);
    if (nv.effect == policy::Effect::kAsk && !may_block) return std::nullopt;
    std::string target = join_args(req.argv), why;
    bool allowed = nv.effect == policy::Effect::kAllow ||
                   (nv.effect == policy::Effect::kAsk && s.ask("exec", "exec", target, nv, &why));
    s.record(exec_event(req, target, nv, allowed, why));
    if (!allowed)
      return Broker::deny(EACCES, nv.rule,
                          blocked_line(nv, req.argv.empty() ? req.resolved : req.argv[0], why));
    broker::Reply r = Broker::allow();
    if (nv.decision == policy::Decision::kRedirect && nv.command_redirect) {
      std::string packed = nv.command_redirect->command;
      packed.push_back('\0');
      for (const auto& a : nv.command_redirect->args) {
        packed += a;
        packed.push_back('\0');
      }
      if (packed.size() + 1 > sizeof r.redirect_argv)
        return Broker::deny(EACCES, nv.rule, "blocked by policy: redirect target too long");
      r.redirect = 1;
      memcpy(r.redirect_argv, packed.data(), packed.size());
    }
    return r;
  };
  h.exec_check_nonblocking = [decide](const ExecCheckRequest& req) { return decide(req, false); };
  h.exec_check = [decide](const ExecCheckRequest& req) { return *decide(req, true); };
  // An exec the hook allowed in-process from the snapshot's exec fast table: the same
  // row as above, from the same engine verdict (message templates and all). The table is
  // built to allow only what the engine allows plainly; should they ever disagree, the
  // row says so and agentsh warns once — the exec has already run.
  h.exec_audit = [&s, exec_event](const ExecCheckRequest& req) {
    policy::Verdict nv = s.engine->check_command(req.argv, req.resolved, /*nested=*/true);
    AuditEvent ev = exec_event(req, join_args(req.argv), nv, true, "");
    if (nv.decision != policy::Decision::kAllow || nv.effect != policy::Effect::kAllow) {
      ev.message += std::string(ev.message.empty() ? "" : " ") +
                    "(allowed in-process by the hook's exec fast table, but the policy says " +
                    std::string(policy::decision_name(nv.decision)) + ": " + nv.reason + ")";
      static std::atomic<bool> warned{false};
      if (!warned.exchange(true))
        fprintf(stderr,
                "agentsh: WARNING: internal error: the hook allowed '%s' in-process but the "
                "policy says %s (rule %s); please report this\n",
                ev.target.c_str(), std::string(policy::decision_name(nv.decision)).c_str(),
                nv.rule.c_str());
    }
    s.record(ev);
  };
  h.audit = [&s](const BrokerAudit& a) {
    AuditEvent ev;
    ev.pid = a.pid;
    bool net = a.operation == "connect" || a.operation == "sendto" || a.operation == "sendmsg" ||
               a.operation.rfind("net", 0) == 0;
    ev.type = net ? "network" : "file";
    ev.operation = a.operation;
    ev.target = a.target;
    ev.decision = a.decision;
    ev.effective = a.err ? "deny" : "allow";
    ev.rule = a.rule;
    ev.message = a.message;
    ev.source = "hook";
    s.record(ev);
  };
  h.approval = [&s](const ApprovalAsk& a) -> broker::Reply {
    policy::Verdict v;
    v.rule = a.rule;
    v.message = a.message;
    std::string why;
    bool ok = s.ask(a.kind, a.operation, a.target, v, &why);
    AuditEvent ev;
    ev.pid = a.pid;
    ev.type = "approval";
    ev.operation = a.operation;
    ev.target = a.target;
    ev.decision = "approve";
    ev.effective = effect_word(ok);
    ev.rule = a.rule;
    ev.message = ok ? "approved" : why;
    ev.source = "hook";
    s.record(ev);
    if (ok) return Broker::allow();
    return Broker::deny(EACCES, a.rule, why);
  };
  return s.broker.start(path, h, err);
}

int CommandRunner::spawn_and_wait(std::vector<std::string>& argv, const std::string& resolved,
                                  const ExecEnv& env) {
  State& s = *st_;
  std::vector<std::string> envv = env.vector();
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envv) cenv.push_back(e.data());
  cenv.push_back(nullptr);

  OutputFilter out_filter([&s] { return s.dlp.get(); }, s.dlp.started());
  if (!out_filter.prepare()) {
    fprintf(stderr, "agentsh exec: cannot set up output redaction: %s\n", strerror(errno));
    return 2;
  }

  s.trace.mark("output filter; forking");
  fflush(nullptr);
  // Without the tracer the child only moves descriptors and execs: vfork (no copy of
  // this process's page tables — ~0.5 ms with everything mapped at this point; the
  // parent's thread waits until the exec). The child path below is vfork-safe: no
  // allocation, no stdio, only dup2/execve/write/_exit on memory prepared above. The
  // tracer's in_child (PTRACE_TRACEME, its seccomp filter) wants a real fork.
  const bool use_vfork = !s.tracer;
  pid_t pid = use_vfork ? vfork() : fork();
  if (pid < 0) {
    fprintf(stderr, "agentsh exec: fork: %s\n", strerror(errno));
    return 2;
  }
  if (pid == 0) {
    // Child: async-signal-safe only from here to execve (and vfork-safe when use_vfork:
    // nothing allocated, nothing returned from).
    out_filter.in_child();
    snapshot_handoff::release_to_child(s.snap_fd.fd.get());
    if (s.tracer) {
      int e = s.tracer->in_child();
      if (e != 0) _exit(126);
    }
    execve(resolved.c_str(), cargv.data(), cenv.data());
    int e = errno;
    const char* msg = e == ENOENT ? ": command not found\n" : ": cannot execute\n";
    if (write(2, "agentsh: ", 9) < 0 || write(2, resolved.c_str(), resolved.size()) < 0 ||
        write(2, msg, strlen(msg)) < 0) {
    }
    _exit(e == ENOENT ? 127 : 126);
  }
  out_filter.in_parent();
  s.trace.mark("child started");
  g_child_pid = pid;
  install_forwarders();
  int status = 0;
  if (s.tracer) {
    status = s.tracer->run(pid);
  } else {
    while (waitpid(pid, &status, 0) < 0) {
      if (errno != EINTR) break;
    }
  }
  g_child_pid = 0;
  s.trace.mark("child exited");
  out_filter.finish();
  s.trace.mark("output drained");
  s.broker.stop();
  s.trace.mark("broker stopped");
  if (const char* e = getenv("AGENTSH_BROKER_STATS"); e && *e && strcmp(e, "0") != 0) {
    Broker::Stats bs = s.broker.stats();
    fprintf(stderr,
            "agentsh: broker: exec checks %llu, in-process exec audits %llu, audit records "
            "%llu, approvals %llu\n",
            static_cast<unsigned long long>(bs.exec_checks),
            static_cast<unsigned long long>(bs.exec_audits),
            static_cast<unsigned long long>(bs.audits),
            static_cast<unsigned long long>(bs.approvals));
  }
  if (s.proxy) s.proxy->stop();
  s.trace.mark("proxy stopped");
  if (s.audit) s.audit->flush();
  s.trace.mark("shut down (broker, proxy, audit flushed)");
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace agentsh
