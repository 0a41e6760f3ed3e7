// Glob matching (see glob.h for the syntax).
//
// Compiled twice: into the supervisor and into libagentsh_hook.so (-fno-exceptions,
// -fno-rtti). Therefore: no allocation, no exceptions, no recursion, no locale, no libc
// calls beyond what the compiler inlines. Safe in signal handlers and vfork children.
//
// Algorithm: the classic iterative two-pointer matcher with one backtrack point per star
// kind, which is O(len(pattern) * len(text)) in the worst case instead of exponential:
//
//  * `*` (segment star) keeps the most recent restart point. On a mismatch it absorbs one
//    more text character, unless that character is `sep` (a `*` never crosses it). Only
//    the most recent `*` needs a restart point: an earlier `*` absorbing more could only
//    move the literal chunk behind it later inside the same segment, which gives the
//    later `*` fewer choices, never more.
//  * `**` (globstar) keeps its own restart point. When the segment star is exhausted (it
//    hit `sep` or the end of the text) the globstar absorbs one more unit and matching
//    resumes after it; the segment-star restart point is dropped because it belonged to
//    the failed attempt. Again only the most recent `**` matters (it can absorb anything).
//  * A `**` that forms a whole segment followed by a separator (`/**/`, or `**/` at the
//    start of the pattern) means "zero or more whole segments": `/a/**/b` matches `/a/b`
//    and `/a/x/y/b`, `**/.env` matches `/.env` and `.env`. Its units are whole segments,
//    so its restart points are the positions just after each separator in the text.
//  * Any other `**` (e.g. a trailing `/tmp/**`, or `a**b`) is "any run, separators
//    included": `/tmp/**` matches `/tmp/` and `/tmp/a/b` but not `/tmp`.
//  * With sep == '\0' there is no separator, so `*` and `**` are the same thing.
#include "policy/glob.h"

#include <cstdint>
#include <cstring>

