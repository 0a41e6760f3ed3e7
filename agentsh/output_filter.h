// OutputFilter: secret redaction (DLP) of a governed command's stdout/stderr.
// A stream that goes to a terminal is left alone (the TTY stays the TTY: colours, job
// control, full-screen programs), and so is one that goes to /dev/null (nothing to read
// back, nothing to redact). A stream that goes to a pipe or a file — what an agent
// reads back — passes through a pipe we read, and the DLP stream redactor, on its way
// to the original destination. Binary output (a tar stream, an image) passes untouched
// (the redactor switches to pass-through); a secret split across two reads is found.
// When stdout and stderr are the same open file (2>&1), one pipe carries both so their
// order is kept.
//
// Use: prepare() before fork; in_child() between fork and exec (async-signal-safe);
// in_parent() after fork; finish() after the command exited (drains, with a bound, so a
// daemon that kept our pipe cannot hold agentsh forever).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "common/scoped_fd.h"

namespace agentsh {

namespace proxy {
class DlpScanner;
class DlpStreamRedactor;
}  // namespace proxy

class OutputFilter {
 public:
  // `scanner` null = no redaction (DLP disabled or unavailable). It must outlive this.
  explicit OutputFilter(const proxy::DlpScanner* scanner);
  // A scanner still being built (agentsh/deferred_dlp.h): `get_scanner` is called once,
  // on the pump thread, when the first output arrives, and may block until the build is
  // done; if it returns null (or a scanner without rules) the output passes unchanged.
  // `configured` false = DLP is off: no filtering at all.
  OutputFilter(std::function<const proxy::DlpScanner*()> get_scanner, bool configured);
  ~OutputFilter();
  OutputFilter(const OutputFilter&) = delete;
  OutputFilter& operator=(const OutputFilter&) = delete;

  // False (errno set) only if a pipe cannot be made. Inactive (and true) when DLP is
  // disabled, or when both streams are terminals.
  bool prepare();
  void in_child() noexcept;
  void in_parent();
  void finish();
  // Redactions applied so far (both streams).
  uint64_t redactions() const { return redactions_.load(); }

 private:
  void pump();
  void relay(proxy::DlpStreamRedactor* red);

  std::function<const proxy::DlpScanner*()> get_scanner_;
  bool configured_ = false;
  // For fd 1 and fd 2: the pipe's read end (parent) and write end (child), -1 if that
  // stream is not filtered. `shared_` = stderr rides on stdout's pipe.
  ScopedFd read_[2], write_[2];
  bool shared_ = false;
  bool active_ = false;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> redactions_{0};
  std::thread thread_;
};

}  // namespace agentsh
