// Durations as the reference policies write them (Go time.ParseDuration syntax):
// "300ms", "5m", "1h30m", "1.5h", "0". Units: ns, us, µs, ms, s, m, h.
// A bare number other than 0 is rejected: "timeout: 5" is ambiguous.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agentsh::duration {

// Parses into milliseconds (sub-millisecond parts round down). Returns false and fills
// `error` for malformed text, a missing unit, a negative value or an overflow.
bool parse_ms(std::string_view text, int64_t* out_ms, std::string* error);

}  // namespace agentsh::duration
