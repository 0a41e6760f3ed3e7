// A compiled PCRE2 regular expression (8-bit, UTF) with JIT when the platform has it.
// Used for command `args_patterns` and the regexes of dns_redirects / connect_redirects.
// Owns its pcre2 code and match-data objects (RAII); immutable after construction, but a
// match uses per-call match data, so one Regex may be shared between threads.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct pcre2_real_code_8;

namespace agentsh::policy {

class Regex {
 public:
  // Compiles `pattern`. On failure returns null and sets `error` to PCRE2's message with
  // the offset in the pattern, e.g. "missing closing parenthesis at offset 3".
  // `anchored_full`: the pattern must match the whole subject (used for redirects).
  static std::unique_ptr<Regex> compile(std::string_view pattern, bool anchored_full,
                                        std::string* error);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  enum class Result { kNoMatch, kMatch, kError };
  // Whether the pattern matches somewhere in `subject` (or the whole of it, when compiled
  // `anchored_full`). kError: PCRE2 could not decide (match or depth limit hit); callers
  // decide which way is safe (the engine treats it as a match for deny-like rules only).
  // Invalid UTF-8 in the subject is tolerated (PCRE2_MATCH_INVALID_UTF).
  Result match(std::string_view subject) const;
  bool matches(std::string_view subject) const { return match(subject) == Result::kMatch; }

  const std::string& pattern() const { return pattern_; }
  bool jit() const { return jit_; }

 private:
  Regex() = default;
  struct CodeDeleter {
    void operator()(pcre2_real_code_8* c) const;
  };
  std::unique_ptr<pcre2_real_code_8, CodeDeleter> code_;
  std::string pattern_;
  bool jit_ = false;
};

}  // namespace agentsh::policy
