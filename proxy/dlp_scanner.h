// DlpScanner: finds secrets and personal data in text and redacts them as
// [REDACTED:<display>].
//
// How: every rule (built-in detectors enabled by dlp.patterns, then dlp.custom_patterns)
// is compiled ONCE into one Hyperscan database; a scan is one Hyperscan pass that
// reports candidate match ends, then PCRE2 (JIT) confirms each candidate inside a
// window bounded by the rule's longest possible match, a validator (Luhn, SSN ranges…)
// has the last word, and overlapping findings are resolved (leftmost, then longest,
// then rule order: custom patterns before built-ins, specific before generic).
// Text without candidates costs only the Hyperscan pass.
//
// Limits: a match longer than kMaxMatchBytes (4 KiB) may be found only in part; rules
// whose regex Hyperscan cannot compile exactly run in Hyperscan's prefilter mode.
//
// Thread-safety: a built scanner is immutable; scan()/redact() may be called from any
// number of threads at once (each call borrows Hyperscan scratch space from a pool).
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "agentsh/config.h"
#include "proxy/dlp_finding.h"
#include "proxy/dlp_handles.h"
#include "proxy/dlp_options.h"
#include "proxy/dlp_rule.h"

namespace agentsh::proxy {

class DlpScanner {
 public:
  // Longest match the scanner guarantees to find whole; also the streaming
  // redactor's carry-over bound.
  static constexpr size_t kMaxMatchBytes = 4096;

  // Builds a scanner from validated options. nullptr with `error` set (naming the rule
  // and what is wrong with it) if a regex does not compile or can match "".
  static std::unique_ptr<DlpScanner> create(const DlpOptions& options, std::string* error);
  // Same from explicit rules (tests, benchmarks); `enabled` false = mode disabled.
  // `use_hyperscan` false: PCRE2 alone scans every rule over the whole text — correct
  // but slow; what happens anyway on a CPU Hyperscan does not support (no SSSE3).
  static std::unique_ptr<DlpScanner> create(std::vector<DlpRule> rules, bool enabled,
                                            std::string* error, const std::string& cache_dir = "",
                                            bool use_hyperscan = true);
  // From the config's dlp section (DlpOptions::from_config + create).
  static std::unique_ptr<DlpScanner> create(const Config& cfg, std::string* error);

  ~DlpScanner();
  DlpScanner(const DlpScanner&) = delete;
  DlpScanner& operator=(const DlpScanner&) = delete;

  // False in mode "disabled" (or with no rules): scan() finds nothing, redact() copies.
  bool enabled() const { return enabled_ && !rules_.empty(); }

  // Findings in `text`: sorted by offset, non-overlapping.
  std::vector<DlpFinding> scan(std::string_view text) const;

  // `text` with every finding replaced by its placeholder.
  DlpRedaction redact(std::string_view text) const;

  // Longest possible match of any rule (≤ kMaxMatchBytes), and the shortest: text
  // shorter than min_match_length() cannot contain a finding.
  size_t max_match_length() const { return max_len_all_; }
  size_t min_match_length() const { return min_len_all_; }

  const std::vector<DlpRule>& rules() const { return rules_; }

  // "[REDACTED:<display>]"
  static std::string placeholder(std::string_view display);
  // Writes `text` with `findings` (sorted, non-overlapping, offsets into `text`)
  // replaced by their placeholders.
  static std::string apply(std::string_view text, const std::vector<DlpFinding>& findings);

 private:
  struct CompiledRule {
    dlp_handles::Pcre2Code code;
    size_t max_len = 0;           // window size for the confirm step
    bool trigger_inside = false;  // candidates mark a point inside a match, not its end
  };
  struct ScanState;  // Hyperscan scratch + PCRE2 match data + hit buffer, pooled

  DlpScanner() = default;
  std::unique_ptr<ScanState> acquire() const;
  void release(std::unique_ptr<ScanState> s) const;

  bool enabled_ = true;
  std::vector<DlpRule> rules_;
  std::vector<CompiledRule> compiled_;
  dlp_handles::HsDatabase db_;
  dlp_handles::HsScratch proto_scratch_;
  uint32_t max_groups_ = 1;
  unsigned digit_shapes_ = 0;  // dlp_digit_prefilter::bit() of every shape in use
  bool hs_rules_ = false;      // some rule takes its candidates from Hyperscan
  size_t max_len_all_ = 0;
  size_t min_len_all_ = 1;

  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<ScanState>> pool_;
};

}  // namespace agentsh::proxy
