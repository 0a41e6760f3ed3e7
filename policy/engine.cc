// The compiled policy engine. See engine.h for the contract and policy/README.md for the
// semantics (precedence, unwrapping, approvals).
#include "policy/engine.h"

#include <climits>
#include <cstdlib>

#include "common/path_util.h"
#include "policy/cidr.h"
#include "policy/command_unwrap.h"
#include "policy/glob.h"
#include "policy/message_template.h"
#include "policy/regex.h"
#include "policy/snapshot_builder.h"

namespace agentsh::policy {

namespace {

constexpr int kMaxUnwrapDepth = 8;
constexpr size_t kMaxBraceExpansions = 4096;

bool valid_name_start(char c) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}
bool valid_name_char(char c) {
  return valid_name_start(c) || (c >= '0' && c <= '9');
}

void append_escaped(std::string* out, std::string_view value) {
  for (char c : value) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '{' || c == '}' || c == ',' ||
        c == '\\') {
      *out += '\\';
    }
    *out += c;
  }
}

// The index of the '}' closing the "${" at `open`, honouring nested "${…}" (in defaults)
// and backslash escapes; npos if unterminated.
size_t var_close(std::string_view in, size_t open) {
  int depth = 0;
  for (size_t j = open; j < in.size(); ++j) {
    if (in[j] == '\\') {
      ++j;
    } else if (in[j] == '$' && j + 1 < in.size() && in[j + 1] == '{') {
      ++depth;
      ++j;
    } else if (in[j] == '}' && --depth == 0) {
      return j;
    }
  }
  return std::string_view::npos;
}

// One parser for ${NAME} / ${NAME:-default}. `dry_run` checks the syntax only and puts
// `stand_in` where each variable would go (the loader validates the glob around it).
// Values from `vars` or the environment are escaped when `escape` (they are data); a
// default is policy text and goes in as written, with its own variables expanded.
bool expand_impl(std::string_view in, const Variables& vars, bool escape, bool dry_run,
                 std::string_view stand_in, std::string* out, std::string* error) {
  std::string result;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 1 < in.size()) {
      result += in.substr(i, 2);
      ++i;
      continue;
    }
    if (in[i] != '$' || i + 1 >= in.size() || in[i + 1] != '{') {
      result += in[i];
      continue;
    }
    size_t close = var_close(in, i);
    if (close == std::string_view::npos) {
      if (error) *error = "unterminated '${' in '" + std::string(in) + "' (write ${NAME})";
      return false;
    }
    std::string_view body = in.substr(i + 2, close - i - 2);
    size_t dflt = body.find(":-");
    std::string name(body.substr(0, dflt));
    bool valid = !name.empty() && valid_name_start(name[0]);
    for (char c : name) valid = valid && valid_name_char(c);
    if (!valid) {
      if (error) *error = "invalid variable name '" + name + "' in '" + std::string(in) + "'";
      return false;
    }
    std::string default_text;
    if (dflt != std::string_view::npos && !expand_impl(body.substr(dflt + 2), vars, escape, dry_run,
                                                       stand_in, &default_text, error)) {
      return false;
    }
    i = close;
    if (dry_run) {
      result += stand_in;
      continue;
    }
    // Order: the session's variables, the process environment, the default. Empty
    // counts as unset everywhere (see engine.h).
    auto it = vars.find(name);
    const char* env = getenv(name.c_str());
    if (it != vars.end() && !it->second.empty()) {
      escape ? append_escaped(&result, it->second) : void(result += it->second);
    } else if (env != nullptr && *env != '\0') {
      escape ? append_escaped(&result, env) : void(result += env);
    } else if (dflt != std::string_view::npos) {
      result += default_text;
    } else {
      if (error) {
        *error = "variable ${" + name + "} has no value (set " + name + " or write ${" + name +
                 ":-default})";
      }
      return false;
    }
  }
  *out = std::move(result);
  return true;
}

