#include "proxy/dlp_binary.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace agentsh::dlp_binary {

namespace {

// Length of the UTF-8 sequence starting at s[i] if it is valid (1–4), 0 if invalid,
// -1 if it is a valid prefix cut off by the end of the buffer.
int utf8_len(const unsigned char* s, size_t n, size_t i) {
  unsigned char c = s[i];
  if (c < 0x80) return 1;
  int len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (int k = 1; k < len; ++k) {
    if (i + k >= n) return -1;
    unsigned char b = s[i + k];
    if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return 0;
  }
  return len;
}

// Length of the prefix of s[i, n) made of printable ASCII, \t, \n and \r only: the
// common case, checked 16 bytes at a time.
size_t plain_prefix(const unsigned char* s, size_t n, size_t i) {
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
  const __m128i tab = _mm_set1_epi8('\t'), nl = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
  while (i + 16 <= n) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i));
    // Signed compare: bytes >= 0x80 are negative, so they count as "below space" too.
    __m128i odd = _mm_or_si128(_mm_cmplt_epi8(x, space), _mm_cmpeq_epi8(x, del));
    __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, tab), _mm_cmpeq_epi8(x, nl)),
                              _mm_cmpeq_epi8(x, cr));
    if (_mm_movemask_epi8(_mm_andnot_si128(ws, odd)) != 0) break;
    i += 16;
  }
#else
  (void)s;
  (void)n;
#endif
  return i;
}

}  // namespace

bool looks_binary(std::string_view chunk) {
  if (chunk.empty()) return false;
  if (memchr(chunk.data(), 0, chunk.size()) != nullptr) return true;
  const auto* s = reinterpret_cast<const unsigned char*>(chunk.data());
  const size_t n = chunk.size();
  size_t i = 0, bad = 0;
  // Continuation bytes at the very start finish a character begun in the last chunk.
  while (i < n && i < 3 && s[i] >= 0x80 && s[i] <= 0xBF) ++i;
  while (i < n) {
    i = plain_prefix(s, n, i);
    if (i >= n) break;
    unsigned char c = s[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != '\b' &&
           c != 0x1b) ||
          c == 0x7f)
        ++bad;
      ++i;
      continue;
    }
    int len = utf8_len(s, n, i);
    if (len < 0) break;  // cut at the end: the next chunk completes it
    if (len == 0) {
      ++bad;
      ++i;
    } else {
      i += size_t(len);
    }
  }
  return bad * 10 > n * 3;
}

}  // namespace agentsh::dlp_binary
