// DlpStreamRedactor: redacts a byte stream (a command's stdout/stderr) that arrives in
// arbitrary chunks. A secret split across chunks is still found: the redactor keeps a
// bounded tail (the scanner's longest match, ≤ 4 KiB) and releases only bytes that can
// no longer be part of a match.
//
//   DlpStreamRedactor r(scanner);
//   write(out, r.feed(chunk));   // for every chunk read; may return "" (held back)
//   write(out, r.flush());       // when the source has been idle a while, and at EOF
//
// Binary: the first chunk that looks binary (NUL bytes, mostly invalid UTF-8; see
// dlp_binary.h) switches the stream to pass-through for good — a tar or image stream
// would be corrupted by a length-changing edit. What was held before is released
// (redacted) ahead of it.
//
// Latency: up to 2 × max_match_length() bytes may be held back until more output comes;
// call flush() after an idle period (e.g. 50 ms without output) and at end of stream.
// A secret printed in two pieces with an idle flush in between is not found.
//
// Thread-safety: one instance per stream, not shared between threads. The scanner
// must outlive it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/dlp_finding.h"
#include "proxy/dlp_scanner.h"

namespace agentsh::proxy {

class DlpStreamRedactor {
 public:
  explicit DlpStreamRedactor(const DlpScanner& scanner);

  // Takes the next chunk; returns the output that can be released now.
  std::string feed(std::string_view chunk);
  // Releases everything held back. The stream may continue afterwards.
  std::string flush();

  bool binary() const { return binary_; }
  size_t held_bytes() const { return buf_.size() - ctx_; }
  // Findings so far, offsets in the INPUT stream; at most kMaxKeptFindings are kept,
  // finding_count() counts them all.
  const std::vector<DlpFinding>& findings() const { return findings_; }
  uint64_t finding_count() const { return finding_count_; }
  uint64_t bytes_in() const { return bytes_in_; }
  uint64_t bytes_out() const { return bytes_out_; }

  static constexpr size_t kMaxKeptFindings = 1024;

 private:
  // Scans buf_, releases [ctx_, release_at) plus any finding that starts before it,
  // keeps a little context before the new start for \b and the like.
  std::string release(size_t release_at, bool all);

  const DlpScanner& scanner_;
  size_t hold_;      // max_match_length(): bytes that must stay for the next scan
  std::string buf_;  // [0, ctx_) already released (context only), then pending bytes
  size_t ctx_ = 0;
  uint64_t buf_offset_ = 0;  // stream offset of buf_[0]
  bool binary_ = false;
  std::vector<DlpFinding> findings_;
  uint64_t finding_count_ = 0;
  uint64_t bytes_in_ = 0, bytes_out_ = 0;
};

}  // namespace agentsh::proxy
