// The built-in DLP detectors, grouped by the config's dlp.patterns flags:
//   api_keys    aws_access_key, aws_secret_key, github_token, github_fine_grained_token,
//               anthropic_key, openai_key, jwt, private_key, slack_token, slack_webhook
//   email       email
//   phone       phone_us, phone_intl
//   credit_card credit_card, credit_card_spaced
//   ssn         ssn
// Regexes stay inside the syntax Hyperscan compiles exactly (no lookaround, no
// backreferences, bounded repeats) so candidates come from one Hyperscan pass and a
// PCRE2 confirm runs only over small windows; what a regex cannot say cheaply lives in
// a validator (proxy/dlp_validators.h).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "proxy/dlp_rule.h"

namespace agentsh::dlp_builtin_rules {

// The config flag names, in a stable order.
const std::vector<std::string>& categories();

// The rules of every category whose flag is on. A category missing from `flags` is ON:
// a config that forgets to mention a detector must not silently lose it.
// Order is priority: when two rules match the same span, the earlier one names it.
std::vector<proxy::DlpRule> rules(const std::map<std::string, bool>& flags);

// The category of a built-in rule name ("" if not built in).
std::string category_of(const std::string& rule_name);

}  // namespace agentsh::dlp_builtin_rules
