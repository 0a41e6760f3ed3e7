// Config loading. yaml-cpp throws: every exception stops in load_config_text and becomes
// an error naming file:line:col. Unknown keys are errors, like in policies; reference
// sections we accept but do not use produce one warning each.
#include "agentsh/config.h"

#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>

#include "agentsh/embedded.h"
#include "common/fs_util.h"

namespace agentsh {

namespace {

struct ConfigError {
  YAML::Mark mark;
  std::string msg;
};

std::string where(const std::string& origin, const YAML::Mark& m) {
  std::ostringstream o;
  o << origin;
  if (m.line >= 0) o << ":" << m.line + 1 << ":" << m.column + 1;
  return o.str();
}

// Checks that `node` is a map whose keys are all in `known` (a key in `ignored` is
// accepted with a warning, once).
void check_keys(const YAML::Node& node, const std::string& path, const std::set<std::string>& known,
                const std::set<std::string>& ignored,
                std::vector<std::pair<YAML::Mark, std::string>>* warnings) {
  if (!node.IsMap()) throw ConfigError{node.Mark(), "'" + path + "' must be a mapping"};
  for (const auto& kv : node) {
    std::string k = kv.first.as<std::string>();
    if (known.count(k)) continue;
    if (ignored.count(k)) {
      warnings->push_back({kv.first.Mark(), "'" + (path.empty() ? k : path + "." + k) +
                                                "' is accepted but not used by agentsh yet"});
      continue;
    }
    std::string all;
    for (const auto& s : known) all += (all.empty() ? "" : ", ") + s;
    throw ConfigError{kv.first.Mark(), "unknown key '" + (path.empty() ? k : path + "." + k) +
                                           "' (known here: " + all + ")"};
  }
}

std::string str(const YAML::Node& n, const std::string& name) {
  if (!n.IsScalar()) throw ConfigError{n.Mark(), "'" + name + "' must be a string"};
  return n.as<std::string>();
}
bool boolean(const YAML::Node& n, const std::string& name) {
  bool b;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, b))
    throw ConfigError{n.Mark(), "'" + name + "' must be true or false"};
  return b;
}
int64_t integer(const YAML::Node& n, const std::string& name) {
  int64_t v;
  if (!n.IsScalar() || !YAML::convert<int64_t>::decode(n, v))
    throw ConfigError{n.Mark(), "'" + name + "' must be an integer"};
  return v;
}
int64_t duration(const YAML::Node& n, const std::string& name) {
  int64_t ms;
  if (!n.IsScalar() || !parse_duration_ms(n.as<std::string>(), &ms))
    throw ConfigError{n.Mark(), "'" + name + "' must be a duration like 30s, 5m, 1h"};
  return ms;
}