namespace agentsh::glob {

namespace {

inline unsigned char lower(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') ? static_cast<unsigned char>(c - 'A' + 'a') : c;
}
inline unsigned char upper(unsigned char c) noexcept {
  return (c >= 'a' && c <= 'z') ? static_cast<unsigned char>(c - 'a' + 'A') : c;
}

inline bool char_eq(unsigned char a, unsigned char b, bool icase) noexcept {
  return a == b || (icase && lower(a) == lower(b));
}

// Finds the end of a character class starting at pat[i] == '['. Returns the index just
// past the closing ']' or 0 when the class is unterminated (then '[' is a literal).
// A ']' right after '[' or '[!'/'[^' is a member, as in POSIX; '\' escapes one char.
size_t class_end(const char* pat, size_t plen, size_t i) noexcept {
  size_t j = i + 1;
  if (j < plen && (pat[j] == '!' || pat[j] == '^')) ++j;
  if (j < plen && pat[j] == ']') ++j;
  while (j < plen) {
    if (pat[j] == '\\') {
      if (j + 1 >= plen) return 0;
      j += 2;
      continue;
    }
    if (pat[j] == ']') return j + 1;
    ++j;
  }
  return 0;
}

// Tests `c` against the class pat[begin, end) where pat[begin] == '[' and pat[end-1] ==
// ']' (as returned by class_end).
bool class_match(const char* pat, size_t begin, size_t end, unsigned char c, bool icase) noexcept {
  size_t j = begin + 1;
  size_t last = end - 1;  // the closing ']'
  bool negate = false;
  if (j < last && (pat[j] == '!' || pat[j] == '^')) {
    negate = true;
    ++j;
  }
  bool hit = false;
  while (j < last) {
    unsigned char lo;
    if (pat[j] == '\\' && j + 1 < last) {
      lo = static_cast<unsigned char>(pat[j + 1]);
      j += 2;
    } else {
      lo = static_cast<unsigned char>(pat[j]);
      ++j;
    }
    unsigned char hi = lo;
    // A range "lo-hi"; a '-' right before the closing ']' is a literal '-'.
    if (j + 1 < last && pat[j] == '-') {
      size_t k = j + 1;
      if (pat[k] == '\\' && k + 1 < last) ++k;
      hi = static_cast<unsigned char>(pat[k]);
      j = k + 1;
    }
    if (lo <= c && c <= hi) hit = true;
    if (icase) {
      unsigned char lc = lower(c), uc = upper(c);
      if ((lo <= lc && lc <= hi) || (lo <= uc && uc <= hi)) hit = true;
    }
  }
  return hit != negate;
}

// True if the class pat[begin, end) contains a range like "z-a" (which matches nothing:
// certainly a mistake in a policy). Same member parsing as class_match.
bool class_has_reversed_range(const char* pat, size_t begin, size_t end) noexcept {
  size_t j = begin + 1;
  size_t last = end - 1;
  if (j < last && (pat[j] == '!' || pat[j] == '^')) ++j;
  while (j < last) {
    unsigned char lo;
    if (pat[j] == '\\' && j + 1 < last) {
      lo = static_cast<unsigned char>(pat[j + 1]);
      j += 2;
    } else {
      lo = static_cast<unsigned char>(pat[j]);
      ++j;
    }
    if (j + 1 < last && pat[j] == '-') {
      size_t k = j + 1;
      if (pat[k] == '\\' && k + 1 < last) ++k;
      if (static_cast<unsigned char>(pat[k]) < lo) return true;
      j = k + 1;
    }
  }
  return false;
}

inline bool is_meta(char c) noexcept {
  return c == '*' || c == '?' || c == '[' || c == '\\';
}

constexpr size_t kNone = SIZE_MAX;

// After a segment-form globstar at text position t, with `lit` + "*" as the rest of the
// pattern, `lit` holding no separator: lit + "*" must cover text[k, tlen) without a
// separator, and k must be t or just past a separator, so k is the start of the text's
// last segment (or t when that lies before t).
bool last_segment_matches(const char* lit, size_t llen, const char* text, size_t tlen, size_t t,
                          char sep, bool icase) noexcept {
  size_t k = tlen;
  while (k > t && text[k - 1] != sep) --k;
  if (tlen - k < llen) return false;
  for (size_t i = 0; i < llen; ++i) {
    if (!char_eq(static_cast<unsigned char>(lit[i]), static_cast<unsigned char>(text[k + i]),
                 icase)) {
      return false;
    }
  }
  return true;
}

// After a globstar at text position t, with the literal `lit` as the rest of the
// pattern: the globstar absorbs text[t, k) and lit must equal text[k, tlen), so k is
// fixed. In segment form ("**/") the absorbed part must be empty or end with `sep`.
bool literal_tail_matches(const char* lit, size_t llen, const char* text, size_t tlen, size_t t,
                          char sep, bool segments, bool icase) noexcept {
  if (tlen - t < llen) return false;
  size_t k = tlen - llen;
  if (segments && k != t && text[k - 1] != sep) return false;
  for (size_t i = 0; i < llen; ++i) {
    if (!char_eq(static_cast<unsigned char>(lit[i]), static_cast<unsigned char>(text[k + i]),
                 icase)) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool match(const char* pat, size_t plen, const char* text, size_t tlen, char sep,
           bool icase) noexcept {
  const bool has_sep = sep != '\0';
  size_t p = 0, t = 0;
  // Segment-star restart: pattern index after the `*`, text index it has absorbed to.
  size_t star_p = kNone, star_t = 0;
  // Globstar restart: pattern index after the `**` (and its '/'), text index, and
  // whether its units are whole segments.
  size_t gs_p = kNone, gs_t = 0;
  bool gs_segments = false;

  for (;;) {
    if (p < plen) {
      char pc = pat[p];
      if (pc == '*') {
        size_t q = p;
        while (q < plen && pat[q] == '*') ++q;
        bool globstar = (q - p >= 2) || !has_sep;
        if (globstar) {
          // Segment form: the `**` fills a whole segment and a separator follows.
          bool seg_start = p == 0 || pat[p - 1] == sep;
          if (has_sep && seg_start && q < plen && pat[q] == sep) {
            gs_p = q + 1;
            gs_segments = true;
          } else {
            gs_p = q;
            gs_segments = false;
          }
          gs_t = t;
          star_p = kNone;  // superseded: the globstar covers everything before
          p = gs_p;
          // Fast path for the most common shapes ("/usr/**", "**", "**/.env"): when
          // the rest of the pattern is literal, this is the last globstar and the rest
          // can only match as a suffix of the text, so decide without backtracking.
          size_t lit = literal_prefix(pat + p, plen - p);
          if (lit == plen - p) {
            return literal_tail_matches(pat + p, lit, text, tlen, t, sep, gs_segments, icase);
          }
          // Likewise "**/.env.*": a segment-form globstar followed by a separator-free
          // literal and one final `*` can only match within the text's last segment.
          if (gs_segments && lit + 1 == plen - p && pat[p + lit] == '*' &&
              memchr(pat + p, sep, lit) == nullptr) {
            return last_segment_matches(pat + p, lit, text, tlen, t, sep, icase);
          }
          continue;
        }
        star_p = q;
        star_t = t;
        p = q;
        continue;
      }
      if (t < tlen) {
        unsigned char tc = static_cast<unsigned char>(text[t]);
        if (pc == '?') {
          if (!(has_sep && tc == static_cast<unsigned char>(sep))) {
            ++p;
            ++t;
            continue;
          }
        } else if (pc == '[') {
          size_t end = class_end(pat, plen, p);
          if (end != 0) {
            if (!(has_sep && tc == static_cast<unsigned char>(sep)) &&
                class_match(pat, p, end, tc, icase)) {
              p = end;
              ++t;
              continue;
            }
          } else if (tc == '[') {  // unterminated: a literal '['
            ++p;
            ++t;
            continue;
          }
        } else if (pc == '\\') {
          // "\x" is a literal x; a trailing '\' is a literal backslash.
          unsigned char want = static_cast<unsigned char>(p + 1 < plen ? pat[p + 1] : '\\');
          if (char_eq(want, tc, icase)) {
            p += (p + 1 < plen) ? 2 : 1;
            ++t;
            continue;
          }
        } else if (char_eq(static_cast<unsigned char>(pc), tc, icase)) {
          ++p;
          ++t;
          continue;
        }
      }
    } else if (t == tlen) {
      return true;
    }

    // Mismatch (or pattern exhausted with text left): backtrack.
    if (star_p != kNone && star_t < tlen && !(has_sep && text[star_t] == sep)) {
      ++star_t;
      p = star_p;
      t = star_t;
      continue;
    }
    star_p = kNone;
    if (gs_p != kNone && gs_t < tlen) {
      if (gs_segments) {
        // Next candidate: just past the next separator at or after gs_t.
        size_t k = gs_t;
        while (k < tlen && text[k] != sep) ++k;
        if (k >= tlen) return false;
        gs_t = k + 1;
      } else {
        ++gs_t;
      }
      p = gs_p;
      t = gs_t;
      continue;
    }
    return false;
  }
}

size_t literal_prefix(const char* pat, size_t plen) noexcept {
  size_t i = 0;
  while (i < plen && !is_meta(pat[i])) ++i;
  return i;
}

const char* validate(std::string_view pat) noexcept {
  if (pat.empty()) return "empty pattern";
  const char* s = pat.data();
  size_t n = pat.size();
  for (size_t i = 0; i < n;) {
    if (s[i] == '\\') {
      if (i + 1 >= n) return "trailing backslash (escape a literal backslash as \\\\)";
      i += 2;
      continue;
    }
    if (s[i] == '[') {
      size_t end = class_end(s, n, i);
      if (end == 0) return "unterminated character class '[' (escape a literal '[' as \\[)";
      if (class_has_reversed_range(s, i, end)) {
        return "character range out of order in class (write [a-z], not [z-a])";
      }
      i = end;
      continue;
    }
    ++i;
  }
  return nullptr;
}

bool has_meta(std::string_view pat) noexcept {
  for (char c : pat) {
    if (is_meta(c)) return true;
  }
  return false;
}

}  // namespace agentsh::glob
