// Policy loader: YAML → validated Policy. See loader.h for the contract.
//
// yaml-cpp throws (parse errors, bad conversions); every exception is caught in this file
// and turned into a Diagnostic. Validation keeps going after an error so one run shows
// every problem in the file, but a LoadResult with errors is never `ok`.
#include "policy/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "policy/cidr.h"
#include "policy/duration.h"
#include "policy/engine.h"
#include "policy/glob.h"
#include "policy/regex.h"

namespace agentsh::policy {

std::string Diagnostic::format() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  out += ": ";
  if (!rule.empty()) out += "rule '" + rule + "': ";
  out += message;
  return out;
}

namespace {

using YAML::Node;

// Top-level sections of the reference schema that we parse (structure only) but do not
// enforce yet. Each present section produces exactly one warning.
constexpr std::string_view kUnenforcedSections[] = {
    "unix_socket_rules",   "registry_rules",   "package_rules",      "http_services",
    "providers",           "db_services",      "database_rules",     "database_connection_rules",
    "mcp_rules",           "process_contexts", "process_identities", "env_inject",
    "transparent_commands"};

// Keys that mark a server configuration (config.yaml) rather than a policy.
constexpr std::string_view kServerConfigKeys[] = {
    "server",   "auth",      "logging", "sessions", "sandbox",     "proxy", "dlp",
    "policies", "approvals", "metrics", "health",   "development", "llm",   "storage"};

constexpr std::string_view kPolicyOnlyKeys[] = {
    "version",      "name",       "file_rules",    "network_rules",     "command_rules",
    "signal_rules", "env_policy", "dns_redirects", "connect_redirects", "resource_limits"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Levenshtein distance, for "did you mean" hints on misspelt keys.
size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

std::string join_keys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += ", ";
    out += keys[i];
  }
  return out;
}

// Collects diagnostics for one document.
class Ctx {
 public:
  Ctx(std::string file, LoadResult* r) : file_(std::move(file)), r_(r) {}

  const std::string& file() const { return file_; }

  SourcePos pos(const Node& n) const {
    SourcePos p;
    p.file = file_;
    if (n.IsDefined() && !n.Mark().is_null()) {
      p.line = n.Mark().line + 1;
      p.column = n.Mark().column + 1;
    }
    return p;
  }

  void error(const Node& at, const std::string& rule, std::string msg) {
    r_->errors.push_back(make(at, rule, std::move(msg)));
  }
  void error_at(const SourcePos& p, const std::string& rule, std::string msg) {
    r_->errors.push_back(Diagnostic{p.file, p.line, p.column, rule, std::move(msg)});
  }
  void warn(const Node& at, const std::string& rule, std::string msg) {
    r_->warnings.push_back(make(at, rule, std::move(msg)));
  }

 private:
  Diagnostic make(const Node& at, const std::string& rule, std::string msg) const {
    SourcePos p = pos(at);
    return Diagnostic{p.file, p.line, p.column, rule, std::move(msg)};
  }
  std::string file_;
  LoadResult* r_;
};

// One entry of a mapping: its key (with position) and value. The value of `key:` with
// nothing after it is a null node whose mark is unreliable, so errors about values use
// `at()`, which falls back to the key's position.
struct Entry {
  std::string key;
  Node key_node;
  Node value;
  const Node& at() const {
    return (value.IsDefined() && !value.IsNull() && !value.Mark().is_null()) ? value : key_node;
  }
};

// Reads the entries of a mapping, reporting non-scalar keys, duplicate keys (yaml-cpp
// keeps both; the second would silently shadow or be shadowed) and keys not in `allowed`.
// Unknown keys are errors: a misspelt key must never silently weaken a policy.
std::vector<Entry> entries(Ctx& c, const Node& map, const std::string& rule, std::string_view where,
                           const std::vector<std::string_view>& allowed) {
  std::vector<Entry> out;
  std::set<std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    Node k = it->first;
    if (!k.IsScalar()) {
      c.error(k, rule, std::string(where) + ": keys must be plain strings");
      continue;
    }
    std::string key = k.Scalar();
    if (!seen.insert(key).second) {
      c.error(k, rule, std::string(where) + ": duplicate key '" + key + "'");
      continue;
    }
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string msg = std::string(where) + ": unknown key '" + key + "'";
      std::string_view best;
      size_t best_d = 3;
      for (std::string_view a : allowed) {
        size_t d = edit_distance(lower(key), a);
        if (d < best_d) {
          best_d = d;
          best = a;
        }
      }
      if (!best.empty()) {
        msg += " (did you mean '" + std::string(best) + "'?)";
      } else {
        msg += "; valid keys: " + join_keys(allowed);
      }
      c.error(k, rule, msg);
      continue;
    }
    Node v = it->second;
    out.push_back(Entry{key, k, v});
  }
  return out;
}

bool get_string(Ctx& c, const Entry& e, const std::string& rule, std::string* out,
                bool allow_empty = true) {
  if (e.value.IsNull() || !e.value.IsDefined()) {
    if (allow_empty) {
      out->clear();
      return true;
    }
    c.error(e.at(), rule, "'" + e.key + "' is empty; it needs a value");
    return false;
  }
  if (!e.value.IsScalar()) {
    c.error(
        e.at(), rule,
        "'" + e.key + "' must be a string, not a " + (e.value.IsSequence() ? "list" : "mapping"));
    return false;
  }
  *out = e.value.Scalar();
  if (!allow_empty && out->empty()) {
    c.error(e.at(), rule, "'" + e.key + "' is empty; it needs a value");
    return false;
  }
  return true;
}

