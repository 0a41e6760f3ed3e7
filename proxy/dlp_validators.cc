#include "proxy/dlp_validators.h"

namespace agentsh::dlp_validators {

using proxy::DlpValidator;

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_alnum(char c) {
  return is_digit(c) || is_alpha(c);
}
bool is_base64(char c) {
  return is_alnum(c) || c == '+' || c == '/';
}

// A number that stands on its own: "call 415-555-2671." yes; "v1.415-555-2671",
// "id=9415-555-26711", "2024-415-555-2671" no. A leading '+' or '(' belongs to the match.
bool standalone(std::string_view t, size_t b, size_t e) {
  if (b > 0) {
    char p = t[b - 1];
    if (is_alnum(p) || p == '_') return false;
    if (t[b] != '+' && (p == '+' || p == '-' || p == '.' || p == '/')) {
      // "x-415…" or "1.415…" glue; a lone dash/dot after a space is punctuation.
      if (b >= 2 && (is_alnum(t[b - 2]) || t[b - 2] == '_')) return false;
      if (p == '+') return false;
    }
  }
  if (e < t.size()) {
    char n = t[e];
    if (is_alnum(n) || n == '_') return false;
    if ((n == '-' || n == '.' || n == '/') && e + 1 < t.size() && is_digit(t[e + 1])) return false;
  }
  return true;
}

int count_digits(std::string_view s) {
  int n = 0;
  for (char c : s) n += is_digit(c);
  return n;
}

int digits_to_int(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}

bool ssn_ok(std::string_view t, size_t b, size_t e) {
  if (!standalone(t, b, e)) return false;
  std::string_view m = t.substr(b, e - b);  // ddd-dd-dddd
  if (m.size() != 11) return false;
  int area = digits_to_int(m.substr(0, 3));
  int group = digits_to_int(m.substr(4, 2));
  int serial = digits_to_int(m.substr(7, 4));
  if (area == 0 || area == 666 || area >= 900) return false;
  return group != 0 && serial != 0;
}

bool card_ok(std::string_view t, size_t b, size_t e) {
  if (!standalone(t, b, e)) return false;
  std::string_view m = t.substr(b, e - b);
  char sep = 0;
  for (char c : m) {
    if (is_digit(c)) continue;
    if (sep == 0) sep = c;
    if (c != sep) return false;  // "4111 1111-1111 1111" is not how anyone writes a card
  }
  int n = count_digits(m);
  if (n < 13 || n > 19) return false;
  return luhn_ok(m);
}

bool key_like(std::string_view m) {
  // Skip the fixed prefix ("sk-", "sk-ant-"): look at the random part only.
  size_t dash = m.rfind('-', 12);
  std::string_view body = dash == std::string_view::npos ? m : m.substr(dash + 1);
  bool digit = false, alpha = false;
  for (char c : body) {
    digit |= is_digit(c);
    alpha |= is_alpha(c);
  }
  return digit && alpha;
}

}  // namespace

bool luhn_ok(std::string_view s) {
  int sum = 0, n = 0;
  for (size_t i = s.size(); i-- > 0;) {
    char c = s[i];
    if (!is_digit(c)) continue;
    int d = c - '0';
    if (n % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++n;
  }
  return n > 0 && sum % 10 == 0;
}

bool validate(DlpValidator v, std::string_view text, size_t begin, size_t end, size_t group_end) {
  switch (v) {
    case DlpValidator::kNone:
      return true;
    case DlpValidator::kStandaloneNumber: {
      int d = count_digits(text.substr(begin, end - begin));
      return d >= 8 && d <= 15 && standalone(text, begin, end);
    }
    case DlpValidator::kSsn:
      return ssn_ok(text, begin, end);
    case DlpValidator::kCreditCard:
      return card_ok(text, begin, end);
    case DlpValidator::kKeyLike:
      return key_like(text.substr(begin, end - begin));
    case DlpValidator::kNotFollowedByBase64:
      return group_end >= text.size() || !(is_base64(text[group_end]) || text[group_end] == '=');
  }
  return false;
}

}  // namespace agentsh::dlp_validators