void parse(const YAML::Node& root, Config* c, std::vector<std::pair<YAML::Mark, std::string>>* w) {
  if (root.IsNull()) return;
  check_keys(root, "",
             {"server", "auth", "logging", "sessions", "audit", "sandbox", "proxy", "dlp",
              "policies", "approvals", "metrics", "health", "development"},
             {"mcp", "threat_feeds", "package_checks", "landlock", "ebpf", "telemetry"}, w);
  if (auto s = root["server"]) {
    check_keys(s, "server", {"http", "grpc", "unix_socket", "tls"}, {}, w);
    if (auto h = s["http"]) {
      check_keys(h, "server.http",
                 {"addr", "read_timeout", "write_timeout", "max_request_size", "idle_timeout"}, {},
                 w);
      if (h["addr"]) c->http_addr = str(h["addr"], "server.http.addr");
      if (h["read_timeout"]) c->read_timeout_ms = duration(h["read_timeout"], "read_timeout");
      if (h["write_timeout"]) c->write_timeout_ms = duration(h["write_timeout"], "write_timeout");
      if (h["max_request_size"] &&
          !parse_size_bytes(str(h["max_request_size"], "max_request_size"), &c->max_request_bytes))
        throw ConfigError{h["max_request_size"].Mark(), "'max_request_size' must be like 10MB"};
    }
    if (s["grpc"])
      w->push_back({s["grpc"].Mark(), "'server.grpc' is not served by agentsh (HTTP API only)"});
    if (s["unix_socket"])
      w->push_back({s["unix_socket"].Mark(), "'server.unix_socket' is accepted but not used yet"});
    if (s["tls"]) w->push_back({s["tls"].Mark(), "'server.tls' is accepted but not used yet"});
  }
  if (auto a = root["auth"]) {
    check_keys(a, "auth", {"type", "api_key"}, {}, w);
    if (a["type"] && str(a["type"], "auth.type") != "none")
      w->push_back({a["type"].Mark(),
                    "auth types other than 'none' are not implemented yet; the "
                    "server only listens on the configured local address"});
  }
  if (auto l = root["logging"]) {
    check_keys(l, "logging", {"level", "format", "output"}, {"rotation"}, w);
    if (l["level"]) c->log_level = str(l["level"], "logging.level");
    if (l["format"]) c->log_format = str(l["format"], "logging.format");
    if (l["output"]) c->log_output = str(l["output"], "logging.output");
  }
  if (auto s = root["sessions"]) {
    check_keys(
        s, "sessions",
        {"base_dir", "max_sessions", "default_timeout", "default_idle_timeout", "cleanup_interval"},
        {}, w);
    if (s["base_dir"]) c->sessions_dir = str(s["base_dir"], "sessions.base_dir");
    if (s["max_sessions"])
      c->max_sessions = static_cast<int>(integer(s["max_sessions"], "max_sessions"));
    if (s["default_timeout"])
      c->session_timeout_ms = duration(s["default_timeout"], "default_timeout");
    if (s["default_idle_timeout"])
      c->session_idle_timeout_ms = duration(s["default_idle_timeout"], "default_idle_timeout");
  }
  if (auto a = root["audit"]) {
    check_keys(a, "audit", {"enabled", "storage"}, {"output", "rotation", "retention_days"}, w);
    if (a["enabled"]) c->audit_enabled = boolean(a["enabled"], "audit.enabled");
    if (auto st = a["storage"]) {
      check_keys(st, "audit.storage", {"sqlite_path"}, {}, w);
      if (st["sqlite_path"]) c->audit_db = str(st["sqlite_path"], "audit.storage.sqlite_path");
    }
  }
  if (auto s = root["sandbox"]) {
    check_keys(s, "sandbox",
               {"enabled", "allow_degraded", "limits", "env_inject", "fuse", "network", "cgroups",
                "seccomp", "ptrace", "unix_sockets", "hook"},
               {}, w);
    if (s["enabled"]) c->sandbox_enabled = boolean(s["enabled"], "sandbox.enabled");
    if (s["allow_degraded"]) c->allow_degraded = boolean(s["allow_degraded"], "allow_degraded");
    if (auto e = s["env_inject"]) {
      if (!e.IsMap()) throw ConfigError{e.Mark(), "'sandbox.env_inject' must be a mapping"};
      for (const auto& kv : e)
        c->env_inject[kv.first.as<std::string>()] = str(kv.second, "env_inject");
    }
    if (auto n = s["network"]) {
      if (!n.IsMap()) throw ConfigError{n.Mark(), "'sandbox.network' must be a mapping"};
      if (n["enabled"]) c->network_enabled = boolean(n["enabled"], "sandbox.network.enabled");
    }
    if (auto n = s["seccomp"]) {
      if (!n.IsMap()) throw ConfigError{n.Mark(), "'sandbox.seccomp' must be a mapping"};
      if (n["enabled"]) c->seccomp_enabled = boolean(n["enabled"], "sandbox.seccomp.enabled");
    }
    if (auto n = s["hook"]) {
      check_keys(n, "sandbox.hook", {"enabled"}, {}, w);
      if (n["enabled"]) c->hook_enabled = boolean(n["enabled"], "sandbox.hook.enabled");
    }
    if (auto n = s["ptrace"]) {
      if (!n.IsMap()) throw ConfigError{n.Mark(), "'sandbox.ptrace' must be a mapping"};
      if (n["enabled"]) c->ptrace_enabled = boolean(n["enabled"], "sandbox.ptrace.enabled");
    }
    // limits, fuse, cgroups, unix_sockets: the reference's knobs for layers we replace
    // (the hook + tracer) or do not run; accepted so reference configs load unchanged.
  }
  if (auto p = root["proxy"]) {
    check_keys(p, "proxy", {"mode", "port", "providers", "rate_limits"}, {}, w);
    if (p["mode"]) c->proxy_mode = str(p["mode"], "proxy.mode");
    if (p["port"]) c->proxy_port = static_cast<int>(integer(p["port"], "proxy.port"));
    if (auto pr = p["providers"]) {
      if (!pr.IsMap()) throw ConfigError{pr.Mark(), "'proxy.providers' must be a mapping"};
      for (const auto& kv : pr)
        c->providers[kv.first.as<std::string>()] = str(kv.second, "provider");
    }
    if (auto rl = p["rate_limits"]) {
      if (!rl.IsMap()) throw ConfigError{rl.Mark(), "'proxy.rate_limits' must be a mapping"};
      check_keys(rl, "proxy.rate_limits", {"requests_per_minute", "tokens_per_minute"}, {}, w);
      if (rl["requests_per_minute"])
        c->llm_rate_limits.requests_per_minute = static_cast<double>(
            integer(rl["requests_per_minute"], "proxy.rate_limits.requests_per_minute"));
      if (rl["tokens_per_minute"])
        c->llm_rate_limits.tokens_per_minute = static_cast<double>(
            integer(rl["tokens_per_minute"], "proxy.rate_limits.tokens_per_minute"));
      if (c->llm_rate_limits.requests_per_minute < 0 || c->llm_rate_limits.tokens_per_minute < 0)
        throw ConfigError{rl.Mark(), "'proxy.rate_limits' values must be 0 (unlimited) or more"};
    }
  }
  if (auto d = root["dlp"]) {
    check_keys(d, "dlp", {"mode", "patterns", "custom_patterns"}, {}, w);
    if (d["mode"]) {
      c->dlp_mode = str(d["mode"], "dlp.mode");
      if (c->dlp_mode != "redact" && c->dlp_mode != "disabled")
        throw ConfigError{d["mode"].Mark(), "'dlp.mode' must be redact or disabled"};
    }
    if (auto p = d["patterns"]) {
      check_keys(p, "dlp.patterns", {"email", "phone", "credit_card", "ssn", "api_keys"}, {}, w);
      for (const auto& kv : p)
        c->dlp_builtin[kv.first.as<std::string>()] = boolean(kv.second, "dlp.patterns");
    }
    if (auto cp = d["custom_patterns"]) {
      if (!cp.IsSequence()) throw ConfigError{cp.Mark(), "'dlp.custom_patterns' must be a list"};
      for (const auto& e : cp) {
        check_keys(e, "dlp.custom_patterns[]", {"name", "display", "regex"}, {}, w);
        DlpPattern p;
        if (!e["name"] || !e["regex"])
          throw ConfigError{e.Mark(), "a custom DLP pattern needs 'name' and 'regex'"};
        p.name = str(e["name"], "name");
        p.regex = str(e["regex"], "regex");
        p.display = e["display"] ? str(e["display"], "display") : p.name;
        c->dlp_custom.push_back(p);
      }
    }
  }
  if (auto p = root["policies"]) {
    check_keys(p, "policies", {"dir", "default", "default_policy", "detect_project_root"}, {}, w);
    if (p["dir"]) c->policies_dir = str(p["dir"], "policies.dir");
    if (p["default_policy"])
      c->default_policy = str(p["default_policy"], "policies.default_policy");
    if (p["default"]) c->default_policy = str(p["default"], "policies.default");
  }
  if (auto a = root["approvals"]) {
    check_keys(a, "approvals", {"enabled", "mode", "timeout"}, {}, w);
    if (a["enabled"]) c->approvals_enabled = boolean(a["enabled"], "approvals.enabled");
    if (a["mode"]) {
      c->approvals_mode = str(a["mode"], "approvals.mode");
      // "async" is the reference's name for API approvals.
      if (c->approvals_mode == "async") c->approvals_mode = "api";
      if (c->approvals_mode != "api" && c->approvals_mode != "tty" && c->approvals_mode != "shadow")
        throw ConfigError{a["mode"].Mark(), "'approvals.mode' must be api, tty or shadow"};
    }
    if (a["timeout"]) c->approvals_timeout_ms = duration(a["timeout"], "approvals.timeout");
  }
  if (auto m = root["metrics"]) {
    check_keys(m, "metrics", {"enabled", "path"}, {}, w);
    if (m["enabled"]) c->metrics_enabled = boolean(m["enabled"], "metrics.enabled");
    if (m["path"]) c->metrics_path = str(m["path"], "metrics.path");
  }
  if (auto h = root["health"]) {
    check_keys(h, "health", {"path", "readiness_path"}, {}, w);
    if (h["path"]) c->health_path = str(h["path"], "health.path");
    if (h["readiness_path"]) c->ready_path = str(h["readiness_path"], "health.readiness_path");
  }
  if (auto d = root["development"]) {
    check_keys(d, "development", {"disable_auth", "verbose_errors", "debug", "disable_policy"}, {},
               w);
    if (d["disable_policy"] && boolean(d["disable_policy"], "development.disable_policy"))
      throw ConfigError{d["disable_policy"].Mark(),
                        "'development.disable_policy: true' is refused: agentsh never runs "
                        "without a policy (use a permissive policy instead)"};
  }
}

