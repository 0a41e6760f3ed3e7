// DeferredDlp: the DLP scanner of one `agentsh exec`, built on a thread of its own so
// that start-up does not wait for it. Building it (pattern cache load or Hyperscan
// compile, PCRE2 compiles) overlaps with policy compilation and the command's own
// start; the first user that needs it (the audit writer, the output filter, the LLM
// interceptor) waits for it then.
//
// Behaviour is exactly that of building it synchronously: the same options, the same
// scanner; a build failure prints the same warning, and users get nullptr (no
// redaction), as before.
//
// Thread-safety: start() once, from one thread; get()/ready() from any thread after.
// The destructor waits for the build to finish.
#pragma once

#include <future>
#include <memory>
#include <string>

#include "proxy/dlp_options.h"
#include "proxy/dlp_scanner.h"

namespace agentsh {

class DeferredDlp {
 public:
  DeferredDlp() = default;
  ~DeferredDlp();
  DeferredDlp(const DeferredDlp&) = delete;
  DeferredDlp& operator=(const DeferredDlp&) = delete;

  // Starts building from `options`. `synchronous` builds right here (tests, and callers
  // that need the scanner at once).
  void start(proxy::DlpOptions options, bool synchronous = false);
  // True once start() was called (DLP is configured on); get() may still return null.
  bool started() const { return future_.valid(); }
  // The scanner, waiting for the build if needed; nullptr if DLP is off or the build
  // failed. The pointer lives as long as this object.
  const proxy::DlpScanner* get() const;
  // The same, shared (the LLM interceptor keeps a shared_ptr).
  std::shared_ptr<const proxy::DlpScanner> shared() const;

 private:
  std::shared_future<std::shared_ptr<const proxy::DlpScanner>> future_;
};

}  // namespace agentsh
