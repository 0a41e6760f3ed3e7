// Checks a DLP match must pass after its regex matched: the parts of "is this really
// a card number / SSN / key" that regexes express badly. Pure functions over the
// scanned buffer; thread-safe.
#pragma once

#include <cstddef>
#include <string_view>

#include "proxy/dlp_rule.h"

namespace agentsh::dlp_validators {

// True if the Luhn checksum of the digits in `s` (other characters ignored) is valid
// and there is at least one digit.
bool luhn_ok(std::string_view s);

// Applies `v` to the match text[begin, end) (the whole match, not the redacted group;
// `group_end` is where the redacted group ends). `text` is the whole scanned buffer
// so neighbours can be inspected.
bool validate(proxy::DlpValidator v, std::string_view text, size_t begin, size_t end,
              size_t group_end);

}  // namespace agentsh::dlp_validators
