#include "proxy/dlp_builtin_rules.h"

namespace agentsh::dlp_builtin_rules {

using proxy::DlpDigitShape;
using proxy::DlpRule;
using proxy::DlpValidator;

namespace {

struct Entry {
  const char* category;
  DlpRule rule;
};

// Why each pattern looks the way it does:
// * \b on both sides keeps tokens from matching inside longer identifiers.
// * Repeats are bounded so Hyperscan knows each rule's longest match; that bound sizes
//   the PCRE2 confirm window and the streaming redactor's carry-over.
// * Provider-specific keys come before generic ones: sk-ant-… is Anthropic, not OpenAI.
const std::vector<Entry>& table() {
  static const std::vector<Entry> kTable = {
      {"api_keys",
       {"private_key", "PRIVATE_KEY",
        // A whole PEM block, or — when the END line never comes (truncated output) —
        // the header and the base64/header lines that follow it. Literal "\n" is
        // accepted too: keys inside JSON strings and logs are often escaped.
        R"(-----BEGIN[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,4000}?-----END[A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----|(?:(?:\\r)?(?:\\n|\r?\n)[A-Za-z0-9+/=:, -]{1,100})*))",
        R"(-----BEGIN[A-Z0-9 ]*PRIVATE KEY)", 4096, DlpValidator::kNone, 0}},
      {"api_keys",
       {"aws_access_key", "AWS_KEY", R"(\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}\b)",
        R"(\b(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9])", 20, DlpValidator::kNone, 0}},
      {"api_keys",
       {"aws_secret_key", "AWS_SECRET",
        // Only in context: 40 base64 characters are everywhere (hashes, ids), so the
        // value must follow an AWS secret key name. Only the value is redacted.
        R"((?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key)["']?\s{0,4}[:=]>?\s{0,4}["']?([A-Za-z0-9/+]{40}))",
        R"((?i)(?:aws_?secret_?(?:access_?)?key|secret_?access_?key))", 128,
        DlpValidator::kNotFollowedByBase64, 1}},
      {"api_keys",
       {"github_token", "GITHUB_TOKEN", R"(\b(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{36,251}\b)",
        R"(\bgh[posur]_[A-Za-z0-9])", 256, DlpValidator::kNone, 0}},
      {"api_keys",
       {"github_fine_grained_token", "GITHUB_TOKEN", R"(\bgithub_pat_[A-Za-z0-9_]{50,240}\b)",
        R"(\bgithub_pat_[A-Za-z0-9_])", 256, DlpValidator::kNone, 0}},
      {"api_keys",
       {"anthropic_key", "ANTHROPIC_KEY", R"(\bsk-ant-[A-Za-z0-9_-]{20,300})",
        R"(\bsk-ant-[A-Za-z0-9_-])", 310, DlpValidator::kKeyLike, 0}},
      {"api_keys",
       {"openai_key", "OPENAI_KEY", R"(\bsk-[A-Za-z0-9_-]{20,300})", R"(\bsk-[A-Za-z0-9_-])", 305,
        DlpValidator::kKeyLike, 0}},
      {"api_keys",
       {"jwt", "JWT",
        R"(\beyJ[A-Za-z0-9_-]{8,600}\.eyJ[A-Za-z0-9_-]{8,2900}\.[A-Za-z0-9_-]{0,560})",
        R"(\beyJ[A-Za-z0-9_-]{8}[A-Za-z0-9_-]*\.eyJ)", 4070, DlpValidator::kNone, 0}},
      {"api_keys",
       {"slack_token", "SLACK_TOKEN", R"(\bxox[abeoprs]-[0-9]{6,16}-[0-9A-Za-z-]{8,240})",
        R"(\bxox[abeoprs]-[0-9])", 265, DlpValidator::kNone, 0}},
      {"api_keys",
       {"slack_webhook", "SLACK_WEBHOOK",
        R"(https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32})",
        R"(hooks\.slack\.com/services/T)", 100, DlpValidator::kNone, 0}},
      {"email",
       {"email", "EMAIL",
        R"(\b[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.){1,6}[A-Za-z]{2,24}\b)",
        R"([A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z0-9-])", 473, DlpValidator::kNone, 0}},
      {"credit_card",
       {"credit_card", "CREDIT_CARD",
        // Known brand prefixes only (Visa, Mastercard incl. 2-series, Amex, Diners,
        // JCB, Discover): a 13-digit millisecond timestamp passes Luhn one time in ten.
        R"(\b(?:4[0-9]{12}(?:[0-9]{3}){0,2}|5[1-5][0-9]{14}|2[2-7][0-9]{14}|3[47][0-9]{13}|3(?:0[0-5]|[689][0-9])[0-9]{11}|35[0-9]{14}|6(?:011|5[0-9]{2}|4[4-9][0-9])[0-9]{12,15})\b)",
        "", 19, DlpValidator::kCreditCard, 0, DlpDigitShape::kLongRun}},
      {"credit_card",
       {"credit_card_spaced", "CREDIT_CARD",
        R"(\b(?:[2-6][0-9]{3}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{4}(?:[ -][0-9]{3})?|3[47][0-9]{2}[ -][0-9]{6}[ -][0-9]{5})\b)",
        "", 23, DlpValidator::kCreditCard, 0, DlpDigitShape::kGroupPair}},
      {"ssn",
       {"ssn", "SSN", R"(\b[0-9]{3}-[0-9]{2}-[0-9]{4}\b)", "", 11, DlpValidator::kSsn, 0,
        DlpDigitShape::kSsnShape}},
      {"phone",
       {"phone_us", "PHONE",
        R"((?:\+?1[-. ])?(?:\([2-9][0-9]{2}\) ?|\b[2-9][0-9]{2}[-. ])[2-9][0-9]{2}[-. ][0-9]{4}\b)",
        "", 20, DlpValidator::kStandaloneNumber, 0, DlpDigitShape::kGroupPair}},
      {"phone",
       {"phone_intl", "PHONE", R"(\+[1-9][0-9]{0,2}(?:[-. ]?[0-9]{2,5}){2,4}\b)",
        R"(\+[1-9][0-9]{0,2}[-. ]?[0-9]{2})", 28, DlpValidator::kStandaloneNumber, 0}},
  };
  return kTable;
}

}  // namespace

const std::vector<std::string>& categories() {
  static const std::vector<std::string> kCategories = {"email", "phone", "credit_card", "ssn",
                                                       "api_keys"};
  return kCategories;
}

std::vector<DlpRule> rules(const std::map<std::string, bool>& flags) {
  std::vector<DlpRule> out;
  for (const Entry& e : table()) {
    auto it = flags.find(e.category);
    if (it != flags.end() && !it->second) continue;
    out.push_back(e.rule);
  }
  return out;
}

std::string category_of(const std::string& rule_name) {
  for (const Entry& e : table())
    if (e.rule.name == rule_name) return e.category;
  return "";
}

}  // namespace agentsh::dlp_builtin_rules
