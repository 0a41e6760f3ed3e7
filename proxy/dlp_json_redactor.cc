#include "proxy/dlp_json_redactor.h"

#include <algorithm>
#include <cstring>

namespace agentsh::dlp_json_redactor {

using proxy::DlpFinding;
using proxy::DlpScanner;

namespace {

// A string value's raw bytes, between the quotes.
struct Span {
  size_t begin, end;
  bool escaped;
};

bool is_ws(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
int hex_val(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Parses a string starting after its opening quote at `i`; leaves `i` after the
// closing quote. False on a bad escape, a raw control character, or no end.
bool parse_string(std::string_view s, size_t* i, Span* span) {
  size_t p = *i;
  span->begin = p;
  span->escaped = false;
  const size_t n = s.size();
  // The next '"' at or after p. Kept across escapes: searching again from every escape
  // would be quadratic in a long string with many "\n" (a 16 MB answer took a minute).
  size_t stop = 0;
  bool have_stop = false;
  while (p < n) {
    // Fast skip over plain bytes.
    if (!have_stop || stop < p) {
      const char* q = static_cast<const char*>(memchr(s.data() + p, '"', n - p));
      if (q == nullptr) return false;
      stop = size_t(q - s.data());
      have_stop = true;
    }
    const char* bs = static_cast<const char*>(memchr(s.data() + p, '\\', stop - p));
    size_t until = bs ? size_t(bs - s.data()) : stop;
    for (size_t k = p; k < until; ++k)
      if (static_cast<unsigned char>(s[k]) < 0x20) return false;
    if (bs == nullptr) {
      span->end = stop;
      *i = stop + 1;
      return true;
    }
    span->escaped = true;
    p = until + 1;
    if (p >= n) return false;
    char e = s[p];
    if (e == 'u') {
      if (p + 4 >= n) return false;
      for (int k = 1; k <= 4; ++k)
        if (hex_val(s[p + k]) < 0) return false;
      p += 5;
    } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' ||
               e == 't') {
      p += 1;
    } else {
      return false;
    }
  }
  return false;
}

bool parse_number(std::string_view s, size_t* i) {
  size_t p = *i, n = s.size();
  if (p < n && s[p] == '-') ++p;
  if (p >= n) return false;
  if (s[p] == '0') {
    ++p;
  } else if (s[p] >= '1' && s[p] <= '9') {
    while (p < n && is_digit(s[p])) ++p;
  } else {
    return false;
  }
  if (p < n && s[p] == '.') {
    ++p;
    if (p >= n || !is_digit(s[p])) return false;
    while (p < n && is_digit(s[p])) ++p;
  }
  if (p < n && (s[p] == 'e' || s[p] == 'E')) {
    ++p;
    if (p < n && (s[p] == '+' || s[p] == '-')) ++p;
    if (p >= n || !is_digit(s[p])) return false;
    while (p < n && is_digit(s[p])) ++p;
  }
  *i = p;
  return true;
}

// Walks one JSON document; collects string values (not keys) into `values`.
bool walk(std::string_view s, std::vector<Span>* values) {
  enum Ctx : char { kObj, kArr };
  std::string stack;  // Ctx per open container
  size_t i = 0, n = s.size();
  auto skip_ws = [&] {
    while (i < n && is_ws(s[i])) ++i;
  };
  // State: expecting a value (after '[' ',' ':' or at top), or what follows a value.
  bool want_value = true;
  bool first_in_container = false;  // right after '{' or '[' (allows '}' / ']')
  for (;;) {
    skip_ws();
    if (want_value) {
      if (i >= n) return false;
      char c = s[i];
      if (first_in_container && c == ']') {
        stack.pop_back();
        ++i;
        want_value = false;
        first_in_container = false;
        continue;
      }
      first_in_container = false;
      if (c == '{') {
        if (stack.size() >= kMaxDepth) return false;
        stack.push_back(kObj);
        ++i;
        // Expect a key or '}'.
        skip_ws();
        if (i < n && s[i] == '}') {
          stack.pop_back();
          ++i;
          want_value = false;
          continue;
        }
        if (i >= n || s[i] != '"') return false;
        ++i;
        Span key;
        if (!parse_string(s, &i, &key)) return false;
        skip_ws();
        if (i >= n || s[i] != ':') return false;
        ++i;
        want_value = true;
        continue;
      }
      if (c == '[') {
        if (stack.size() >= kMaxDepth) return false;
        stack.push_back(kArr);
        ++i;
        first_in_container = true;
        want_value = true;
        continue;
      }
      if (c == '"') {
        ++i;
        Span v;
        if (!parse_string(s, &i, &v)) return false;
        values->push_back(v);
      } else if (c == '-' || is_digit(c)) {
        if (!parse_number(s, &i)) return false;
      } else if (s.substr(i, 4) == "true" || s.substr(i, 4) == "null") {
        i += 4;
      } else if (s.substr(i, 5) == "false") {
        i += 5;
      } else {
        return false;
      }
      want_value = false;
      continue;
    }
    // After a value.
    if (stack.empty()) return i == n;
    if (i >= n) return false;
    char c = s[i];
    if (stack.back() == kArr) {
      if (c == ']') {
        stack.pop_back();
        ++i;
        continue;
      }
      if (c != ',') return false;
      ++i;
      want_value = true;
      continue;
    }
    if (c == '}') {
      stack.pop_back();
      ++i;
      continue;
    }
    if (c != ',') return false;
    ++i;
    skip_ws();
    if (i >= n || s[i] != '"') return false;
    ++i;
    Span key;
    if (!parse_string(s, &i, &key)) return false;
    skip_ws();
    if (i >= n || s[i] != ':') return false;
    ++i;
    want_value = true;
  }
}

void put_utf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(char(cp));
  } else if (cp < 0x800) {
    out->push_back(char(0xC0 | (cp >> 6)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(char(0xE0 | (cp >> 12)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(char(0xF0 | (cp >> 18)));
    out->push_back(char(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(char(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(char(0x80 | (cp & 0x3F)));
  }
}

uint32_t hex4(std::string_view s, size_t p) {
  return uint32_t(hex_val(s[p]) << 12 | hex_val(s[p + 1]) << 8 | hex_val(s[p + 2]) << 4 |
                  hex_val(s[p + 3]));
}

// Decodes the escape at s[p] (a backslash; already validated) onto `out`; returns the
// position after it.
size_t decode_escape(std::string_view s, size_t p, size_t end, std::string* out) {
  char e = s[p + 1];
  p += 2;
  switch (e) {
    case 'b':
      out->push_back('\b');
      break;
    case 'f':
      out->push_back('\f');
      break;
    case 'n':
      out->push_back('\n');
      break;
    case 'r':
      out->push_back('\r');
      break;
    case 't':
      out->push_back('\t');
      break;
    case 'u': {
      uint32_t cp = hex4(s, p);
      p += 4;
      if (cp >= 0xD800 && cp <= 0xDBFF && p + 6 <= end && s[p] == '\\' && s[p + 1] == 'u') {
        uint32_t lo = hex4(s, p + 2);
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          p += 6;
        }
      }
      if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;  // lone surrogate: scan as U+FFFD
      put_utf8(cp, out);
      break;
    }
    default:
      out->push_back(e);
      break;  // " \ /
  }
  return p;
}

// Decodes an escaped (already validated) string.
void decode(std::string_view s, const Span& sp, std::string* out) {
  size_t p = sp.begin;
  while (p < sp.end) {
    if (s[p] == '\\') {
      p = decode_escape(s, p, sp.end, out);
      continue;
    }
    // Copy the whole run up to the next escape at once.
    const void* bs = memchr(s.data() + p, '\\', sp.end - p);
    size_t until = bs ? size_t(static_cast<const char*>(bs) - s.data()) : sp.end;
    out->append(s.data() + p, until - p);
    p = until;
  }
}

// Rewrites the findings' offsets/lengths (in the decoded string) into the raw bytes
// they came from, escapes included, in one walk over the raw string: no per-byte offset
// table (a 16 MB answer would need 256 MB of it).
void map_to_raw(std::string_view s, const Span& sp, std::vector<DlpFinding>* found) {
  struct Point {
    size_t decoded;  // index of a finding's first (or last) decoded byte
    size_t finding;
    bool last;
  };
  std::vector<Point> pts;
  for (size_t i = 0; i < found->size(); ++i) {
    const DlpFinding& f = (*found)[i];
    pts.push_back({f.offset, i, false});
    pts.push_back({f.offset + f.length - 1, i, true});
  }
  std::sort(pts.begin(), pts.end(),
            [](const Point& a, const Point& b) { return a.decoded < b.decoded; });
  std::vector<size_t> rb(found->size(), sp.begin), re(found->size(), sp.begin);
  auto answer = [&](const Point& pt, size_t raw_begin, size_t raw_end) {
    if (pt.last)
      re[pt.finding] = raw_end;
    else
      rb[pt.finding] = raw_begin;
  };
  size_t qi = 0, d = 0, p = sp.begin;
  std::string unit;
  while (p < sp.end && qi < pts.size()) {
    if (s[p] == '\\') {
      unit.clear();
      size_t next = decode_escape(s, p, sp.end, &unit);
      for (; qi < pts.size() && pts[qi].decoded < d + unit.size(); ++qi) answer(pts[qi], p, next);
      d += unit.size();
      p = next;
      continue;
    }
    const void* bs = memchr(s.data() + p, '\\', sp.end - p);
    size_t until = bs ? size_t(static_cast<const char*>(bs) - s.data()) : sp.end;
    for (; qi < pts.size() && pts[qi].decoded < d + (until - p); ++qi) {
      size_t raw = p + (pts[qi].decoded - d);  // plain bytes map one to one
      answer(pts[qi], raw, raw + 1);
    }
    d += until - p;
    p = until;
  }
  for (size_t i = 0; i < found->size(); ++i) {
    (*found)[i].offset = rb[i];
    (*found)[i].length = re[i] - rb[i];
  }
}

void append_json_escaped(std::string_view text, std::string* out) {
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out->append("\\u00");
      out->push_back(kHex[(c >> 4) & 0xF]);
      out->push_back(kHex[c & 0xF]);
    } else {
      out->push_back(c);
    }
  }
}

// Length of the part of a decoded string worth scanning: a data URL's base64 payload
// is left out.
size_t scannable_length(std::string_view v) {
  if (v.substr(0, 5) != "data:") return v.size();
  size_t b64 = v.substr(0, 256).find(";base64,");
  return b64 == std::string_view::npos ? v.size() : b64 + 8;
}

}  // namespace

bool is_valid(std::string_view text) {
  std::vector<Span> values;
  return walk(text, &values);
}

Result redact(const DlpScanner& scanner, std::string_view json) {
  Result r;
  std::vector<Span> values;
  if (!walk(json, &values)) {
    r.valid_json = false;
    proxy::DlpRedaction plain = scanner.redact(json);
    r.text = std::move(plain.text);
    r.findings = std::move(plain.findings);
    return r;
  }
  if (!scanner.enabled()) {
    r.text.assign(json);
    return r;
  }
  std::string decoded;
  for (const Span& sp : values) {
    if (sp.end - sp.begin < scanner.min_match_length()) continue;
    ++r.strings_scanned;
    if (!sp.escaped) {
      std::string_view v = json.substr(sp.begin, sp.end - sp.begin);
      for (DlpFinding& f : scanner.scan(v.substr(0, scannable_length(v)))) {
        f.offset += sp.begin;
        r.findings.push_back(std::move(f));
      }
      continue;
    }
    decoded.clear();
    decode(json, sp, &decoded);
    std::string_view v(decoded);
    std::vector<DlpFinding> found = scanner.scan(v.substr(0, scannable_length(v)));
    if (found.empty()) continue;
    map_to_raw(json, sp, &found);
    for (DlpFinding& f : found) r.findings.push_back(std::move(f));
  }
  if (r.findings.empty()) {
    r.text.assign(json);
    return r;
  }
  r.text.reserve(json.size());
  size_t pos = 0;
  for (const DlpFinding& f : r.findings) {
    r.text.append(json.substr(pos, f.offset - pos));
    append_json_escaped(DlpScanner::placeholder(f.display), &r.text);
    pos = f.offset + f.length;
  }
  r.text.append(json.substr(pos));
  return r;
}

}  // namespace agentsh::dlp_json_redactor
