#include "agentsh/exec_env.h"

#include <cstring>

namespace agentsh {

namespace {
std::string key_of(const std::string& kv) {
  return kv.substr(0, kv.find('='));
}

// Variables agentsh sets itself for every run; an inherited value is never trusted.
bool is_internal(const std::string& key) {
  return key.rfind("AGENTSH_", 0) == 0 && key != "AGENTSH_SERVER" && key != "AGENTSH_SHIM_FORCE";
}
}  // namespace

void ExecEnv::set(const std::string& key, const std::string& value) {
  for (auto& e : entries_) {
    if (key_of(e) == key) {
      e = key + "=" + value;
      return;
    }
  }
  entries_.push_back(key + "=" + value);
}

std::string ExecEnv::get(const std::string& key) const {
  for (const auto& e : entries_)
    if (key_of(e) == key) return e.substr(key.size() + 1);
  return "";
}

void ExecEnv::erase(const std::string& key) {
  for (auto it = entries_.begin(); it != entries_.end(); ++it) {
    if (key_of(*it) == key) {
      entries_.erase(it);
      return;
    }
  }
}

void ExecEnv::set_preload(const std::string& lib) {
  std::string cur = get("LD_PRELOAD");
  std::string out = lib;
  // Keep the user's other preloads, drop stale copies of ours.
  size_t start = 0;
  while (start < cur.size()) {
    size_t end = cur.find_first_of(": ", start);
    if (end == std::string::npos) end = cur.size();
    std::string item = cur.substr(start, end - start);
    if (!item.empty() && item != lib && item.find("libagentsh_hook") == std::string::npos)
      out += ":" + item;
    start = end + 1;
  }
  set("LD_PRELOAD", out);
}

ExecEnv build_exec_env(const policy::Engine& engine, const Config& cfg, char** inherited,
                       const std::vector<std::pair<std::string, std::string>>& explicit_env) {
  ExecEnv env;
  std::vector<std::string> in;
  for (char** e = inherited; e && *e; ++e) {
    std::string kv = *e;
    if (kv.find('=') == std::string::npos) continue;
    if (is_internal(key_of(kv))) continue;
    in.push_back(kv);
  }
  for (const auto& kv : engine.filter_env(in, &env.dropped))
    env.set(key_of(kv), kv.substr(kv.find('=') + 1));
  for (const auto& [k, v] : explicit_env) {
    if (k.empty() || is_internal(k) || engine.env_denied(k)) {
      env.dropped_explicit.push_back(k);
      continue;
    }
    env.set(k, v);
  }
  for (const auto& [k, v] : cfg.env_inject) env.set(k, v);
  if (env.get("PATH").empty()) env.set("PATH", "/usr/local/bin:/usr/bin:/bin");
  return env;
}

}  // namespace agentsh
