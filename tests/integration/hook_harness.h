// Test harness for libagentsh_hook.so (tests/integration/hook_*_test.cc): a temp
// directory, snapshots built with snapshot::Builder, a fake broker (unix socket thread
// answering exec checks from a table, collecting audit records and approval requests),
// and a runner that starts real programs with the hook preloaded.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/broker_protocol.h"
#include "common/scoped_fd.h"
#include "policy/cidr.h"
#include "policy/decision.h"
#include "policy/snapshot_builder.h"

namespace agentsh::hook_test {

namespace fs = std::filesystem;

// The build directory: this binary is build/tests/integration_tests.
inline fs::path build_dir() {
  return fs::canonical("/proc/self/exe").parent_path().parent_path();
}
inline std::string hook_lib() {
  return (build_dir() / "lib/libagentsh_hook.so").string();
}
inline std::string case_bin(const std::string& name) {
  return (build_dir() / "tests/cases" / name).string();
}

inline std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
inline void write_file(const fs::path& p, const std::string& s) {
  std::ofstream(p, std::ios::binary) << s;
}

inline policy::OpMask ops(std::initializer_list<policy::FileOp> l) {
  policy::OpMask m = 0;
  for (auto o : l) m |= policy::op_bit(o);
  return m;
}
inline cidr::Cidr cidr_of(const std::string& s) {
  cidr::Cidr c{};
  if (!cidr::parse_cidr(s.data(), s.size(), &c)) throw std::runtime_error("bad cidr " + s);
  return c;
}

// A private temp directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/agentsh-hook-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = fs::canonical(tmpl);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return (path_ / rel).string(); }

 private:
  fs::path path_;
};

struct AuditRecord {
  std::string op, target, rule, decision, message;
  int err = 0;
  int pid = 0;
};

struct ExecRequest {
  std::string resolved, cwd;
  std::vector<std::string> argv;
};

struct ApprovalRequest {
  std::string kind, op, target, rule, message;
};

// What the fake broker answers to an exec check of a command (by argv[0]'s basename).
struct ExecAnswer {
  bool allow = true;
  std::string rule;
  std::string message;  // the stderr line without "agentsh: " ("" = let the hook format it)
  int err = 0;
  std::vector<std::string> redirect;  // non-empty: run this argv instead
};