void expand_braces_into(const std::string& pat, std::vector<std::string>* out) {
  for (size_t i = 0; i < pat.size(); ++i) {
    if (pat[i] == '\\') {
      ++i;
      continue;
    }
    if (pat[i] != '{') continue;
    // Find the matching '}' and the top-level commas in between.
    int depth = 0;
    std::vector<size_t> commas;
    size_t close = std::string::npos;
    for (size_t j = i; j < pat.size(); ++j) {
      if (pat[j] == '\\') {
        ++j;
        continue;
      }
      if (pat[j] == '{') {
        ++depth;
      } else if (pat[j] == '}') {
        if (--depth == 0) {
          close = j;
          break;
        }
      } else if (pat[j] == ',' && depth == 1) {
        commas.push_back(j);
      }
    }
    if (close == std::string::npos) return out->push_back(pat);  // unbalanced: literal
    if (commas.empty()) continue;  // "{a}" is literal text; look further
    std::string prefix = pat.substr(0, i), suffix = pat.substr(close + 1);
    size_t start = i + 1;
    commas.push_back(close);
    for (size_t c : commas) {
      if (out->size() >= kMaxBraceExpansions) return;
      expand_braces_into(prefix + pat.substr(start, c - start) + suffix, out);
      start = c + 1;
    }
    return;
  }
  out->push_back(pat);
}

std::string basename_of(std::string_view p) {
  size_t slash = p.rfind('/');
  return std::string(slash == std::string_view::npos ? p : p.substr(slash + 1));
}

// `name` == `text`, or `text` is `name` plus a ".suffix" (bash → bash.real).
bool literal_or_suffixed(std::string_view name, std::string_view text) {
  if (text == name) return true;
  return text.size() > name.size() + 1 && text.substr(0, name.size()) == name &&
         text[name.size()] == '.';
}

std::string join_args(const std::vector<std::string>& argv) {
  std::string out;
  for (size_t i = 1; i < argv.size(); ++i) {
    if (i > 1) out += ' ';
    out += argv[i];
  }
  return out;
}

}  // namespace

bool expand_vars(std::string_view in, const Variables& vars, std::string* out, std::string* error) {
  return expand_impl(in, vars, false, false, {}, out, error);
}

bool expand_vars_glob(std::string_view in, const Variables& vars, std::string* out,
                      std::string* error) {
  return expand_impl(in, vars, true, false, {}, out, error);
}

bool check_vars(std::string_view in, std::string_view stand_in, std::string* out,
                std::string* error) {
  return expand_impl(in, {}, false, true, stand_in, out, error);
}

std::vector<std::string> expand_braces(std::string_view pattern) {
  std::vector<std::string> out;
  expand_braces_into(std::string(pattern), &out);
  return out;
}

// A command rule, ready to match: names expanded, regexes compiled.
struct Engine::CompiledCommandRule {
  struct Name {
    std::string text;
    bool glob = false;  // a well-formed glob with metacharacters
    bool path = false;  // contains '/': compared with the full path
  };
  const CommandRule* rule = nullptr;  // points into Engine::policy_
  std::vector<Name> names;            // empty = every command (reference behaviour)
  std::vector<std::unique_ptr<Regex>> args;
  std::optional<CommandRedirect> redirect;  // variables expanded
  bool direct = true, nested = true;        // `context`

  bool name_matches(std::string_view cmd) const {
    if (names.empty()) return true;
    std::string base = basename_of(cmd);
    for (const Name& n : names) {
      if (n.text == "*") return true;
      if (n.path) {
        if (n.glob ? glob::match(n.text, cmd, '/') : literal_or_suffixed(n.text, cmd)) {
          return true;
        }
      } else if (n.glob ? glob::match(n.text, base, '\0') : literal_or_suffixed(n.text, base)) {
        return true;
      }
    }
    return false;
  }

  // At least one pattern matches the joined arguments. No arguments, no match. A
  // pattern PCRE2 cannot decide counts as matching only where that is the safe way: for
  // rules stricter than allow/audit.
  bool args_match(std::string_view joined) const {
    if (joined.empty()) return false;
    bool strict = rule->decision > Decision::kAudit;
    for (const auto& re : args) {
      Regex::Result r = re->match(joined);
      if (r == Regex::Result::kMatch || (r == Regex::Result::kError && strict)) return true;
    }
    return false;
  }
};

Engine::~Engine() = default;

