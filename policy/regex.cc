#include "policy/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace agentsh::policy {

namespace {

// Match data sized for the pattern, freed on every path.
struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};

}  // namespace

void Regex::CodeDeleter::operator()(pcre2_real_code_8* c) const {
  pcre2_code_free(c);
}

Regex::~Regex() = default;

std::unique_ptr<Regex> Regex::compile(std::string_view pattern, bool anchored_full,
                                      std::string* error) {
  // PCRE2_UTF + MATCH_INVALID_UTF: patterns are UTF-8 (policies are YAML text) while
  // subjects are whatever bytes a program passed in argv.
  uint32_t options = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
  std::string text(pattern);
  if (anchored_full) {
    // Wrap rather than use PCRE2_ENDANCHORED so alternations anchor as a whole.
    text = "(?:" + text + ")";
    options |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
  }
  int errcode = 0;
  PCRE2_SIZE erroff = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(text.data()), text.size(), options,
                                   &errcode, &erroff, nullptr);
  if (code == nullptr) {
    if (error != nullptr) {
      PCRE2_UCHAR buf[256];
      int n = pcre2_get_error_message(errcode, buf, sizeof(buf));
      std::string msg = n > 0 ? std::string(reinterpret_cast<char*>(buf), n) : "invalid regex";
      // Report the offset in the pattern the user wrote, not in our wrapper.
      if (anchored_full && erroff >= 3) erroff -= 3;
      if (erroff > pattern.size()) erroff = pattern.size();
      *error = msg + " at offset " + std::to_string(erroff);
    }
    return nullptr;
  }
  std::unique_ptr<Regex> re(new Regex());
  re->code_.reset(code);
  re->pattern_ = std::string(pattern);
  // JIT is an optimisation: when it is unavailable the interpreter gives the same answers.
  re->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return re;
}

Regex::Result Regex::match(std::string_view subject) const {
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> md(
      pcre2_match_data_create_from_pattern(code_.get(), nullptr));
  if (!md) return Result::kError;
  int rc = pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
                       0, md.get(), nullptr);
  if (rc >= 0) return Result::kMatch;
  if (rc == PCRE2_ERROR_NOMATCH) return Result::kNoMatch;
  return Result::kError;
}

}  // namespace agentsh::policy