bool get_bool(Ctx& c, const Entry& e, const std::string& rule, bool* out) {
  if (!e.value.IsScalar()) {
    c.error(e.at(), rule, "'" + e.key + "' must be true or false");
    return false;
  }
  try {
    *out = e.value.as<bool>();
    return true;
  } catch (const YAML::Exception&) {
    c.error(e.at(), rule, "'" + e.key + "' must be true or false, not '" + e.value.Scalar() + "'");
    return false;
  }
}

bool get_int(Ctx& c, const Entry& e, const std::string& rule, int64_t* out, int64_t min,
             int64_t max) {
  if (!e.value.IsScalar()) {
    c.error(e.at(), rule, "'" + e.key + "' must be a whole number");
    return false;
  }
  int64_t v = 0;
  try {
    v = e.value.as<int64_t>();
  } catch (const YAML::Exception&) {
    c.error(e.at(), rule, "'" + e.key + "' must be a whole number, not '" + e.value.Scalar() + "'");
    return false;
  }
  if (v < min || v > max) {
    c.error(e.at(), rule,
            "'" + e.key + "' must be between " + std::to_string(min) + " and " +
                std::to_string(max) + ", not " + std::to_string(v));
    return false;
  }
  *out = v;
  return true;
}

bool get_duration(Ctx& c, const Entry& e, const std::string& rule, int64_t* out_ms) {
  if (!e.value.IsScalar()) {
    c.error(e.at(), rule, "'" + e.key + "' must be a duration such as \"5m\"");
    return false;
  }
  std::string err;
  if (!duration::parse_ms(e.value.Scalar(), out_ms, &err)) {
    c.error(e.at(), rule, "'" + e.key + "': " + err);
    return false;
  }
  return true;
}

// A list of strings. Each element is handed to `each` with its node (for positions).
bool get_string_list(Ctx& c, const Entry& e, const std::string& rule, std::vector<std::string>* out,
                     const std::function<void(const std::string&, const Node&)>& each = {}) {
  if (e.value.IsNull()) {
    out->clear();
    return true;
  }
  if (!e.value.IsSequence()) {
    c.error(e.at(), rule, "'" + e.key + "' must be a list (e.g. [a, b] or one '- item' per line)");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < e.value.size(); ++i) {
    Node item = e.value[i];
    if (!item.IsScalar()) {
      c.error(item.IsNull() ? e.at() : item, rule,
              e.key + "[" + std::to_string(i) + "] must be a string");
      ok = false;
      continue;
    }
    out->push_back(item.Scalar());
    if (each) each(item.Scalar(), item);
  }
  return ok;
}

bool parse_decision_text(std::string_view s, Decision* out) {
  std::string l = lower(s);
  for (int i = 0; i < kDecisionCount; ++i) {
    Decision d = static_cast<Decision>(i);
    if (l == decision_name(d)) {
      *out = d;
      return true;
    }
  }
  return false;
}

bool get_decision(Ctx& c, const Entry& e, const std::string& rule, Decision* out) {
  std::string s;
  if (!get_string(c, e, rule, &s, false)) return false;
  if (!parse_decision_text(s, out)) {
    std::string msg = "unknown decision '" + s +
                      "'; use one of allow, deny, approve, audit, redirect, soft_delete";
    if (lower(s) == "absorb") msg += " ('absorb' is not supported; use deny)";
    c.error(e.at(), rule, msg);
    return false;
  }
  return true;
}

// Checks the ${VAR} / ${VAR:-default} syntax and the {a,b} braces of a pattern, then
// validates every brace expansion as a glob (with variables replaced by a stand-in).
// Returns "" when fine, else what is wrong.
std::string check_pattern(std::string_view pat, bool is_glob) {
  std::string sub, err;
  if (!check_vars(pat, "x", &sub, &err)) return err;
  if (!is_glob) return "";
  int depth = 0;
  for (size_t i = 0; i < sub.size(); ++i) {
    if (sub[i] == '\\') {
      ++i;
      continue;
    }
    if (sub[i] == '{') ++depth;
    if (sub[i] == '}' && --depth < 0) return "unbalanced '}'";
  }
  if (depth != 0) return "unbalanced '{'";
  for (const std::string& g : expand_braces(sub)) {
    if (const char* why = glob::validate(g)) return why;
  }
  return "";
}

std::string rule_label(const Node& n, std::string_view section, size_t idx) {
  if (n.IsMap()) {
    Node name = n["name"];
    if (name.IsDefined() && name.IsScalar() && !name.Scalar().empty()) return name.Scalar();
  }
  return std::string(section) + "[" + std::to_string(idx) + "]";
}

// Shared frame for the `*_rules` sections: a list of mappings, each with a unique
// required `name`. `parse_one` gets the rule's label and fills the model.
void for_each_rule(Ctx& c, const Entry& section,
                   const std::function<void(const Node&, const std::string& rule)>& parse_one) {
  if (section.value.IsNull()) return;
  if (!section.value.IsSequence()) {
    c.error(section.at(), "", "'" + section.key + "' must be a list of rules");
    return;
  }
  std::set<std::string> names;
  for (size_t i = 0; i < section.value.size(); ++i) {
    Node n = section.value[i];
    std::string label = rule_label(n, section.key, i);
    if (!n.IsMap()) {
      c.error(n.IsNull() ? section.key_node : n, label,
              section.key + "[" + std::to_string(i) + "] must be a mapping with name, ...");
      continue;
    }
    Node name = n["name"];
    if (!name.IsDefined() || name.IsNull() || (name.IsScalar() && name.Scalar().empty())) {
      c.error(n, label, "missing required key 'name' (every rule needs a unique name)");
    } else if (name.IsScalar() && !names.insert(name.Scalar()).second) {
      c.error(name, label,
              "duplicate rule name '" + name.Scalar() + "' in " + section.key +
                  " (rule names must be unique)");
    }
    parse_one(n, label);
  }
}