// A broker that speaks common/broker_protocol.h on a unix stream socket.
class FakeBroker {
 public:
  explicit FakeBroker(std::string socket_path) : path_(std::move(socket_path)) {
    fd_ = ScopedFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un sa{};
    sa.sun_family = AF_UNIX;
    std::strncpy(sa.sun_path, path_.c_str(), sizeof sa.sun_path - 1);
    ::unlink(path_.c_str());
    if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
        ::listen(fd_.get(), 128) != 0) {
      throw std::runtime_error("fake broker: cannot listen on " + path_);
    }
    // The datagram door, as agentsh/broker.cc has it (see common/broker_protocol.h).
    dpath_ = path_ + broker::kDgramSuffix;
    dfd_ = ScopedFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un da{};
    da.sun_family = AF_UNIX;
    std::strncpy(da.sun_path, dpath_.c_str(), sizeof da.sun_path - 1);
    ::unlink(dpath_.c_str());
    if (dpath_.size() >= sizeof da.sun_path ||
        ::bind(dfd_.get(), reinterpret_cast<sockaddr*>(&da), sizeof da) != 0) {
      throw std::runtime_error("fake broker: cannot bind " + dpath_);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~FakeBroker() {
    stop_ = true;
    thread_.join();
    ::unlink(path_.c_str());
    ::unlink(dpath_.c_str());
  }
  // Requests that came through the datagram door (the rest came over the stream socket).
  int dgram_requests() const { return dgram_requests_; }
  const std::string& path() const { return path_; }

  void answer(const std::string& command, ExecAnswer a) {
    std::lock_guard<std::mutex> l(mu_);
    answers_[command] = std::move(a);
  }
  void approve_all(bool yes) { approve_ = yes; }

  std::vector<AuditRecord> audits() {
    std::lock_guard<std::mutex> l(mu_);
    return audits_;
  }
  std::vector<ExecRequest> execs() {
    std::lock_guard<std::mutex> l(mu_);
    return execs_;
  }
  std::vector<ApprovalRequest> approvals() {
    std::lock_guard<std::mutex> l(mu_);
    return approvals_;
  }
  // Audit records are fire-and-forget: wait (bounded) until one matching `pred` arrived.
  bool wait_audit(const std::function<bool(const AuditRecord&)>& pred,
                  std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, limit, [&] {
      for (const auto& a : audits_) {
        if (pred(a)) return true;
      }
      return false;
    });
  }
  // Waits until every connection accepted so far has been handled.
  void drain() {
    for (int i = 0; i < 200; ++i) {
      if (!busy_ && !pending()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  bool pending() {
    pollfd p[2] = {{fd_.get(), POLLIN, 0}, {dfd_.get(), POLLIN, 0}};
    return ::poll(p, 2, 0) > 0;
  }

  void loop() {
    while (!stop_) {
      pollfd p[2] = {{fd_.get(), POLLIN, 0}, {dfd_.get(), POLLIN, 0}};
      if (::poll(p, 2, 50) <= 0) continue;
      busy_ = true;
      if (p[0].revents != 0) {
        ScopedFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (c) serve(c.get());
      }
      if (p[1].revents != 0) serve_dgram();
      busy_ = false;
    }
  }

  // One datagram: header + payload, one SCM_RIGHTS fd to answer on.
  void serve_dgram() {
    std::string buf(broker::kMaxDgramRequest, '\0');
    iovec iov{buf.data(), buf.size()};
    alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))];
    msghdr mh{};
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl;
    mh.msg_controllen = sizeof ctl;
    ssize_t n = ::recvmsg(dfd_.get(), &mh, MSG_CMSG_CLOEXEC);
    if (n < 0) return;
    ScopedFd reply_fd;
    cmsghdr* cm = CMSG_FIRSTHDR(&mh);
    if (cm != nullptr && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int))) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cm), sizeof fd);
      reply_fd = ScopedFd(fd);
    }
    broker::RequestHeader h{};
    if (!reply_fd || static_cast<size_t>(n) < sizeof h) return;
    std::memcpy(&h, buf.data(), sizeof h);
    if (h.magic != broker::kMagic || h.payload_len != static_cast<size_t>(n) - sizeof h) return;
    ++dgram_requests_;
    handle(h, buf.substr(sizeof h, h.payload_len), reply_fd.get());
  }

  static bool read_all(int fd, void* buf, size_t n) {
    char* p = static_cast<char*>(buf);
    while (n > 0) {
      ssize_t r = ::read(fd, p, n);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return true;
  }

  void serve(int c) {
    broker::RequestHeader h{};
    if (!read_all(c, &h, sizeof h) || h.magic != broker::kMagic) return;
    std::string payload(h.payload_len, '\0');
    if (!read_all(c, payload.data(), payload.size())) return;
    handle(h, payload, c);
  }

  // Answers one request (from either socket) on `c`.
  void handle(const broker::RequestHeader& h, const std::string& payload, int c) {
    std::vector<std::string> parts;
    for (size_t i = 0; i < payload.size();) {
      size_t e = payload.find('\0', i);
      if (e == std::string::npos) e = payload.size();
      parts.push_back(payload.substr(i, e - i));
      i = e + 1;
    }
    broker::Reply reply{};
    reply.magic = broker::kMagic;
    reply.decision = broker::ReplyDecision::kAllow;
    std::unique_lock<std::mutex> l(mu_);
    if (h.type == broker::MsgType::kAudit) {
      parts.resize(5);
      audits_.push_back(
          {parts[0], parts[1], parts[2], parts[3], parts[4], static_cast<int>(h.flags), h.pid});
      cv_.notify_all();
      return;
    }
    if (h.type == broker::MsgType::kApproval) {
      parts.resize(5);
      approvals_.push_back({parts[0], parts[1], parts[2], parts[3], parts[4]});
      reply.decision = approve_ ? broker::ReplyDecision::kAllow : broker::ReplyDecision::kDeny;
    } else if (h.type == broker::MsgType::kExecCheck) {
      parts.resize(2 + h.argc);
      ExecRequest req{parts[0], parts[1], {parts.begin() + 2, parts.end()}};
      execs_.push_back(req);
      std::string cmd = req.argv.empty() ? req.resolved : req.argv[0];
      cmd = cmd.substr(cmd.rfind('/') == std::string::npos ? 0 : cmd.rfind('/') + 1);
      // Like the real broker, look through "sh -c '<command> …'" (first word only).
      if ((cmd == "sh" || cmd == "bash" || cmd == "dash") && req.argv.size() >= 3 &&
          req.argv[1] == "-c") {
        std::istringstream words(req.argv[2]);
        words >> cmd;
      }
      auto it = answers_.find(cmd);
      if (it != answers_.end()) {
        const ExecAnswer& a = it->second;
        reply.decision = a.allow ? broker::ReplyDecision::kAllow : broker::ReplyDecision::kDeny;
        reply.err = a.err;
        std::strncpy(reply.rule, a.rule.c_str(), sizeof reply.rule - 1);
        std::strncpy(reply.message, a.message.c_str(), sizeof reply.message - 1);
        if (!a.redirect.empty()) {
          reply.redirect = 1;
          size_t off = 0;
          for (const auto& s : a.redirect) {
            std::memcpy(reply.redirect_argv + off, s.c_str(), s.size() + 1);
            off += s.size() + 1;
          }
        }
      }
    }
    l.unlock();
    ::send(c, &reply, sizeof reply, MSG_NOSIGNAL);
  }

  std::string path_, dpath_;
  ScopedFd fd_, dfd_;
  std::atomic<int> dgram_requests_{0};
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> busy_{false};
  std::atomic<bool> approve_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ExecAnswer> answers_;
  std::vector<AuditRecord> audits_;
  std::vector<ExecRequest> execs_;
  std::vector<ApprovalRequest> approvals_;
};