std::unique_ptr<Engine> Engine::compile(const Policy& policy, const Variables& vars,
                                        const EngineOptions& options, std::string* error) {
  std::unique_ptr<Engine> e(new Engine());
  e->policy_ = policy;
  e->vars_ = vars;
  e->options_ = options;
  auto fail = [&](const SourcePos& pos, const std::string& rule, const std::string& msg) {
    if (error) {
      std::string where = pos.file;
      if (pos.line > 0) where += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
      *error = (where.empty() ? "" : where + ": ") + "rule '" + rule + "': " + msg;
    }
    return nullptr;
  };
  const Policy& p = e->policy_;

  snapshot::Builder b;
  std::string err;
  for (const FileRule& r : p.file_rules) {
    std::vector<std::string> globs;
    for (const std::string& raw : r.paths) {
      std::string expanded;
      if (!expand_vars_glob(raw, e->vars_, &expanded, &err)) return fail(r.pos, r.name, err);
      for (std::string& g : expand_braces(expanded)) {
        if (const char* why = glob::validate(g)) {
          return fail(r.pos, r.name, "bad glob '" + g + "' (from '" + raw + "'): " + why);
        }
        globs.push_back(std::move(g));
      }
    }
    std::string redirect;
    if (!r.redirect_to.empty() && !expand_vars(r.redirect_to, e->vars_, &redirect, &err)) {
      return fail(r.pos, r.name, err);
    }
    b.add_file_rule(r.name, r.message, redirect, r.ops, r.decision, globs);
  }

  for (const NetworkRule& r : p.network_rules) {
    std::vector<std::string> domains;
    for (const std::string& raw : r.domains) {
      std::string expanded;
      if (!expand_vars_glob(raw, e->vars_, &expanded, &err)) return fail(r.pos, r.name, err);
      for (std::string& d : expand_braces(expanded)) domains.push_back(std::move(d));
    }
    std::vector<cidr::Cidr> cidrs;
    for (const std::string& raw : r.cidrs) {
      std::string expanded;
      if (!expand_vars(raw, e->vars_, &expanded, &err)) return fail(r.pos, r.name, err);
      cidr::Cidr c;
      if (!cidr::parse_cidr(expanded.data(), expanded.size(), &c)) {
        return fail(r.pos, r.name, "bad cidr '" + expanded + "'");
      }
      cidrs.push_back(c);
    }
    b.add_net_rule(r.name, r.message, r.decision, domains, cidrs, r.ports);
  }

  for (const CommandRule& r : p.command_rules) {
    auto c = std::make_unique<CompiledCommandRule>();
    c->rule = &r;
    for (const std::string& raw : r.commands) {
      CompiledCommandRule::Name n;
      if (!expand_vars_glob(raw, e->vars_, &n.text, &err)) return fail(r.pos, r.name, err);
      // Not a well-formed glob ("[" is a command too): a literal name, unescaped.
      n.glob = glob::has_meta(n.text) && glob::validate(n.text) == nullptr;
      if (!n.glob && !expand_vars(raw, e->vars_, &n.text, &err)) return fail(r.pos, r.name, err);
      n.path = n.text.find('/') != std::string::npos;
      c->names.push_back(std::move(n));
    }
    for (const std::string& pat : r.args_patterns) {
      auto re = Regex::compile(pat, false, &err);
      if (!re) return fail(r.pos, r.name, "bad regex '" + pat + "': " + err);
      c->args.push_back(std::move(re));
    }
    if (r.redirect_to) {
      CommandRedirect red = *r.redirect_to;
      if (!expand_vars(r.redirect_to->command, e->vars_, &red.command, &err)) {
        return fail(r.pos, r.name, err);
      }
      c->redirect = std::move(red);
    }
    if (!r.context.empty()) {
      c->direct = c->nested = false;
      for (const std::string& ctx : r.context) {
        if (ctx == "direct") c->direct = true;
        if (ctx == "nested") c->nested = true;
      }
    }
    e->command_rules_.push_back(std::move(c));
  }

  // The exec fast table (snapshot_format.h ExecFast): the command rules as the broker
  // applies them (nested context), names exactly as name_matches sees them, and the
  // wrappers command_unwrap looks inside.
  if (options.exec_fast_table) b.enable_exec_fast();
  for (const auto& c : e->command_rules_) {
    if (!c->nested) continue;
    std::vector<snapshot::Builder::ExecName> names;
    for (const CompiledCommandRule::Name& n : c->names) names.push_back({n.text, n.glob, n.path});
    b.add_exec_rule(c->rule->decision, !c->args.empty(), names);
  }
  for (const std::string& w : command_unwrap::wrapper_names()) b.add_exec_wrapper(w);

  for (const std::string& path : options.protect_readonly) {
    b.add_protected(path, snapshot::kProtectReadOnly);
  }
  for (const std::string& path : options.protect_hidden) {
    b.add_protected(path, snapshot::kProtectHidden);
  }
  uint32_t flags = options.snapshot_flags & ~static_cast<uint32_t>(snapshot::kFlagEnforce);
  if (options.enforce) flags |= snapshot::kFlagEnforce;
  b.set_flags(flags);
  b.set_approval_mode(options.approval_mode);
  b.set_session(options.session_id, options.broker_socket, options.hook_library,
                options.snapshot_path, p.name, options.proxy_port, options.dns_port);
  b.set_trash_dir(options.trash_dir);
  b.set_gate_addr(options.gate_addr);
  e->snapshot_ = b.finish();
  if (!e->view_.attach(e->snapshot_.data(), e->snapshot_.size())) {
    if (error) *error = "internal error: the compiled policy snapshot does not validate";
    return nullptr;
  }

  e->env_allow_ = p.env.allow;
  e->env_deny_ = p.env.deny;

  for (const DnsRedirect& r : p.dns_redirects) {
    auto re = Regex::compile(r.match, true, &err);
    if (!re) return fail(r.pos, r.name, "bad regex '" + r.match + "': " + err);
    e->dns_match_.push_back(std::move(re));
  }
  for (const ConnectRedirect& r : p.connect_redirects) {
    auto re = Regex::compile(r.match, true, &err);
    if (!re) return fail(r.pos, r.name, "bad regex '" + r.match + "': " + err);
    e->connect_match_.push_back(std::move(re));
  }
  return e;
}

