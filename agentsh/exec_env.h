// The environment a governed command sees, built from env_policy.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "agentsh/config.h"
#include "policy/engine.h"

namespace agentsh {

class ExecEnv {
 public:
  void set(const std::string& key, const std::string& value);
  std::string get(const std::string& key) const;
  void erase(const std::string& key);
  // Puts `lib` first in LD_PRELOAD (keeping what the user preloads, if the policy let
  // LD_PRELOAD through).
  void set_preload(const std::string& lib);
  std::vector<std::string> vector() const { return entries_; }
  size_t size() const { return entries_.size(); }

  std::vector<std::string> dropped;           // inherited names the policy withheld
  std::vector<std::string> dropped_explicit;  // --env names the deny list refused

 private:
  std::vector<std::string> entries_;  // "K=V", in order
};

// inherited: the caller's environ (agentsh's own variables are never inherited: a
// nested run sets them afresh). explicit_env: --env K=V, subject to the deny list only.
// sandbox.env_inject from the config bypasses env_policy (operator-controlled).
ExecEnv build_exec_env(const policy::Engine& engine, const Config& cfg, char** inherited,
                       const std::vector<std::pair<std::string, std::string>>& explicit_env);

}  // namespace agentsh
