#include "agentsh/deferred_dlp.h"

#include <cstdio>
#include <utility>

namespace agentsh {

namespace {

std::shared_ptr<const proxy::DlpScanner> build(const proxy::DlpOptions& options) {
  std::string err;
  std::shared_ptr<const proxy::DlpScanner> s = proxy::DlpScanner::create(options, &err);
  // A broken custom pattern must not leave output unredacted silently.
  if (!s) fprintf(stderr, "agentsh: WARNING: secret redaction off: %s\n", err.c_str());
  return s;
}

}  // namespace

void DeferredDlp::start(proxy::DlpOptions options, bool synchronous) {
  if (synchronous) {
    std::promise<std::shared_ptr<const proxy::DlpScanner>> p;
    p.set_value(build(options));
    future_ = p.get_future().share();
    return;
  }
  future_ = std::async(std::launch::async, [o = std::move(options)] { return build(o); }).share();
}

DeferredDlp::~DeferredDlp() {
  if (future_.valid()) future_.wait();
}

const proxy::DlpScanner* DeferredDlp::get() const {
  return future_.valid() ? future_.get().get() : nullptr;
}

std::shared_ptr<const proxy::DlpScanner> DeferredDlp::shared() const {
  return future_.valid() ? future_.get() : nullptr;
}

}  // namespace agentsh
