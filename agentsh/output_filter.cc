#include "agentsh/output_filter.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>

#include "proxy/dlp_scanner.h"
#include "proxy/dlp_stream_redactor.h"

namespace agentsh {

namespace {

bool write_all(int fd, std::string_view s) {
  size_t off = 0;
  while (off < s.size()) {
    ssize_t w = write(fd, s.data() + off, s.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

bool same_file(int a, int b) {
  struct stat sa, sb;
  if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0) return false;
  if (sa.st_dev != sb.st_dev || sa.st_ino != sb.st_ino) return false;
  // The same pipe or file (2>&1, or both redirected to one log): one pipe for both
  // keeps the order in which the command wrote.
  return true;
}

// /dev/null: nobody can read back what goes there, so there is nothing to redact (and no
// reason for a pipe and a pump thread).
bool is_dev_null(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

// How long a quiet stream may hold back a partial match before it is flushed.
constexpr int kIdleFlushMs = 50;
// After the command exits: how long we keep draining for descendants that still write.
constexpr int kDrainMs = 2000;

}  // namespace

OutputFilter::OutputFilter(const proxy::DlpScanner* scanner)
    : get_scanner_([scanner] { return scanner; }),
      configured_(scanner != nullptr && scanner->enabled()) {}

OutputFilter::OutputFilter(std::function<const proxy::DlpScanner*()> get_scanner, bool configured)
    : get_scanner_(std::move(get_scanner)), configured_(configured) {}

OutputFilter::~OutputFilter() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool OutputFilter::prepare() {
  if (!configured_) return true;
  bool want[2] = {!isatty(1) && fcntl(1, F_GETFD) >= 0 && !is_dev_null(1),
                  !isatty(2) && fcntl(2, F_GETFD) >= 0 && !is_dev_null(2)};
  if (!want[0] && !want[1]) return true;
  shared_ = want[0] && want[1] && same_file(1, 2);
  for (int i = 0; i < 2; ++i) {
    if (!want[i] || (i == 1 && shared_)) continue;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0) return false;
    read_[i].reset(p[0]);
    write_[i].reset(p[1]);
  }
  active_ = true;
  return true;
}

void OutputFilter::in_child() noexcept {
  if (!active_) return;
  for (int i = 0; i < 2; ++i) {
    int w = write_[i].get();
    if (w >= 0) dup2(w, i + 1);  // dup2 clears O_CLOEXEC on the new descriptor
  }
  if (shared_) dup2(write_[0].get(), 2);
}

void OutputFilter::in_parent() {
  if (!active_) return;
  for (auto& w : write_) w.reset();
  thread_ = std::thread([this] { pump(); });
}

void OutputFilter::pump() {
  const proxy::DlpScanner* scanner = get_scanner_();
  if (scanner == nullptr || !scanner->enabled()) {
    // Nothing to redact after all (the build failed, or no rules): copy the bytes.
    relay(nullptr);
    return;
  }
  proxy::DlpStreamRedactor red[2] = {proxy::DlpStreamRedactor(*scanner),
                                     proxy::DlpStreamRedactor(*scanner)};
  relay(red);
  for (auto& r : red) redactions_ += r.finding_count();
}

// One loop for both streams. `red` is null (copy the bytes as they are) or two redactors,
// one per stream, that may hold back the tail of a read until the next read (or an idle
// pause) shows whether it starts a secret.
void OutputFilter::relay(proxy::DlpStreamRedactor* red) {
  const int dest[2] = {1, 2};
  struct pollfd pfd[2];
  int open_count = 0;
  for (int i = 0; i < 2; ++i) {
    pfd[i] = {read_[i].get(), POLLIN, 0};
    if (pfd[i].fd >= 0) ++open_count;
  }
  auto deadline = std::chrono::steady_clock::time_point::max();
  char buf[65536];
  while (open_count > 0) {
    if (stop_ && deadline == std::chrono::steady_clock::time_point::max())
      deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kDrainMs);
    if (std::chrono::steady_clock::now() >= deadline) break;
    int pr = poll(pfd, 2, kIdleFlushMs);
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) {  // idle: release what was held back for a possible match
      for (int i = 0; red != nullptr && i < 2; ++i)
        if (pfd[i].fd >= 0 && red[i].held_bytes() > 0) write_all(dest[i], red[i].flush());
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(pfd[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        if (red != nullptr) write_all(dest[i], red[i].flush());
        pfd[i].fd = -1;
        --open_count;
        continue;
      }
      std::string_view chunk(buf, static_cast<size_t>(n));
      if (red != nullptr)
        write_all(dest[i], red[i].feed(chunk));
      else
        write_all(dest[i], chunk);
    }
  }
  for (int i = 0; red != nullptr && i < 2; ++i)
    if (pfd[i].fd >= 0) write_all(dest[i], red[i].flush());
}

void OutputFilter::finish() {
  if (!active_) return;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& r : read_) r.reset();
}

}  // namespace agentsh
