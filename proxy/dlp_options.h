// What the DLP scanner is built from: the config's dlp section, validated.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agentsh/config.h"

namespace agentsh::proxy {

struct DlpOptions {
  bool enabled = true;                  // dlp.mode: redact → true, disabled → false
  std::map<std::string, bool> builtin;  // dlp.patterns: category → on (missing = on)
  std::vector<DlpPattern> custom;       // dlp.custom_patterns, in config order
  // Where the compiled pattern database may be cached (see dlp_pattern_cache.h);
  // "" = always compile. Not from the config: the caller picks a private directory,
  // e.g. state_dir(cfg) + "/cache".
  std::string cache_dir;
  // false: no Hyperscan, PCRE2 over the whole text for every rule (slow; for CPUs
  // Hyperscan does not support, which create() detects by itself, and for tests).
  bool use_hyperscan = true;

  // Reads cfg.dlp_mode / dlp_builtin / dlp_custom. False with `error` set for an
  // unknown mode or an unknown category name (a typo must not disable a detector).
  static bool from_config(const Config& cfg, DlpOptions* out, std::string* error);
};

}  // namespace agentsh::proxy