bool readable_file(const std::string& p) {
  return access(p.c_str(), R_OK) == 0;
}

bool writable_dir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) return S_ISDIR(st.st_mode) && access(dir.c_str(), W_OK) == 0;
  // Does not exist: creatable if its parent is writable.
  auto slash = dir.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return false;
  return writable_dir(dir.substr(0, slash));
}

}  // namespace

policy::ApprovalMode Config::approval_mode() const {
  if (approvals_mode == "shadow") return policy::ApprovalMode::kShadow;
  if (!approvals_enabled) return policy::ApprovalMode::kNone;
  return approvals_mode == "tty" ? policy::ApprovalMode::kTty : policy::ApprovalMode::kApi;
}

ConfigLoad load_config_text(const std::string& yaml, const std::string& origin) {
  ConfigLoad r;
  r.config.source = origin;
  std::vector<std::pair<YAML::Mark, std::string>> warnings;
  try {
    YAML::Node root = YAML::Load(yaml);
    parse(root, &r.config, &warnings);
    r.ok = true;
  } catch (const ConfigError& e) {
    r.error = where(origin, e.mark) + ": " + e.msg;
  } catch (const YAML::Exception& e) {
    r.error = where(origin, e.mark) + ": " + e.msg;
  } catch (const std::exception& e) {
    r.error = origin + ": " + e.what();
  }
  for (auto& [m, msg] : warnings) r.warnings.push_back(where(origin, m) + ": " + msg);
  return r;
}

