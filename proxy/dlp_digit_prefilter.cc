#include "proxy/dlp_digit_prefilter.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace agentsh::dlp_digit_prefilter {

using proxy::DlpDigitShape;

namespace {

// Bit i of each mask describes byte i of a 64-byte block.
struct Masks {
  uint64_t digit = 0, sep = 0, dash = 0;
};

Masks block_masks(const unsigned char* p) {
  Masks m;
#if defined(__SSE2__)
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
  const __m128i sp = _mm_set1_epi8(' '), da = _mm_set1_epi8('-'), dot = _mm_set1_epi8('.');
  for (int k = 0; k < 4; ++k) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
    __m128i t = _mm_sub_epi8(x, zero);
    __m128i d = _mm_cmpeq_epi8(_mm_min_epu8(t, nine), t);  // t <= 9 unsigned
    __m128i h = _mm_cmpeq_epi8(x, da);
    __m128i s = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, sp), h), _mm_cmpeq_epi8(x, dot));
    m.digit |= uint64_t(uint16_t(_mm_movemask_epi8(d))) << (16 * k);
    m.sep |= uint64_t(uint16_t(_mm_movemask_epi8(s))) << (16 * k);
    m.dash |= uint64_t(uint16_t(_mm_movemask_epi8(h))) << (16 * k);
  }
#else
  for (int i = 0; i < 64; ++i) {
    unsigned char c = p[i];
    uint64_t b = uint64_t(1) << i;
    if (c >= '0' && c <= '9') m.digit |= b;
    if (c == ' ' || c == '-' || c == '.') m.sep |= b;
    if (c == '-') m.dash |= b;
  }
#endif
  return m;
}

Masks masks_at(std::string_view text, size_t base) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  if (base >= text.size()) return Masks{};
  if (text.size() - base >= 64) return block_masks(p + base);
  unsigned char pad[64] = {};
  memcpy(pad, p + base, text.size() - base);
  return block_masks(pad);
}

// Bit i = bit (i - j) of the stream (looking back j bytes), 1 <= j <= 63.
inline uint64_t back(uint64_t cur, uint64_t prev, unsigned j) {
  return (cur << j) | (prev >> (64 - j));
}
// Bit i = bit (i + j) of the stream (looking ahead j bytes), 1 <= j <= 63.
inline uint64_t fwd(uint64_t cur, uint64_t next, unsigned j) {
  return (cur >> j) | (next << (64 - j));
}

void emit(uint64_t m, DlpDigitShape shape, size_t base, size_t shape_tail, size_t n,
          std::vector<Hit>* hits) {
  while (m) {
    size_t end = base + size_t(__builtin_ctzll(m)) + shape_tail;
    if (end <= n) hits->push_back(Hit{shape, end});
    m &= m - 1;
  }
}

}  // namespace

void scan(std::string_view text, unsigned wanted, std::vector<Hit>* hits) {
  const bool pair = wanted & bit(DlpDigitShape::kGroupPair);
  const bool ssn = wanted & bit(DlpDigitShape::kSsnShape);
  const bool run = wanted & bit(DlpDigitShape::kLongRun);
  if (!(pair || ssn || run) || text.empty()) return;
  const size_t n = text.size();
  Masks prev, cur = masks_at(text, 0);
  for (size_t base = 0; base < n; base += 64) {
    Masks next = masks_at(text, base + 64);
    const uint64_t D = cur.digit, pD = prev.digit, nD = next.digit;
    // Three digits before position i.
    const uint64_t d3b = back(D, pD, 1) & back(D, pD, 2) & back(D, pD, 3);
    if (pair) {
      // ddd[ .-]dddd, at the separator.
      uint64_t m = cur.sep & d3b & fwd(D, nD, 1) & fwd(D, nD, 2) & fwd(D, nD, 3) & fwd(D, nD, 4);
      emit(m, DlpDigitShape::kGroupPair, base, 5, n, hits);
    }
    if (ssn) {
      // ddd-dd-dddd, at the first dash.
      uint64_t m = cur.dash & d3b & fwd(D, nD, 1) & fwd(D, nD, 2) & fwd(cur.dash, next.dash, 3) &
                   fwd(D, nD, 4) & fwd(D, nD, 5) & fwd(D, nD, 6) & fwd(D, nD, 7);
      emit(m, DlpDigitShape::kSsnShape, base, 8, n, hits);
    }
    if (run) {
      // The last digit of a run of 13 or more.
      uint64_t m = D & ~fwd(D, nD, 1);
      for (unsigned j = 1; j <= 12 && m; ++j) m &= back(D, pD, j);
      emit(m, DlpDigitShape::kLongRun, base, 1, n, hits);
    }
    prev = cur;
    cur = next;
  }
}

}  // namespace agentsh::dlp_digit_prefilter
