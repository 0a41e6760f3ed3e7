// On-disk cache of the compiled Hyperscan database. Compiling the triggers of the built-in
// detectors takes ~20 ms of CPU (50+ ms wall on a busy machine; full regexes instead of
// triggers took ~800 ms); loading a serialized database takes about one.
// Worth it for short-lived processes (`agentsh exec`), harmless for the server.
//
// Trust: a cache file is used only if it is a regular file owned by the current
// effective uid and not writable by group or others, in a directory with the same
// properties; otherwise it is ignored (and the database compiled). Everything here is
// best effort: any failure just means "compile".
// Thread-safety: free functions, no shared state; concurrent writers are safe
// (write to a temporary file, then rename).
#pragma once

#include <string>
#include <vector>

#include "proxy/dlp_handles.h"

namespace agentsh::dlp_pattern_cache {

// A key covering the Hyperscan version and every (expression, flags, id) compiled: the
// ids matter as much as the expressions (they name the rule a match is reported for).
std::string key_for(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                    const std::vector<unsigned>& ids);

// The cached database for `key` in `dir`, or nullptr.
dlp_handles::HsDatabase load(const std::string& dir, const std::string& key);

// Stores `db` under `key` in `dir` (created 0700 if missing). Returns false on failure.
bool store(const std::string& dir, const std::string& key, const hs_database_t* db);

}  // namespace agentsh::dlp_pattern_cache
