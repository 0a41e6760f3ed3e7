#include "agentsh/api_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/scoped_fd.h"

namespace agentsh {

namespace {

int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

int64_t mono_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool make_pipe(ScopedFd* r, ScopedFd* w) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return false;
  r->reset(fds[0]);
  w->reset(fds[1]);
  return true;
}

void set_nonblock(int fd) {
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

struct FileActions {
  FileActions() { posix_spawn_file_actions_init(&fa); }
  ~FileActions() { posix_spawn_file_actions_destroy(&fa); }
  FileActions(const FileActions&) = delete;
  FileActions& operator=(const FileActions&) = delete;
  posix_spawn_file_actions_t fa;
};

struct SpawnAttr {
  SpawnAttr() { posix_spawnattr_init(&attr); }
  ~SpawnAttr() { posix_spawnattr_destroy(&attr); }
  SpawnAttr(const SpawnAttr&) = delete;
  SpawnAttr& operator=(const SpawnAttr&) = delete;
  posix_spawnattr_t attr;
};

std::vector<char*> cstrs(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// Reads what is available from fd into `buf` (up to cap; the rest is dropped).
// Returns false at EOF or on a hard error.
bool drain(int fd, std::string* buf, size_t cap, bool* truncated) {
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n > 0) {
      size_t room = buf->size() < cap ? cap - buf->size() : 0;
      size_t take = static_cast<size_t>(n) < room ? static_cast<size_t>(n) : room;
      buf->append(chunk, take);
      if (take < static_cast<size_t>(n)) *truncated = true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

}  // namespace

std::vector<std::string> ApiExec::argv(const ApiExecRequest& req) const {
  std::vector<std::string> a = {"agentsh", "exec"};
  if (!opts_.config_path.empty()) a.insert(a.end(), {"--config", opts_.config_path});
  if (!req.policy.empty()) a.insert(a.end(), {"--policy", req.policy});
  if (!req.session_id.empty()) a.insert(a.end(), {"--session", req.session_id});
  if (!req.workspace.empty()) a.insert(a.end(), {"--workspace", req.workspace});
  for (const auto& [k, v] : req.env) a.insert(a.end(), {"--env", k + "=" + v});
  a.push_back("--");
  a.push_back(req.command);
  a.insert(a.end(), req.args.begin(), req.args.end());
  return a;
}

std::vector<std::string> ApiExec::envp(const ApiExecRequest& req) const {
  auto inherit = [](const char* name, const char* def) -> std::string {
    const char* v = getenv(name);
    return std::string(name) + "=" + (v && *v ? v : def);
  };
  std::vector<std::string> e = {inherit("PATH", "/usr/local/bin:/usr/bin:/bin"),
                                inherit("HOME", "/"), "TERM=dumb"};
  if (const char* lang = getenv("LANG"); lang && *lang) e.push_back(std::string("LANG=") + lang);
  if (!req.command_id.empty()) e.push_back("AGENTSH_COMMAND_ID=" + req.command_id);
  if (!opts_.server_url.empty()) e.push_back("AGENTSH_SERVER=" + opts_.server_url);
  return e;
}

ApiExecResult ApiExec::run(const ApiExecRequest& req, const std::atomic<bool>* cancel) const {
  ApiExecResult r;
  ScopedFd in_r, in_w, out_r, out_w, err_r, err_w;
  if (!make_pipe(&in_r, &in_w) || !make_pipe(&out_r, &out_w) || !make_pipe(&err_r, &err_w)) {
    r.error = std::string("cannot create pipes: ") + strerror(errno);
    return r;
  }
  std::string wd = req.working_dir.empty() ? req.workspace : req.working_dir;

  FileActions fa;
  posix_spawn_file_actions_adddup2(&fa.fa, in_r.get(), 0);
  posix_spawn_file_actions_adddup2(&fa.fa, out_w.get(), 1);
  posix_spawn_file_actions_adddup2(&fa.fa, err_w.get(), 2);
  if (!wd.empty()) posix_spawn_file_actions_addchdir_np(&fa.fa, wd.c_str());
  posix_spawn_file_actions_addclosefrom_np(&fa.fa, 3);  // no server socket leaks into commands
  SpawnAttr sa;
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setflags(&sa.attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&sa.attr, 0);
  posix_spawnattr_setsigmask(&sa.attr, &none);    // the server blocks SIGTERM & co.
  posix_spawnattr_setsigdefault(&sa.attr, &all);  // …and ignores SIGPIPE

  std::vector<std::string> av = argv(req), ev = envp(req);
  std::vector<char*> avp = cstrs(av), evp = cstrs(ev);
  pid_t pid = -1;
  r.start_us = now_us();
  int64_t start_ms = mono_ms();
  int rc = posix_spawn(&pid, opts_.agentsh.c_str(), &fa.fa, &sa.attr, avp.data(), evp.data());
  if (rc != 0) {
    r.error =
        "cannot start " + opts_.agentsh + (wd.empty() ? "" : " in " + wd) + ": " + strerror(rc);
    return r;
  }
  r.started = true;
  in_r.reset();
  out_w.reset();
  err_w.reset();
  set_nonblock(in_w.get());
  set_nonblock(out_r.get());
  set_nonblock(err_r.get());
  ScopedFd pidfd(static_cast<int>(
      syscall(SYS_pidfd_open, pid, 0)));  // -1 on old kernels: we fall back to polling waitid

  size_t stdin_off = 0;
  if (req.stdin_data.empty()) in_w.reset();
  bool exited = false;
  int64_t exited_ms = 0, term_ms = 0;
  bool killed = false;
  const int64_t deadline = req.timeout_ms > 0 ? start_ms + req.timeout_ms : INT64_MAX;

  for (;;) {
    int64_t now = mono_ms();
    if (!exited) {
      siginfo_t si{};
      if (waitid(P_PID, static_cast<id_t>(pid), &si, WEXITED | WNOHANG | WNOWAIT) == 0 &&
          si.si_pid == pid) {
        exited = true;
        exited_ms = now;
        // The command is over: what is left of its group goes now. It is a zombie, not
        // reaped, so its group id cannot have been reused by anyone else.
        kill(-pid, SIGKILL);
        in_w.reset();
      }
    }
    bool outputs_open = out_r.valid() || err_r.valid();
    if (exited && (!outputs_open || now - exited_ms >= opts_.kill_grace_ms)) break;
    if (!exited) {
      bool cancelled = cancel && cancel->load();
      if (term_ms == 0 && (now >= deadline || cancelled)) {
        r.timed_out = now >= deadline;
        r.cancelled = cancelled && !r.timed_out;
        kill(-pid, SIGTERM);
        kill(pid, SIGTERM);
        term_ms = now;
        in_w.reset();
      } else if (term_ms != 0 && !killed && now - term_ms >= opts_.kill_grace_ms) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
        killed = true;
      }
    }

    struct pollfd pfd[4];
    int n = 0, i_in = -1, i_out = -1, i_err = -1;
    if (in_w.valid()) pfd[i_in = n++] = {in_w.get(), POLLOUT, 0};
    if (out_r.valid()) pfd[i_out = n++] = {out_r.get(), POLLIN, 0};
    if (err_r.valid()) pfd[i_err = n++] = {err_r.get(), POLLIN, 0};
    if (!exited && pidfd.valid()) pfd[n++] = {pidfd.get(), POLLIN, 0};
    int64_t wait = 100;  // bounds the reaction time to cancel and to a missing pidfd
    if (!exited && term_ms == 0 && deadline != INT64_MAX)
      wait = std::min<int64_t>(wait, std::max<int64_t>(0, deadline - now));
    if (poll(pfd, static_cast<nfds_t>(n), static_cast<int>(wait)) < 0 && errno != EINTR) break;

    if (i_in >= 0 && (pfd[i_in].revents & (POLLOUT | POLLERR | POLLHUP))) {
      while (stdin_off < req.stdin_data.size()) {
        ssize_t w =
            write(in_w.get(), req.stdin_data.data() + stdin_off, req.stdin_data.size() - stdin_off);
        if (w > 0) {
          stdin_off += static_cast<size_t>(w);
          continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        stdin_off = req.stdin_data.size();  // EPIPE: the command does not want the rest
      }
      if (stdin_off >= req.stdin_data.size()) in_w.reset();
    }
    if (i_out >= 0 && pfd[i_out].revents &&
        !drain(out_r.get(), &r.out, opts_.output_cap, &r.out_truncated))
      out_r.reset();
    if (i_err >= 0 && pfd[i_err].revents &&
        !drain(err_r.get(), &r.err, opts_.output_cap, &r.err_truncated))
      err_r.reset();
  }

  kill(-pid, SIGKILL);  // still unreaped: see above
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.end_us = now_us();
  r.duration_ms = mono_ms() - start_ms;
  if (r.timed_out || r.cancelled)
    r.exit_code = 124;
  else if (WIFEXITED(status))
    r.exit_code = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    r.exit_code = 128 + WTERMSIG(status);
  return r;
}

}  // namespace agentsh