ConfigLoad load_config(const std::string& explicit_path) {
  std::string path = explicit_path;
  if (path.empty()) {
    if (const char* env = getenv("AGENTSH_CONFIG"); env && *env) path = env;
  }
  if (!path.empty()) {
    std::string text;
    if (!fs_util::read_file(path, &text)) {
      ConfigLoad r;
      r.error = path + ": cannot read config (" + strerror(errno) + ")";
      return r;
    }
    return load_config_text(text, path);
  }
  for (const char* cand : {"./config.yaml", "/etc/agentsh/config.yaml"}) {
    if (readable_file(cand)) {
      std::string text;
      if (fs_util::read_file(cand, &text)) return load_config_text(text, cand);
    }
  }
  return load_config_text(std::string(embedded::config()), "<embedded>");
}

bool resolve_policy(const Config& cfg, const std::string& policy_arg, std::string* origin,
                    std::string* text, std::string* error) {
  std::string arg = policy_arg.empty() ? cfg.default_policy : policy_arg;
  auto ends_with = [](const std::string& s, const char* suf) {
    size_t n = strlen(suf);
    return s.size() >= n && s.compare(s.size() - n, n, suf) == 0;
  };
  if (arg.find('/') != std::string::npos || ends_with(arg, ".yaml") || ends_with(arg, ".yml")) {
    if (!fs_util::read_file(arg, text)) {
      *error = "policy file " + arg + ": cannot read (" + strerror(errno) + ")";
      return false;
    }
    *origin = arg;
    return true;
  }
  for (const char* ext : {".yaml", ".yml"}) {
    std::string p = cfg.policies_dir + "/" + arg + ext;
    if (readable_file(p) && fs_util::read_file(p, text)) {
      *origin = p;
      return true;
    }
  }
  if (arg == "default") {
    *text = std::string(embedded::policy());
    *origin = "<embedded>";
    return true;
  }
  *error = "no policy named '" + arg + "' in " + cfg.policies_dir +
           " (pass --policy PATH, or put " + arg + ".yaml there)";
  return false;
}