Verdict Engine::effect_of(Decision d, std::string rule, std::string message) const {
  Verdict v;
  v.decision = d;
  v.rule = std::move(rule);
  v.message = std::move(message);
  const std::string by = v.rule.empty() ? std::string("by default") : "by rule '" + v.rule + "'";
  switch (d) {
    case Decision::kAllow:
      v.effect = Effect::kAllow;
      v.reason = "allowed " + by;
      break;
    case Decision::kAudit:
      v.effect = Effect::kAllow;
      v.reason = "allowed and audited " + by;
      break;
    case Decision::kRedirect:
      v.effect = Effect::kAllow;
      v.reason = "redirected " + by;
      break;
    case Decision::kSoftDelete:
      v.effect = Effect::kAllow;
      v.reason = "allowed " + by + "; deletions move to the session trash";
      break;
    case Decision::kApprove:
      switch (options_.approval_mode) {
        case ApprovalMode::kNone:
          // Fail closed: the reference silently allows here.
          v.effect = Effect::kDeny;
          v.reason = "approval required (no approver: approvals are disabled)";
          break;
        case ApprovalMode::kShadow:
          v.effect = Effect::kAllow;
          v.reason = "approval required " + by + "; shadow mode allows and audits";
          break;
        case ApprovalMode::kApi:
        case ApprovalMode::kTty:
          v.effect = Effect::kAsk;
          v.reason = "approval required " + by;
          break;
      }
      break;
    case Decision::kDeny:
      v.effect = Effect::kDeny;
      v.reason = "denied " + by;
      break;
  }
  if (!options_.enforce && v.effect != Effect::kAllow) {
    v.effect = Effect::kAllow;
    v.reason = "observe mode, not enforced: " + v.reason;
  }
  return v;
}