void require_key(Ctx& c, const Node& rule_node, const std::string& rule, bool present,
                 std::string_view key, std::string_view hint) {
  if (!present) {
    c.error(rule_node, rule,
            "missing required key '" + std::string(key) + "'" +
                (hint.empty() ? "" : "; " + std::string(hint)));
  }
}

// ---- sections ----------------------------------------------------------------------

void parse_env_policy(Ctx& c, const Entry& sec, EnvPolicy* env) {
  env->present = true;
  if (sec.value.IsNull()) return;
  if (!sec.value.IsMap()) {
    c.error(sec.at(), "", "'env_policy' must be a mapping (allow, deny, max_bytes, ...)");
    return;
  }
  auto check_globs = [&](const std::string& p, const Node& n) {
    if (const char* why = glob::validate(p)) {
      c.error(n, "", "env_policy: bad glob '" + p + "': " + why);
    }
  };
  for (const Entry& e : entries(c, sec.value, "", "env_policy",
                                {"allow", "deny", "max_bytes", "max_keys", "block_iteration"})) {
    if (e.key == "allow") {
      get_string_list(c, e, "", &env->allow, check_globs);
    } else if (e.key == "deny") {
      get_string_list(c, e, "", &env->deny, check_globs);
    } else if (e.key == "max_bytes") {
      int64_t v = 0;
      if (get_int(c, e, "", &v, 0, INT64_MAX)) env->max_bytes = static_cast<uint64_t>(v);
    } else if (e.key == "max_keys") {
      int64_t v = 0;
      if (get_int(c, e, "", &v, 0, UINT32_MAX)) env->max_keys = static_cast<uint32_t>(v);
    } else if (e.key == "block_iteration") {
      get_bool(c, e, "", &env->block_iteration);
    }
  }
}

bool parse_op(std::string_view s, OpMask* out) {
  std::string l = lower(s);
  if (l == "*") {
    *out = kAllOps;
    return true;
  }
  for (int i = 0; i < static_cast<int>(FileOp::kCount); ++i) {
    if (l == kFileOpNames[i]) {
      *out = op_bit(static_cast<FileOp>(i));
      return true;
    }
  }
  return false;
}

void parse_file_rules(Ctx& c, const Entry& sec, std::vector<FileRule>* out) {
  for_each_rule(c, sec, [&](const Node& n, const std::string& rule) {
    FileRule r;
    r.pos = c.pos(n);
    bool has_paths = false, has_ops = false, has_decision = false;
    Node redirect_node;
    for (const Entry& e : entries(c, n, rule, "file rule",
                                  {"name", "description", "paths", "operations", "decision",
                                   "message", "redirect_to", "preserve_tree", "timeout"})) {
      if (e.key == "name") {
        get_string(c, e, rule, &r.name, false);
      } else if (e.key == "description") {
        get_string(c, e, rule, &r.description);
      } else if (e.key == "message") {
        get_string(c, e, rule, &r.message);
      } else if (e.key == "paths") {
        has_paths = true;
        get_string_list(c, e, rule, &r.paths, [&](const std::string& p, const Node& pn) {
          std::string why = check_pattern(p, true);
          if (!why.empty()) {
            c.error(pn, rule, "bad glob '" + p + "': " + why);
          } else if (!p.empty() && p[0] != '/' && p[0] != '*' && p[0] != '$' && p[0] != '{') {
            c.warn(pn, rule,
                   "path '" + p +
                       "' is relative and will never match (paths are absolute; use "
                       "${HOME}/... instead of ~/...)");
          }
        });
        if (r.paths.empty() && e.value.IsSequence()) {
          c.error(e.at(), rule, "'paths' is empty; the rule would never match");
        }
      } else if (e.key == "operations") {
        has_ops = true;
        if (e.value.IsSequence() && e.value.size() == 0) {
          c.error(e.at(), rule, "'operations' is empty; the rule would never match");
        }
        std::vector<std::string> ops;
        get_string_list(c, e, rule, &ops, [&](const std::string& op, const Node& on) {
          OpMask bit = 0;
          if (!parse_op(op, &bit)) {
            std::string valid;
            for (std::string_view name : kFileOpNames) valid += std::string(name) + " ";
            c.error(on, rule, "unknown operation '" + op + "'; use one of " + valid + "or *");
          } else {
            r.ops |= bit;
          }
        });
      } else if (e.key == "decision") {
        has_decision = true;
        get_decision(c, e, rule, &r.decision);
      } else if (e.key == "redirect_to") {
        redirect_node = e.at();
        if (get_string(c, e, rule, &r.redirect_to)) {
          std::string why = check_pattern(r.redirect_to, false);
          if (!why.empty()) c.error(e.at(), rule, "bad redirect_to: " + why);
        }
      } else if (e.key == "preserve_tree") {
        get_bool(c, e, rule, &r.preserve_tree);
      } else if (e.key == "timeout") {
        get_duration(c, e, rule, &r.timeout_ms);
      }
    }
    require_key(c, n, rule, has_paths, "paths", "list the globs this rule covers");
    require_key(c, n, rule, has_ops, "operations", "e.g. [read, write] or [\"*\"]");
    require_key(c, n, rule, has_decision, "decision", "allow, deny, approve, ...");
    if (has_decision && r.decision == Decision::kRedirect && r.redirect_to.empty()) {
      c.error(n, rule, "decision 'redirect' needs 'redirect_to' (the directory to redirect to)");
    }
    if (!r.redirect_to.empty() && r.decision != Decision::kRedirect) {
      c.warn(redirect_node, rule, "'redirect_to' is ignored unless decision is 'redirect'");
    }
    out->push_back(std::move(r));
  });
}