struct RunResult {
  int status = -1;  // exit status, or 128+signal
  std::string out, err;
  std::vector<std::string> lines() const {
    std::vector<std::string> v;
    std::istringstream in(out);
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  }
};

// Runs argv with `env` (the whole environment) in `cwd`; captures stdout and stderr.
inline RunResult run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                     const std::string& cwd = "") {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe");
  std::vector<char*> av, ev;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  for (const auto& e : env) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, 0);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) _exit(125);
    ::execve(av[0], av.data(), ev.data());
    _exit(127);
  }
  ::close(out[1]);
  ::close(err[1]);
  RunResult r;
  pollfd p[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (::poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (p[i].fd < 0 || p[i].revents == 0) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      } else {
        ::close(p[i].fd);
        p[i].fd = -1;
        --open_fds;
      }
    }
  }
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// One test's world: temp dir, fake broker, snapshot. Tests configure `builder`, call
// write_snapshot(), then run programs through hooked().
class HookWorld {
 public:
  HookWorld() : broker_(dir_ / "broker.sock") { fs::create_directories(dir_.path() / "trash"); }
  TempDir& dir() { return dir_; }
  FakeBroker& broker() { return broker_; }
  snapshot::Builder& builder() { return builder_; }
  std::string snapshot_path() const { return dir_ / "policy.snap"; }
  std::string trash() const { return dir_ / "trash"; }

  // Writes the snapshot (session plumbing filled in) and returns its path.
  std::string write_snapshot(uint32_t flags = snapshot::kFlagEnforce,
                             policy::ApprovalMode mode = policy::ApprovalMode::kNone,
                             uint64_t gate = 0) {
    builder_.set_flags(flags);
    builder_.set_approval_mode(mode);
    builder_.set_session("sess-hook-test", broker_.path(), hook_lib(), snapshot_path(), "hook-test",
                         0, 0);
    builder_.set_trash_dir(trash());
    builder_.set_gate_addr(gate);
    write_file(snapshot_path(), builder_.finish());
    return snapshot_path();
  }

  // The environment of a hooked program: LD_PRELOAD + AGENTSH_SNAPSHOT + a PATH.
  std::vector<std::string> env(const std::string& extra_path = "") const {
    std::string path = "/usr/local/bin:/usr/bin:/bin";
    if (!extra_path.empty()) path = extra_path + ":" + path;
    return {"LD_PRELOAD=" + hook_lib(), "AGENTSH_SNAPSHOT=" + snapshot_path(), "PATH=" + path,
            "HOME=" + dir_.path().string(), "LANG=C"};
  }
  RunResult hooked(const std::vector<std::string>& argv, const std::string& cwd = "",
                   const std::string& extra_path = "") {
    RunResult r = run(argv, env(extra_path), cwd);
    broker_.drain();
    return r;
  }

 private:
  TempDir dir_;
  FakeBroker broker_;
  snapshot::Builder builder_;
};

}  // namespace agentsh::hook_test