Verdict Engine::check_file(std::string_view abs_path, FileOp op) const {
  if (abs_path.empty() || abs_path[0] != '/') {
    Verdict v = effect_of(Decision::kDeny, "invalid-path", "");
    v.reason = "file checks need an absolute path, got '" + std::string(abs_path) + "'";
    return v;
  }
  std::string buf(abs_path.size() + 2, '\0');
  size_t n = path_util::normalize(abs_path.data(), abs_path.size(), buf.data(), buf.size());
  if (n == 0) {
    Verdict v = effect_of(Decision::kDeny, "invalid-path", "");
    v.reason = "path could not be normalised";
    return v;
  }
  buf.resize(n);
  snapshot::FileVerdict fv = view_.check_file(buf.data(), buf.size(), op);
  message_template::Fields f;
  f.path = buf;
  f.operation = file_op_name(op);
  Verdict v = effect_of(fv.decision, fv.rule ? fv.rule : "",
                        message_template::expand(fv.message ? fv.message : "", f));
  if (fv.redirect_to != nullptr) v.redirect_to = fv.redirect_to;
  if (fv.protected_path) v.reason += " (agentsh's own files are protected)";
  v.subject = buf;
  return v;
}

Verdict Engine::check_network(std::string_view domain, std::string_view ip, uint16_t port) const {
  std::string d;
  for (char c : domain) d += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  while (!d.empty() && d.back() == '.') d.pop_back();
  cidr::IpAddr addr{};
  bool have_ip = !ip.empty() && cidr::parse_ip(ip.data(), ip.size(), &addr);
  // A connect by IP literal: the reference matches CIDR rules against it too.
  if (!have_ip && !d.empty()) have_ip = cidr::parse_ip(d.data(), d.size(), &addr);
  snapshot::NetVerdict nv =
      view_.check_net(d.empty() ? nullptr : d.data(), d.size(), have_ip ? &addr : nullptr, port);
  std::string port_text = std::to_string(port);
  message_template::Fields f;
  f.remote_addr = d.empty() ? ip : std::string_view(d);
  f.remote_port = port_text;
  f.domain = d;
  Verdict v = effect_of(nv.decision, nv.rule ? nv.rule : "",
                        message_template::expand(nv.message ? nv.message : "", f));
  v.subject = (d.empty() ? std::string(ip) : d) + ":" + port_text;
  return v;
}

// Command precedence (deliberate; see policy/README.md):
//   For each name the command is known by, two tiers are evaluated — the first
//   matching rule that has args_patterns, and the first matching rule that has none —
//   and the stricter of the two wins (Decision order allow < audit < redirect <
//   soft_delete < approve < deny; on a tie the rule earlier in the file).
// Rationale: the reference default policy lists `allow-dev-tools` (npm, pip3) before
// `approve-package-install` (npm install) and its own demo expects `npm install` to be
// refused. Plain first-match would let the broad allow shadow the specific rule; the
// stricter-of-two result is never weaker than first-match.
// No rule matches: allow, rule "" (the reference's behaviour for commands).
Verdict Engine::check_one_command(const std::vector<std::string>& argv, std::string_view resolved,
                                  bool nested) const {
  const std::string args = join_args(argv);
  std::vector<std::string_view> names = {argv[0]};
  // The resolved path is what will really run; argv[0] is chosen by the caller. Both
  // are judged and the stricter result wins, so argv[0] cannot launder a binary.
  if (!resolved.empty() && resolved != argv[0]) names.push_back(resolved);

  const CompiledCommandRule* best = nullptr;
  size_t best_index = 0;
  for (std::string_view name : names) {
    const CompiledCommandRule* with_args = nullptr;
    const CompiledCommandRule* without_args = nullptr;
    size_t with_index = 0, without_index = 0;
    for (size_t i = 0; i < command_rules_.size(); ++i) {
      const CompiledCommandRule& r = *command_rules_[i];
      if (nested ? !r.nested : !r.direct) continue;
      if (r.args.empty() ? without_args != nullptr : with_args != nullptr) continue;
      if (!r.name_matches(name)) continue;
      if (r.args.empty()) {
        without_args = &r;
        without_index = i;
      } else if (r.args_match(args)) {
        with_args = &r;
        with_index = i;
      }
      if (with_args && without_args) break;
    }
    for (auto [cand, idx] :
         {std::pair{with_args, with_index}, std::pair{without_args, without_index}}) {
      if (cand == nullptr) continue;
      if (best == nullptr || cand->rule->decision > best->rule->decision ||
          (cand->rule->decision == best->rule->decision && idx < best_index)) {
        best = cand;
        best_index = idx;
      }
    }
  }
  Verdict v;
  if (best == nullptr) {
    v = effect_of(Decision::kAllow, "", "");
    v.reason = "no command rule matched; allowed by default";
  } else {
    message_template::Fields f;
    f.command = argv[0];
    f.args = args;
    v = effect_of(best->rule->decision, best->rule->name,
                  message_template::expand(best->rule->message, f));
    if (best->rule->decision == Decision::kRedirect) v.command_redirect = best->redirect;
  }
  v.subject = argv[0];
  return v;
}

