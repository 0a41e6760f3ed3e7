// One DLP detector as the scanner compiles it: a PCRE2 regex that defines a match, an
// optional Hyperscan trigger that finds candidates, and a validator for what a regex
// cannot say cheaply (Luhn, SSN ranges, "not inside a longer number").
#pragma once

#include <cstddef>
#include <string>

namespace agentsh::proxy {

enum class DlpValidator {
  kNone,
  kStandaloneNumber,     // not glued to digits/letters/'.'/'-' on either side (phone)
  kSsn,                  // standalone + area not 000/666/9xx, group not 00, serial not 0000
  kCreditCard,           // standalone + brand length + one consistent separator + Luhn
  kKeyLike,              // the token mixes letters and digits (keeps "sk-some-css-class" out)
  kNotFollowedByBase64,  // the redacted group is not the prefix of a longer base64 run
};

// Built-in numeric detectors get their candidates from a SIMD pass over digit masks
// (proxy/dlp_digit_prefilter.h) instead of Hyperscan: on digit-heavy text (logs) every
// digit-class Hyperscan pattern costs about 1 ms per MB, which alone would blow the
// throughput budget. Each shape occurs inside every match of the rules that use it.
enum class DlpDigitShape {
  kNone,       // candidates come from Hyperscan
  kGroupPair,  // ddd[ .-]dddd          (phone numbers, spaced card numbers)
  kSsnShape,   // ddd-dd-dddd
  kLongRun,    // 13 or more digits in a row (card numbers)
};

struct DlpRule {
  std::string name;     // stable identifier, reported in findings
  std::string display;  // placeholder label: [REDACTED:<display>]
  std::string regex;    // PCRE2 syntax; defines the match. Must not match the empty string.
  // Empty: Hyperscan compiles `regex` itself (exactly, or in prefilter mode if it uses
  // constructs Hyperscan lacks) and reports every end offset of every match.
  // Otherwise a cheap Hyperscan pattern that matches somewhere INSIDE every match of
  // `regex` (e.g. "\bsk-", or the BEGIN line of a PEM block): PCRE2 then confirms in
  // [end - max_length, end + max_length]. Large bounded repeats make Hyperscan compile
  // slowly (hundreds of ms for an email regex); a trigger keeps start-up fast.
  std::string trigger;
  // Upper bound on a match's length in bytes; 0 = ask Hyperscan (capped at
  // DlpScanner::kMaxMatchBytes). Required (non-zero) when `trigger` is set.
  size_t max_length = 0;
  DlpValidator validator = DlpValidator::kNone;
  // Capture group to redact instead of the whole match (0 = whole match). Lets a rule
  // match "aws_secret_access_key = <value>" but redact only the value.
  int redact_group = 0;
  // Non-kNone: candidates come from the digit prefilter (then `trigger` is unused and
  // `max_length` is required).
  DlpDigitShape digit_shape = DlpDigitShape::kNone;
};

}  // namespace agentsh::proxy
