#include "proxy/dlp_json_redactor.h"

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
  while (p < n) {
    // Fast skip over plain bytes.
    const char* q = static_cast<const char*>(memchr(s.data() + p, '"', n - p));
    if (q == nullptr) return false;
    size_t stop = size_t(q - s.data());
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

// Decodes an escaped (already validated) string. With `src_b`/`src_e`, also records for
// every decoded byte the raw range it came from (only needed when there is a finding).
void decode(std::string_view s, const Span& sp, std::string* out, std::vector<size_t>* src_b,
            std::vector<size_t>* src_e) {
  size_t p = sp.begin;
  while (p < sp.end) {
    size_t start = p;
    size_t before = out->size();
    if (s[p] != '\\') {
      if (src_b == nullptr) {
        // Copy the whole run up to the next escape at once.
        const void* bs = memchr(s.data() + p, '\\', sp.end - p);
        size_t until = bs ? size_t(static_cast<const char*>(bs) - s.data()) : sp.end;
        out->append(s.data() + p, until - p);
        p = until;
        continue;
      }
      out->push_back(s[p]);
      ++p;
    } else {
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
          if (cp >= 0xD800 && cp <= 0xDBFF && p + 6 <= sp.end && s[p] == '\\' && s[p + 1] == 'u') {
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
    }
    if (src_b == nullptr) continue;
    for (size_t k = before; k < out->size(); ++k) {
      src_b->push_back(start);
      src_e->push_back(p);
    }
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
  std::vector<size_t> src_b, src_e;
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
    decode(json, sp, &decoded, nullptr, nullptr);
    std::string_view v(decoded);
    std::vector<DlpFinding> found = scanner.scan(v.substr(0, scannable_length(v)));
    if (found.empty()) continue;
    decoded.clear();
    src_b.clear();
    src_e.clear();
    decode(json, sp, &decoded, &src_b, &src_e);  // again, now with the offset maps
    for (DlpFinding& f : found) {
      size_t rb = src_b[f.offset], re = src_e[f.offset + f.length - 1];
      f.offset = rb;
      f.length = re - rb;
      r.findings.push_back(std::move(f));
    }
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
