// Candidate finder for the built-in numeric detectors (cards, SSNs, phone numbers).
// One pass builds bit masks of digits and separators 64 bytes at a time (SSE2) and
// reports where a digit shape (see DlpDigitShape) ends; PCRE2 and the validators then
// decide around those few places. On log-like text this runs at several GB/s where a
// Hyperscan digit-class pattern manages about one.
// Pure function; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "proxy/dlp_rule.h"

namespace agentsh::dlp_digit_prefilter {

struct Hit {
  proxy::DlpDigitShape shape;
  size_t end;  // offset just past the shape
};

// Appends every occurrence of the shapes in `wanted` (bit 1 << int(shape)) to `hits`,
// in increasing order of end per shape.
void scan(std::string_view text, unsigned wanted, std::vector<Hit>* hits);

inline unsigned bit(proxy::DlpDigitShape s) {
  return 1u << unsigned(s);
}

}  // namespace agentsh::dlp_digit_prefilter
