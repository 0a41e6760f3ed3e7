#include "agentsh/approval_tty.h"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>

#include "common/scoped_fd.h"

namespace agentsh::approval_tty {

namespace {

std::mutex g_tty_mu;

int64_t mono_ms() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

std::string user_name() {
  struct passwd pw, *out = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &out) == 0 && out) return out->pw_name;
  return "uid" + std::to_string(getuid());
}

void put(int fd, const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t n = write(fd, s.data() + off, s.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    off += static_cast<size_t>(n);
  }
}

std::string secs(int64_t ms) {
  return std::to_string((ms + 999) / 1000) + "s";
}

}  // namespace

ApprovalOutcome ask(const ApprovalRequest& req, int64_t timeout_ms, const std::string& tty_path) {
  std::lock_guard<std::mutex> lk(g_tty_mu);
  ScopedFd fd(open(tty_path.c_str(), O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!fd) {
    return {false, "",
            "no terminal to ask on (" + tty_path + ": " + strerror(errno) +
                "); approvals.mode tty needs a person at agentsh's terminal; denied"};
  }
  tcflush(fd.get(), TCIFLUSH);
  std::string what = (req.kind.empty() ? "" : req.kind + " ") + req.operation + " " + req.target;
  std::string prompt = "\r\nagentsh: approval needed — " + what + "\r\n";
  if (!req.rule.empty() || !req.message.empty())
    prompt +=
        "  rule: " + req.rule + (req.message.empty() ? "" : " (" + req.message + ")") + "\r\n";
  prompt += "Allow? [y/N] (denied in " + secs(timeout_ms) + "): ";
  put(fd.get(), prompt);

  std::string line;
  const int64_t deadline = mono_ms() + timeout_ms;
  for (;;) {
    int64_t left = deadline - mono_ms();
    if (left <= 0) {
      put(fd.get(), "\r\n(no answer in " + secs(timeout_ms) + ": denied)\r\n");
      return {false, "timeout",
              "no answer within " + secs(timeout_ms) + " at the terminal; denied"};
    }
    struct pollfd p = {fd.get(), POLLIN, 0};
    int r = poll(&p, 1, static_cast<int>(left > 1000000 ? 1000000 : left));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0)
      return {false, "", std::string("terminal poll failed: ") + strerror(errno) + "; denied"};
    if (r == 0) continue;
    char c;
    ssize_t n = read(fd.get(), &c, 1);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return {false, "", "the terminal closed before an answer; denied"};
    if (c == '\n' || c == '\r') break;
    if (line.size() < 64) line += c;
  }
  std::string a;
  for (char c : line)
    if (!isspace(static_cast<unsigned char>(c)))
      a += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  std::string who = "tty:" + user_name();
  if (a == "y" || a == "yes") return {true, who, "approved at the terminal"};
  return {false, who, "denied at the terminal"};
}

}  // namespace agentsh::approval_tty
