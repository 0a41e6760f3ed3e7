#include "proxy/dlp_stream_redactor.h"

#include <algorithm>

#include "proxy/dlp_binary.h"

namespace agentsh::proxy {

namespace {
// Released bytes kept in front of the pending ones so that word boundaries at the
// seam are judged on real neighbours.
constexpr size_t kContext = 64;
}  // namespace

DlpStreamRedactor::DlpStreamRedactor(const DlpScanner& scanner)
    : scanner_(scanner), hold_(std::max<size_t>(scanner.max_match_length(), 1)) {}

std::string DlpStreamRedactor::feed(std::string_view chunk) {
  bytes_in_ += chunk.size();
  if (binary_ || !scanner_.enabled()) {
    bytes_out_ += chunk.size();
    return std::string(chunk);
  }
  if (dlp_binary::looks_binary(chunk)) {
    std::string out = flush();
    binary_ = true;
    buf_.clear();
    ctx_ = 0;
    out.append(chunk);
    bytes_out_ += chunk.size();
    return out;
  }
  buf_.append(chunk);
  // Scan only once twice the hold is pending: each scan then releases at least `hold_`
  // bytes, so no byte is scanned more than about three times however small the chunks.
  if (buf_.size() - ctx_ < 2 * hold_) return "";
  return release(buf_.size() - hold_, false);
}

std::string DlpStreamRedactor::flush() {
  if (binary_ || buf_.size() == ctx_) return "";
  return release(buf_.size(), true);
}

std::string DlpStreamRedactor::release(size_t release_at, bool all) {
  std::vector<DlpFinding> found = scanner_.scan(buf_);
  std::vector<DlpFinding> used;
  size_t end = release_at;
  for (DlpFinding& f : found) {
    // Starts in already-released context: its bytes went out with an earlier release.
    if (f.offset < ctx_) continue;
    if (!all && f.offset >= release_at) break;
    end = std::max(end, f.offset + f.length);
    used.push_back(std::move(f));
  }
  std::string out;
  size_t pos = ctx_;
  for (const DlpFinding& f : used) {
    out.append(buf_, pos, f.offset - pos);
    out.append(DlpScanner::placeholder(f.display));
    pos = f.offset + f.length;
    ++finding_count_;
    if (findings_.size() < kMaxKeptFindings) {
      DlpFinding g = f;
      g.offset = size_t(buf_offset_ + f.offset);
      findings_.push_back(std::move(g));
    }
  }
  out.append(buf_, pos, end - pos);
  bytes_out_ += out.size();

  size_t keep_from = end - std::min(end, kContext);
  buf_.erase(0, keep_from);
  buf_offset_ += keep_from;
  ctx_ = end - keep_from;
  return out;
}

}  // namespace agentsh::proxy