Verdict Engine::check_command(const std::vector<std::string>& argv, std::string_view resolved,
                              bool nested) const {
  if (argv.empty() || argv[0].empty()) {
    Verdict v = effect_of(Decision::kDeny, "invalid-command", "");
    v.reason = "empty command line";
    return v;
  }
  command_unwrap::Result u = command_unwrap::unwrap(argv, kMaxUnwrapDepth);
  if (u.truncated) {
    // Fail closed: what runs at the bottom of the nest was never looked at.
    Verdict v = effect_of(Decision::kDeny, "unwrap-depth-limit", "");
    v.reason = "command nests wrappers or shells more than " + std::to_string(kMaxUnwrapDepth) +
               " levels deep; its inner commands cannot be checked";
    v.subject = argv[0];
    return v;
  }
  // Every layer is checked; the strictest decision wins (the outermost on a tie), and
  // its subject names the command that decided.
  Verdict best;
  bool have = false;
  for (size_t i = 0; i < u.layers.size(); ++i) {
    const command_unwrap::Layer& layer = u.layers[i];
    Verdict v = check_one_command(layer.argv, i == 0 ? resolved : std::string_view(),
                                  nested || layer.nested);
    if (!have || v.decision > best.decision) {
      best = std::move(v);
      have = true;
    }
  }
  if (u.incomplete && best.effect == Effect::kAllow) {
    best.reason += " (part of a shell string could not be read; its first word was checked)";
  }
  return best;
}

bool Engine::env_denied(std::string_view name) const {
  for (const std::string& d : env_deny_) {
    if (glob::match(d, name, '\0')) return true;
  }
  return false;
}

bool Engine::env_allowed(std::string_view name) const {
  if (env_denied(name)) return false;
  if (env_allow_.empty()) return true;
  for (const std::string& a : env_allow_) {
    if (glob::match(a, name, '\0')) return true;
  }
  return false;
}

std::vector<std::string> Engine::filter_env(const std::vector<std::string>& in,
                                            std::vector<std::string>* dropped) const {
  std::vector<std::string> out;
  uint64_t bytes = 0;
  const uint64_t max_bytes = policy_.env.max_bytes;
  const uint32_t max_keys = policy_.env.max_keys;
  for (const std::string& kv : in) {
    size_t eq = kv.find('=');
    // Only names are reported: values may be the very secrets being filtered.
    std::string name = kv.substr(0, eq);
    if (eq == std::string::npos || eq == 0 || !env_allowed(name)) {
      if (dropped) dropped->push_back(name);
      continue;
    }
    if (max_keys != 0 && out.size() >= max_keys) {
      if (dropped) dropped->push_back(name);
      continue;
    }
    if (max_bytes != 0 && bytes + kv.size() + 1 > max_bytes) {
      if (dropped) dropped->push_back(name);
      continue;
    }
    bytes += kv.size() + 1;
    out.push_back(kv);
  }
  return out;
}

const DnsRedirect* Engine::dns_redirect_for(std::string_view name) const {
  std::string n;
  for (char c : name) n += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  while (!n.empty() && n.back() == '.') n.pop_back();
  for (size_t i = 0; i < dns_match_.size(); ++i) {
    if (dns_match_[i]->matches(n)) return &policy_.dns_redirects[i];
  }
  return nullptr;
}

const ConnectRedirect* Engine::connect_redirect_for(std::string_view host, uint16_t port) const {
  std::string h;
  for (char c : host) h += static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
  while (!h.empty() && h.back() == '.') h.pop_back();
  std::string hp = h + ":" + std::to_string(port);
  for (size_t i = 0; i < connect_match_.size(); ++i) {
    if (connect_match_[i]->matches(hp) || connect_match_[i]->matches(h)) {
      return &policy_.connect_redirects[i];
    }
  }
  return nullptr;
}

}  // namespace agentsh::policy
