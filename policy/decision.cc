// Parsing of decision and file-operation names. Pure, allocation-free.
#include "policy/decision.h"

namespace agentsh::policy {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool parse_decision(std::string_view s, Decision* out) noexcept {
  for (int i = 0; i < kDecisionCount; ++i) {
    Decision d = static_cast<Decision>(i);
    if (iequals(s, decision_name(d))) {
      *out = d;
      return true;
    }
  }
  return false;
}

bool parse_file_op(std::string_view s, OpMask* out) noexcept {
  if (s == "*") {
    *out = kAllOps;
    return true;
  }
  // `debug policy-test --op file_read` names operations the way audit records do.
  constexpr std::string_view kPrefix = "file_";
  if (s.size() > kPrefix.size() && iequals(s.substr(0, kPrefix.size()), kPrefix)) {
    s.remove_prefix(kPrefix.size());
  }
  for (int i = 0; i < static_cast<int>(FileOp::kCount); ++i) {
    if (iequals(s, kFileOpNames[i])) {
      *out = op_bit(static_cast<FileOp>(i));
      return true;
    }
  }
  return false;
}

}  // namespace agentsh::policy
