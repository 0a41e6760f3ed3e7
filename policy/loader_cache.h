// On-disk cache of loaded policies. Parsing and validating the ~800-line default policy
// with yaml-cpp costs a few milliseconds of every `agentsh exec`; reading back the
// validated Policy from a flat binary file costs tens of microseconds.
//
// Only successful loads are cached (with their warnings): a policy with errors is
// always parsed, so its diagnostics (file:line:col) come from the loader itself.
//
// Key: SHA-256 over this format's version, the build id of the running binary (any
// rebuild invalidates every entry, so a change to the loader or the model can never
// read a stale layout), the origin (it appears in diagnostics and rule positions) and
// the policy's bytes. A changed policy file therefore never hits a stale entry: the key
// is its content, not its mtime.
//
// File: a fixed header (magic, format, key, payload length, 64-bit payload hash) and
// the serialized LoadResult. load() checks every field and bounds-checks every read, so
// a truncated or corrupted file is rejected (and the policy parsed, and the entry
// rewritten). The hash detects accidents, not attacks: trust comes from who can write
// the file — it is used only if it is a regular file owned by the effective uid and not
// writable by group or others, in a directory with the same properties. `agentsh exec`
// keeps it under <state>/cache, which the policy snapshot hides from the agent.
//
// Thread-safety: free functions, no shared state. Concurrent writers are safe (each
// writes a temporary file and renames it into place). Everything is best effort: any
// failure means "parse".
#pragma once

#include <string>
#include <string_view>

#include "policy/loader.h"

namespace agentsh::policy::loader_cache {

// The cache key (32 hex characters) for `yaml` loaded under the name `origin`.
std::string key_for(std::string_view yaml, const std::string& origin);

// Fills `out` (ok = true) from the entry for `key` in `dir`; false if missing,
// untrusted or corrupt (`out` is then untouched).
bool load(const std::string& dir, const std::string& key, LoadResult* out);

// Stores `r` (must be ok) under `key` in `dir` (created 0700 if missing). False on
// failure.
bool store(const std::string& dir, const std::string& key, const LoadResult& r);

// The file `key` is stored in (for tests and diagnostics).
std::string path_for(const std::string& dir, const std::string& key);

// load_policy_text with the cache in `dir` (empty = no cache): a hit returns the cached
// result; a miss parses and, if the policy is valid, stores it.
LoadResult load_policy_text_cached(std::string_view yaml, const std::string& origin,
                                   const std::string& dir);

}  // namespace agentsh::policy::loader_cache