bool parse_port_item(const std::string& s, std::pair<uint16_t, uint16_t>* out, std::string* why) {
  auto num = [](std::string_view t, long* v) {
    if (t.empty() || t.size() > 6) return false;
    long n = 0;
    for (char ch : t) {
      if (ch < '0' || ch > '9') return false;
      n = n * 10 + (ch - '0');
    }
    *v = n;
    return true;
  };
  long lo = 0, hi = 0;
  size_t dash = s.find('-');
  if (dash == std::string::npos) {
    if (!num(s, &lo)) {
      *why = "not a port number or range";
      return false;
    }
    hi = lo;
  } else if (!num(std::string_view(s).substr(0, dash), &lo) ||
             !num(std::string_view(s).substr(dash + 1), &hi)) {
    *why = "not a port range (write e.g. \"8000-8100\")";
    return false;
  }
  if (lo < 1 || hi > 65535 || lo > 65535 || hi < 1) {
    *why = "ports are 1-65535";
    return false;
  }
  if (lo > hi) {
    *why = "range start is above its end";
    return false;
  }
  *out = {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
  return true;
}

void parse_network_rules(Ctx& c, const Entry& sec, std::vector<NetworkRule>* out) {
  for_each_rule(c, sec, [&](const Node& n, const std::string& rule) {
    NetworkRule r;
    r.pos = c.pos(n);
    bool has_decision = false;
    for (const Entry& e : entries(c, n, rule, "network rule",
                                  {"name", "description", "domains", "cidrs", "ports", "decision",
                                   "message", "timeout"})) {
      if (e.key == "name") {
        get_string(c, e, rule, &r.name, false);
      } else if (e.key == "description") {
        get_string(c, e, rule, &r.description);
      } else if (e.key == "message") {
        get_string(c, e, rule, &r.message);
      } else if (e.key == "domains") {
        get_string_list(c, e, rule, &r.domains, [&](const std::string& d, const Node& dn) {
          std::string why = check_pattern(d, true);
          if (!why.empty()) c.error(dn, rule, "bad domain glob '" + d + "': " + why);
        });
      } else if (e.key == "cidrs") {
        get_string_list(c, e, rule, &r.cidrs, [&](const std::string& s, const Node& cn) {
          if (s.find("${") != std::string::npos) {
            std::string why = check_pattern(s, false);
            if (!why.empty()) c.error(cn, rule, "bad cidr '" + s + "': " + why);
            return;  // checked again after variable expansion, at compile time
          }
          cidr::Cidr parsed;
          if (!cidr::parse_cidr(s.data(), s.size(), &parsed)) {
            c.error(cn, rule,
                    "bad cidr '" + s + "' (write e.g. 10.0.0.0/8, 192.168.1.1 or ::1/128)");
          }
        });
      } else if (e.key == "ports") {
        if (!e.value.IsSequence()) {
          c.error(e.at(), rule, "'ports' must be a list, e.g. [443, \"8000-8100\"]");
          continue;
        }
        for (size_t i = 0; i < e.value.size(); ++i) {
          Node item = e.value[i];
          std::pair<uint16_t, uint16_t> range;
          std::string why;
          if (!item.IsScalar()) {
            c.error(item.IsNull() ? e.at() : item, rule,
                    "ports[" + std::to_string(i) + "] must be a number or range");
          } else if (!parse_port_item(item.Scalar(), &range, &why)) {
            c.error(item, rule, "bad port '" + item.Scalar() + "': " + why);
          } else {
            r.ports.push_back(range);
          }
        }
      } else if (e.key == "decision") {
        has_decision = true;
        if (get_decision(c, e, rule, &r.decision)) {
          if (r.decision == Decision::kRedirect) {
            c.error(e.at(), rule,
                    "network rules cannot redirect (no redirect_to); use connect_redirects "
                    "or dns_redirects");
          } else if (r.decision == Decision::kSoftDelete) {
            c.error(e.at(), rule, "soft_delete applies to file rules only");
          }
        }
      } else if (e.key == "timeout") {
        get_duration(c, e, rule, &r.timeout_ms);
      }
    }
    require_key(c, n, rule, has_decision, "decision", "allow, deny, approve, ...");
    out->push_back(std::move(r));
  });
}

void parse_command_redirect(Ctx& c, const Entry& e, const std::string& rule, CommandRedirect* out) {
  if (e.value.IsScalar()) {
    // Shorthand accepted for convenience: `redirect_to: some-command`.
    out->command = e.value.Scalar();
    return;
  }
  if (!e.value.IsMap()) {
    c.error(e.at(), rule, "'redirect_to' must be a mapping {command, args}");
    return;
  }
  bool has_command = false;
  for (const Entry& r : entries(c, e.value, rule, "redirect_to",
                                {"command", "args", "args_append", "environment"})) {
    if (r.key == "command") {
      has_command = get_string(c, r, rule, &out->command, false);
    } else if (r.key == "args") {
      get_string_list(c, r, rule, &out->args);
    } else if (r.key == "args_append") {
      get_string_list(c, r, rule, &out->args_append);
    } else if (r.key == "environment") {
      if (!r.value.IsMap()) {
        c.error(r.at(), rule, "'environment' must be a mapping NAME: value");
        continue;
      }
      for (auto it = r.value.begin(); it != r.value.end(); ++it) {
        if (!it->first.IsScalar() || !it->second.IsScalar()) {
          c.error(it->first, rule, "'environment' entries must be NAME: value strings");
          continue;
        }
        out->environment[it->first.Scalar()] = it->second.Scalar();
      }
    }
  }
  if (!has_command) c.error(e.at(), rule, "'redirect_to' needs 'command'");
}

void parse_command_rules(Ctx& c, const Entry& sec, std::vector<CommandRule>* out) {
  for_each_rule(c, sec, [&](const Node& n, const std::string& rule) {
    CommandRule r;
    r.pos = c.pos(n);
    bool has_decision = false, has_commands = false;
    Node redirect_node;
    for (const Entry& e :
         entries(c, n, rule, "command rule",
                 {"name", "description", "commands", "args_patterns", "decision", "message",
                  "redirect_to", "context", "timeout", "env_allow", "env_deny", "env_max_bytes",
                  "env_max_keys", "env_block_iteration"})) {
      if (e.key == "name") {
        get_string(c, e, rule, &r.name, false);
      } else if (e.key == "description") {
        get_string(c, e, rule, &r.description);
      } else if (e.key == "message") {
        get_string(c, e, rule, &r.message);
      } else if (e.key == "commands") {
        has_commands = true;
        // A command that is not a well-formed glob is a literal name (the reference
        // default lists "[" itself), so only the variable syntax can be wrong here.
        get_string_list(c, e, rule, &r.commands, [&](const std::string& s, const Node& cn) {
          if (s.empty()) {
            c.error(cn, rule, "empty command name");
            return;
          }
          std::string why = check_pattern(s, false);
          if (!why.empty()) c.error(cn, rule, "bad command '" + s + "': " + why);
        });
      } else if (e.key == "args_patterns") {
        get_string_list(c, e, rule, &r.args_patterns, [&](const std::string& s, const Node& pn) {
          std::string err;
          if (!Regex::compile(s, false, &err)) {
            c.error(pn, rule, "bad regex '" + s + "' in args_patterns: " + err);
          }
        });
      } else if (e.key == "decision") {
        has_decision = true;
        if (get_decision(c, e, rule, &r.decision) && r.decision == Decision::kSoftDelete) {
          c.error(e.at(), rule, "soft_delete applies to file rules only");
        }
      } else if (e.key == "redirect_to") {
        redirect_node = e.at();
        CommandRedirect cr;
        parse_command_redirect(c, e, rule, &cr);
        r.redirect_to = std::move(cr);
      } else if (e.key == "context") {
        get_string_list(c, e, rule, &r.context, [&](const std::string& s, const Node& xn) {
          if (s != "direct" && s != "nested") {
            c.error(xn, rule, "unknown context '" + s + "'; use direct or nested");
          }
        });
      } else if (e.key == "timeout") {
        get_duration(c, e, rule, &r.timeout_ms);
      } else {
        // env_* overrides: accepted by the reference, not implemented here. Ignoring them
        // would silently widen what the command sees, so refuse.
        c.error(e.key_node, rule,
                "'" + e.key +
                    "' (per-command env policy) is not supported yet; move the patterns to "
                    "the top-level env_policy");
      }
    }
    require_key(c, n, rule, has_decision, "decision", "allow, deny, approve, ...");
    // The reference treats a rule without commands as matching every command; a
    // forgotten list must not silently become an allow-all, so say it explicitly.
    if (!has_commands || (r.commands.empty() && !n["commands"].IsSequence())) {
      c.error(n, rule, "missing required key 'commands' (write [\"*\"] for every command)");
    } else if (r.commands.empty()) {
      c.error(n["commands"], rule, "'commands' is empty; write [\"*\"] for every command");
    }
    if (has_decision && r.decision == Decision::kRedirect &&
        (!r.redirect_to || r.redirect_to->command.empty())) {
      c.error(n, rule, "decision 'redirect' needs 'redirect_to: {command: ..., args: [...]}'");
    }
    if (r.redirect_to && r.decision != Decision::kRedirect) {
      c.warn(redirect_node, rule, "'redirect_to' is ignored unless decision is 'redirect'");
    }
    out->push_back(std::move(r));
  });
}

constexpr std::string_view kSignalTargets[] = {"self",    "children", "descendants", "siblings",
                                               "session", "parent",   "external",    "system",
                                               "user",    "process",  "pid_range"};
constexpr std::string_view kSignalGroups[] = {"@all", "@fatal", "@job", "@reload", "@ignore"};
constexpr std::string_view kSignalNames[] = {
    "HUP",  "INT",  "QUIT", "ILL",  "TRAP",   "ABRT",   "IOT",   "BUS",  "FPE",  "KILL", "USR1",
    "SEGV", "USR2", "PIPE", "ALRM", "TERM",   "STKFLT", "CHLD",  "CONT", "STOP", "TSTP", "TTIN",
    "TTOU", "URG",  "XCPU", "XFSZ", "VTALRM", "PROF",   "WINCH", "IO",   "POLL", "PWR",  "SYS"};

bool valid_signal(std::string_view s) {
  if (s.empty()) return false;
  if (s[0] == '@') {
    return std::find(std::begin(kSignalGroups), std::end(kSignalGroups), s) !=
           std::end(kSignalGroups);
  }
  if (std::all_of(s.begin(), s.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return s.size() <= 2 && std::stoi(std::string(s)) >= 1 && std::stoi(std::string(s)) <= 64;
  }
  std::string u;
  for (char ch : s) u += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  std::string_view v = u;
  if (v.substr(0, 3) == "SIG") v.remove_prefix(3);
  if (v.substr(0, 5) == "RTMIN" || v.substr(0, 5) == "RTMAX") return true;
  return std::find(std::begin(kSignalNames), std::end(kSignalNames), v) != std::end(kSignalNames);
}

void parse_signal_rules(Ctx& c, const Entry& sec, std::vector<SignalRule>* out) {
  for_each_rule(c, sec, [&](const Node& n, const std::string& rule) {
    SignalRule r;
    r.pos = c.pos(n);
    bool has_decision = false, has_signals = false;
    for (const Entry& e : entries(c, n, rule, "signal rule",
                                  {"name", "description", "signals", "target", "decision",
                                   "fallback", "redirect_to", "message", "timeout"})) {
      if (e.key == "name") {
        get_string(c, e, rule, &r.name, false);
      } else if (e.key == "description") {
        get_string(c, e, rule, &r.description);
      } else if (e.key == "message") {
        get_string(c, e, rule, &r.message);
      } else if (e.key == "signals") {
        has_signals = true;
        get_string_list(c, e, rule, &r.signals, [&](const std::string& s, const Node& sn) {
          if (!valid_signal(s)) {
            c.error(sn, rule,
                    "unknown signal '" + s +
                        "'; use a name (SIGTERM), a number (15) or a group (@all, @fatal, "
                        "@job, @reload, @ignore)");
          }
        });
      } else if (e.key == "target") {
        if (e.value.IsScalar()) {
          r.target = e.value.Scalar();  // shorthand: `target: children`
        } else if (!e.value.IsMap()) {
          c.error(e.at(), rule, "'target' must be a mapping {type: ...}");
          continue;
        } else {
          for (const Entry& t :
               entries(c, e.value, rule, "signal target", {"type", "pattern", "min", "max"})) {
            if (t.key == "type") {
              get_string(c, t, rule, &r.target, false);
            } else if (t.key == "pattern") {
              get_string(c, t, rule, &r.target_pattern);
            } else if (t.key == "min") {
              get_int(c, t, rule, &r.target_min, 0, INT32_MAX);
            } else if (t.key == "max") {
              get_int(c, t, rule, &r.target_max, 0, INT32_MAX);
            }
          }
        }
        if (!r.target.empty() && std::find(std::begin(kSignalTargets), std::end(kSignalTargets),
                                           r.target) == std::end(kSignalTargets)) {
          c.error(e.at(), rule,
                  "unknown signal target type '" + r.target +
                      "'; use self, children, descendants, siblings, session, parent, "
                      "external, system, user, process or pid_range");
        }
      } else if (e.key == "decision") {
        has_decision = true;
        if (get_decision(c, e, rule, &r.decision) && r.decision == Decision::kSoftDelete) {
          c.error(e.at(), rule, "soft_delete applies to file rules only");
        }
      } else if (e.key == "fallback") {
        Decision d;
        if (get_decision(c, e, rule, &d)) r.fallback = d;
      } else if (e.key == "redirect_to") {
        if (get_string(c, e, rule, &r.redirect_to, false) && !valid_signal(r.redirect_to)) {
          c.error(e.at(), rule, "redirect_to '" + r.redirect_to + "' is not a signal");
        }
      } else if (e.key == "timeout") {
        get_duration(c, e, rule, &r.timeout_ms);
      }
    }
    require_key(c, n, rule, has_signals, "signals", "e.g. [SIGTERM] or [\"@all\"]");
    require_key(c, n, rule, !r.target.empty(), "target", "e.g. target: {type: children}");
    require_key(c, n, rule, has_decision, "decision", "allow, deny, audit, approve, redirect");
    if (has_decision && r.decision == Decision::kRedirect && r.redirect_to.empty()) {
      c.error(n, rule, "decision 'redirect' needs 'redirect_to' (a signal, e.g. SIGTERM)");
    }
    out->push_back(std::move(r));
  });
}

void check_visibility(Ctx& c, const Entry& e, const std::string& rule, std::string* out) {
  if (!get_string(c, e, rule, out)) return;
  if (*out != "silent" && *out != "audit_only" && *out != "warn") {
    c.error(e.at(), rule, "visibility must be silent, audit_only or warn");
  }
}

void check_on_failure(Ctx& c, const Entry& e, const std::string& rule, std::string* out) {
  if (!get_string(c, e, rule, out)) return;
  if (*out != "fail_closed" && *out != "fail_open" && *out != "retry_original") {
    c.error(e.at(), rule, "on_failure must be fail_closed, fail_open or retry_original");
  }
}

void check_regex(Ctx& c, const Entry& e, const std::string& rule, std::string* out) {
  if (!get_string(c, e, rule, out, false)) return;
  std::string err;
  if (!Regex::compile(*out, true, &err)) {
    c.error(e.at(), rule, "bad regex '" + *out + "' in match: " + err);
  }
}

void parse_dns_redirects(Ctx& c, const Entry& sec, std::vector<DnsRedirect>* out) {
  for_each_rule(c, sec, [&](const Node& n, const std::string& rule) {
    DnsRedirect r;
    r.pos = c.pos(n);
    for (const Entry& e : entries(c, n, rule, "dns redirect",
                                  {"name", "match", "resolve_to", "visibility", "on_failure"})) {
      if (e.key == "name") {
        get_string(c, e, rule, &r.name, false);
      } else if (e.key == "match") {
        check_regex(c, e, rule, &r.match);
      } else if (e.key == "resolve_to") {
        if (get_string(c, e, rule, &r.resolve_to, false)) {
          cidr::IpAddr ip;
          if (!cidr::parse_ip(r.resolve_to.data(), r.resolve_to.size(), &ip)) {
            c.error(e.at(), rule, "resolve_to '" + r.resolve_to + "' is not an IP address");
          }
        }
      } else if (e.key == "visibility") {
        check_visibility(c, e, rule, &r.visibility);
      } else if (e.key == "on_failure") {
        check_on_failure(c, e, rule, &r.on_failure);
      }
    }
    require_key(c, n, rule, !r.match.empty(), "match", "a regex over the host name");
    require_key(c, n, rule, !r.resolve_to.empty(), "resolve_to", "an IP address");
    out->push_back(std::move(r));
  });
}

void parse_connect_redirects(Ctx& c, const Entry& sec, std::vector<ConnectRedirect>* out) {
  for_each_rule(c, sec, [&](const Node& n, const std::string& rule) {
    ConnectRedirect r;
    r.pos = c.pos(n);
    for (const Entry& e :
         entries(c, n, rule, "connect redirect",
                 {"name", "match", "redirect_to", "tls", "visibility", "message", "on_failure"})) {
      if (e.key == "name") {
        get_string(c, e, rule, &r.name, false);
      } else if (e.key == "match") {
        check_regex(c, e, rule, &r.match);
      } else if (e.key == "redirect_to") {
        if (get_string(c, e, rule, &r.redirect_to, false)) {
          size_t colon = r.redirect_to.rfind(':');
          std::pair<uint16_t, uint16_t> port;
          std::string why;
          if (colon == std::string::npos || colon == 0 ||
              !parse_port_item(r.redirect_to.substr(colon + 1), &port, &why) ||
              port.first != port.second) {
            c.error(e.at(), rule, "redirect_to '" + r.redirect_to + "' must be host:port");
          }
        }
      } else if (e.key == "tls") {
        if (e.value.IsNull()) continue;
        if (!e.value.IsMap()) {
          c.error(e.at(), rule, "'tls' must be a mapping {mode, sni}");
          continue;
        }
        for (const Entry& t : entries(c, e.value, rule, "tls", {"mode", "sni"})) {
          if (t.key == "mode") {
            if (get_string(c, t, rule, &r.tls_mode) && !r.tls_mode.empty() &&
                r.tls_mode != "passthrough" && r.tls_mode != "rewrite_sni") {
              c.error(t.at(), rule, "tls.mode must be passthrough or rewrite_sni");
            }
          } else if (t.key == "sni") {
            get_string(c, t, rule, &r.sni);
          }
        }
        if (r.tls_mode == "rewrite_sni" && r.sni.empty()) {
          c.error(e.at(), rule, "tls.mode rewrite_sni needs tls.sni");
        }
      } else if (e.key == "visibility") {
        check_visibility(c, e, rule, &r.visibility);
      } else if (e.key == "message") {
        get_string(c, e, rule, &r.message);
      } else if (e.key == "on_failure") {
        check_on_failure(c, e, rule, &r.on_failure);
      }
    }
    require_key(c, n, rule, !r.match.empty(), "match", "a regex over host:port");
    require_key(c, n, rule, !r.redirect_to.empty(), "redirect_to", "host:port");
    out->push_back(std::move(r));
  });
}

void parse_resource_limits(Ctx& c, const Entry& sec, ResourceLimits* l) {
  l->present = true;
  if (sec.value.IsNull()) return;
  if (!sec.value.IsMap()) {
    c.error(sec.at(), "", "'resource_limits' must be a mapping");
    return;
  }
  for (const Entry& e :
       entries(c, sec.value, "", "resource_limits",
               {"max_memory_mb", "memory_swap_max_mb", "cpu_quota_percent", "pids_max",
                "disk_read_bps_max", "disk_write_bps_max", "net_bandwidth_mbps", "command_timeout",
                "session_timeout", "idle_timeout"})) {
    if (e.key == "max_memory_mb") {
      get_int(c, e, "", &l->max_memory_mb, 0, INT32_MAX);
    } else if (e.key == "memory_swap_max_mb") {
      get_int(c, e, "", &l->memory_swap_max_mb, -1, INT32_MAX);
    } else if (e.key == "cpu_quota_percent") {
      get_int(c, e, "", &l->cpu_quota_percent, 0, 100000);
    } else if (e.key == "pids_max") {
      get_int(c, e, "", &l->pids_max, 0, INT32_MAX);
    } else if (e.key == "disk_read_bps_max") {
      get_int(c, e, "", &l->disk_read_bps_max, 0, INT64_MAX);
    } else if (e.key == "disk_write_bps_max") {
      get_int(c, e, "", &l->disk_write_bps_max, 0, INT64_MAX);
    } else if (e.key == "net_bandwidth_mbps") {
      get_int(c, e, "", &l->net_bandwidth_mbps, 0, INT32_MAX);
    } else if (e.key == "command_timeout") {
      get_duration(c, e, "", &l->command_timeout_ms);
    } else if (e.key == "session_timeout") {
      get_duration(c, e, "", &l->session_timeout_ms);
    } else if (e.key == "idle_timeout") {
      get_duration(c, e, "", &l->idle_timeout_ms);
    }
  }
}

void parse_audit(Ctx& c, const Entry& sec, AuditSettings* a) {
  a->present = true;
  if (sec.value.IsNull()) return;
  if (!sec.value.IsMap()) {
    c.error(sec.at(), "", "'audit' must be a mapping");
    return;
  }
  for (const Entry& e : entries(c, sec.value, "", "audit",
                                {"log_allowed", "log_denied", "log_approved", "include_stdout",
                                 "include_stderr", "include_file_content", "retention_days"})) {
    if (e.key == "log_allowed") {
      get_bool(c, e, "", &a->log_allowed);
    } else if (e.key == "log_denied") {
      get_bool(c, e, "", &a->log_denied);
    } else if (e.key == "log_approved") {
      get_bool(c, e, "", &a->log_approved);
    } else if (e.key == "include_stdout") {
      get_bool(c, e, "", &a->include_stdout);
    } else if (e.key == "include_stderr") {
      get_bool(c, e, "", &a->include_stderr);
    } else if (e.key == "include_file_content") {
      get_bool(c, e, "", &a->include_file_content);
    } else if (e.key == "retention_days") {
      int64_t v = 0;
      if (get_int(c, e, "", &v, 0, 100000)) a->retention_days = static_cast<int>(v);
    }
  }
}

// unix_socket_rules and registry_rules: the reference schema is known, so their keys are
// checked like any other rule (a typo is still a typo), but nothing is enforced yet.
void parse_unenforced_rules(Ctx& c, const Entry& sec, const std::vector<std::string_view>& keys) {
  for_each_rule(c, sec, [&](const Node& n, const std::string& rule) {
    for (const Entry& e : entries(c, n, rule, sec.key, keys)) {
      if (e.key == "decision") {
        Decision d;
        get_decision(c, e, rule, &d);
      } else if (e.key == "paths") {
        std::vector<std::string> paths;
        get_string_list(c, e, rule, &paths);
      } else if (e.key == "timeout" || e.key == "cache_ttl") {
        int64_t ms = 0;
        get_duration(c, e, rule, &ms);
      }
    }
  });
}

// A server config has server-only top-level keys and none that only policies have.
bool server_config_node(const Node& root) {
  if (!root.IsMap()) return false;
  int server_keys = 0, policy_keys = 0;
  for (auto it = root.begin(); it != root.end(); ++it) {
    if (!it->first.IsScalar()) continue;
    const std::string& k = it->first.Scalar();
    for (std::string_view s : kServerConfigKeys) server_keys += (k == s);
    for (std::string_view s : kPolicyOnlyKeys) policy_keys += (k == s);
  }
  return server_keys > 0 && policy_keys == 0;
}

void parse_document(Ctx& c, const Node& root, LoadResult* r) {
  Policy& p = r->policy;
  if (root.IsNull()) {
    c.error(root, "", "the policy is empty; it needs at least 'version' and 'name'");
    return;
  }
  if (!root.IsMap()) {
    c.error(root, "", "a policy must be a YAML mapping (version, name, file_rules, ...)");
    return;
  }
  if (server_config_node(root)) {
    c.error(root, "",
            "this looks like a server configuration (it has top-level 'server:' / "
            "'sessions:' / 'policies:'), not a policy; pass it with --config instead");
    return;
  }
  std::vector<std::string_view> keys = {
      "version",         "name",          "description",  "env_policy",    "file_rules",
      "network_rules",   "command_rules", "signal_rules", "dns_redirects", "connect_redirects",
      "resource_limits", "audit"};
  for (std::string_view s : kUnenforcedSections) keys.push_back(s);

  bool has_version = false, has_name = false;
  for (const Entry& e : entries(c, root, "", "policy", keys)) {
    if (e.key == "version") {
      if (e.value.IsScalar() && e.value.Scalar() == "1") {
        p.version = 1;
      } else {
        c.error(e.at(), "",
                "unsupported policy version '" +
                    (e.value.IsScalar() ? e.value.Scalar() : std::string("?")) +
                    "'; this agentsh reads version 1");
      }
      has_version = true;
    } else if (e.key == "name") {
      has_name = get_string(c, e, "", &p.name, false);
    } else if (e.key == "description") {
      get_string(c, e, "", &p.description);
    } else if (e.key == "env_policy") {
      parse_env_policy(c, e, &p.env);
    } else if (e.key == "file_rules") {
      parse_file_rules(c, e, &p.file_rules);
    } else if (e.key == "network_rules") {
      parse_network_rules(c, e, &p.network_rules);
    } else if (e.key == "command_rules") {
      parse_command_rules(c, e, &p.command_rules);
    } else if (e.key == "signal_rules") {
      parse_signal_rules(c, e, &p.signal_rules);
    } else if (e.key == "dns_redirects") {
      parse_dns_redirects(c, e, &p.dns_redirects);
    } else if (e.key == "connect_redirects") {
      parse_connect_redirects(c, e, &p.connect_redirects);
    } else if (e.key == "resource_limits") {
      parse_resource_limits(c, e, &p.limits);
    } else if (e.key == "audit") {
      parse_audit(c, e, &p.audit);
    } else {
      if (e.key == "unix_socket_rules") {
        parse_unenforced_rules(
            c, e, {"name", "description", "paths", "operations", "decision", "message", "timeout"});
      } else if (e.key == "registry_rules") {
        parse_unenforced_rules(c, e,
                               {"name", "description", "paths", "operations", "decision", "message",
                                "timeout", "priority", "cache_ttl", "notify"});
      }
      c.warn(e.key_node, "", "section '" + e.key + "' is parsed but not enforced yet");
    }
  }
  if (!has_version) {
    c.error(root, "", "missing required key 'version' (write 'version: 1')");
  }
  if (!has_name) {
    c.error(root, "", "missing required key 'name'");
  }
}

}  // namespace

bool looks_like_server_config(std::string_view yaml) {
  try {
    return server_config_node(YAML::Load(std::string(yaml)));
  } catch (const YAML::Exception&) {
    return false;
  }
}

LoadResult load_policy_text(std::string_view yaml, const std::string& origin) {
  LoadResult r;
  r.policy.source = origin;
  Ctx c(origin, &r);
  try {
    Node root = YAML::Load(std::string(yaml));
    parse_document(c, root, &r);
  } catch (const YAML::Exception& e) {
    SourcePos p{origin, 0, 0};
    if (!e.mark.is_null()) {
      p.line = e.mark.line + 1;
      p.column = e.mark.column + 1;
    }
    c.error_at(p, "", "YAML syntax error: " + e.msg);
  } catch (const std::exception& e) {
    c.error_at(SourcePos{origin, 0, 0}, "", std::string("cannot load policy: ") + e.what());
  }
  r.ok = r.errors.empty();
  return r;
}

LoadResult load_policy_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.policy.source = path;
    r.errors.push_back(
        Diagnostic{path, 0, 0, "", "cannot read policy file (check the path and permissions)"});
    return r;
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return load_policy_text(ss.str(), path);
}

}  // namespace agentsh::policy
