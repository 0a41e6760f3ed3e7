// Policy loader: YAML (yaml-cpp) → validated Policy. yaml-cpp throws; every exception
// stops here and becomes a LoadError naming file, line, column and rule.
// Unknown keys are errors (a typo must not silently weaken a policy); reference
// sections that are parsed but not enforced yet produce one warning each.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "policy/policy_model.h"

namespace agentsh::policy {

struct Diagnostic {
  std::string file;
  int line = 0, column = 0;
  std::string rule;     // rule name, if the problem is inside a rule
  std::string message;  // what is wrong, and how to fix it when we know
  // "file:line:col: rule 'x': message"
  std::string format() const;
};

struct LoadResult {
  bool ok = false;
  Policy policy;
  std::vector<Diagnostic> errors;
  std::vector<Diagnostic> warnings;
};

// `origin` names the text in diagnostics (a path, or "<embedded>").
LoadResult load_policy_text(std::string_view yaml, const std::string& origin);
LoadResult load_policy_file(const std::string& path);

// True when the YAML document looks like a server config (top-level `server:`,
// `sessions:`, `policies:` …) rather than a policy.
bool looks_like_server_config(std::string_view yaml);

}  // namespace agentsh::policy
