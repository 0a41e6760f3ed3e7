#include "policy/duration.h"

#include <cmath>

namespace agentsh::duration {

namespace {

// Nanoseconds per unit; longest suffix first so "ms" is not read as "m" + "s".
struct Unit {
  std::string_view name;
  double ns;
};
constexpr Unit kUnits[] = {{"ns", 1.0}, {"us", 1e3}, {"\xC2\xB5s", 1e3}, {"\xCE\xBCs", 1e3},
                           {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},        {"h", 3600e9}};

}  // namespace

bool parse_ms(std::string_view text, int64_t* out_ms, std::string* error) {
  auto fail = [&](const std::string& why) {
    if (error != nullptr) *error = why;
    return false;
  };
  std::string_view s = text;
  if (s.empty()) return fail("empty duration; write e.g. \"5m\" or \"30s\"");
  if (s[0] == '-') return fail("negative duration '" + std::string(text) + "'");
  if (s[0] == '+') s.remove_prefix(1);
  if (s == "0") {
    *out_ms = 0;
    return true;
  }
  double total_ns = 0;
  while (!s.empty()) {
    size_t i = 0;
    double value = 0;
    bool digits = false;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      value = value * 10 + (s[i] - '0');
      digits = true;
      ++i;
    }
    if (i < s.size() && s[i] == '.') {
      ++i;
      double scale = 0.1;
      while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
        value += (s[i] - '0') * scale;
        scale /= 10;
        digits = true;
        ++i;
      }
    }
    if (!digits) return fail("invalid duration '" + std::string(text) + "'; write e.g. \"5m\"");
    s.remove_prefix(i);
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (s.substr(0, u.name.size()) == u.name) {
        // "m" must not swallow the "m" of "ms" — kUnits lists "ms" before "m".
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) {
      return fail("duration '" + std::string(text) +
                  "' needs a unit (ns, us, ms, s, m, h), e.g. \"5m\"");
    }
    s.remove_prefix(unit->name.size());
    total_ns += value * unit->ns;
    if (!std::isfinite(total_ns) || total_ns > 9.2e18) {
      return fail("duration '" + std::string(text) + "' is too large");
    }
  }
  *out_ms = static_cast<int64_t>(total_ns / 1e6);
  return true;
}

}  // namespace agentsh::duration