std::string state_dir(const Config& cfg) {
  std::string dir = cfg.audit_db;
  auto slash = dir.find_last_of('/');
  dir = slash == std::string::npos ? "." : dir.substr(0, slash);
  if (!dir.empty() && writable_dir(dir)) return dir;
  if (const char* x = getenv("XDG_STATE_HOME"); x && *x) return std::string(x) + "/agentsh";
  if (const char* h = getenv("HOME"); h && *h) return std::string(h) + "/.local/state/agentsh";
  return "/tmp/agentsh-" + std::to_string(getuid());
}

std::string policy_cache_dir(const Config& cfg) {
  return state_dir(cfg) + "/policy-cache";
}

bool parse_duration_ms(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  int64_t total = 0;
  size_t i = 0;
  bool any = false;
  while (i < s.size()) {
    size_t j = i;
    double v = 0;
    bool digits = false;
    while (j < s.size() && isdigit(static_cast<unsigned char>(s[j]))) {
      v = v * 10 + (s[j] - '0');
      ++j;
      digits = true;
    }
    if (j < s.size() && s[j] == '.') {
      double f = 0.1;
      for (++j; j < s.size() && isdigit(static_cast<unsigned char>(s[j])); ++j, f /= 10) {
        v += (s[j] - '0') * f;
        digits = true;
      }
    }
    if (!digits) return false;
    size_t k = j;
    while (k < s.size() && isalpha(static_cast<unsigned char>(s[k]))) ++k;
    std::string unit = s.substr(j, k - j);
    double mult;
    if (unit == "ms")
      mult = 1;
    else if (unit == "s" || (unit.empty() && k == s.size() && !any))
      mult = 1000;
    else if (unit == "m")
      mult = 60000;
    else if (unit == "h")
      mult = 3600000;
    else if (unit == "d")
      mult = 86400000;
    else
      return false;
    total += static_cast<int64_t>(v * mult);
    any = true;
    i = k;
  }
  *out = total;
  return true;
}

bool parse_size_bytes(const std::string& s, uint64_t* out) {
  size_t i = 0;
  uint64_t v = 0;
  while (i < s.size() && isdigit(static_cast<unsigned char>(s[i]))) v = v * 10 + (s[i++] - '0');
  if (i == 0) return false;
  std::string unit = s.substr(i);
  for (auto& ch : unit) ch = static_cast<char>(toupper(static_cast<unsigned char>(ch)));
  uint64_t mult;
  if (unit.empty() || unit == "B")
    mult = 1;
  else if (unit == "KB" || unit == "K" || unit == "KIB")
    mult = 1024;
  else if (unit == "MB" || unit == "M" || unit == "MIB")
    mult = 1024 * 1024;
  else if (unit == "GB" || unit == "G" || unit == "GIB")
    mult = 1024ull * 1024 * 1024;
  else
    return false;
  *out = v * mult;
  return true;
}

}  // namespace agentsh
