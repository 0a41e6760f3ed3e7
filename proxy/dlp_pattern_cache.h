// On-disk cache of the compiled Hyperscan database. Compiling the triggers of the built-in
// detectors takes ~20 ms of CPU (50+ ms wall on a busy machine; full regexes instead of
// triggers took ~800 ms); loading a serialized database takes well under one. `agentsh
// exec` compiles once per install (per pattern set) and loads the result afterwards.
//
// File: a fixed header (magic, format version, the key, payload length, a 64-bit hash of
// the payload) followed by hs_serialize_database()'s bytes. load() checks every field
// before Hyperscan sees a byte, so a truncated or corrupted file (disk full, a crash
// half-way through a copy) is rejected and the database rebuilt; Hyperscan itself then
// checks the version and platform recorded in the bytes. The hash detects accidents, not
// attacks: trust comes from who can write the file.
//
// Trust: a cache file is used only if it is a regular file owned by the current
// effective uid and not writable by group or others, in a directory with the same
// properties; otherwise it is ignored (and the database compiled). `agentsh exec` keeps
// the directory under its state directory, which the policy snapshot also hides from the
// governed agent. Everything here is best effort: any failure just means "compile".
// Thread-safety: free functions, no shared state; concurrent writers are safe (each
// writes its own temporary file, then renames it into place).
#pragma once

#include <string>
#include <vector>

#include "proxy/dlp_handles.h"

namespace agentsh::dlp_pattern_cache {

// A key covering the Hyperscan version, the platform it compiles for (CPU features and
// tuning, hs_populate_platform) and every (expression, flags, id) compiled: the ids
// matter as much as the expressions (they name the rule a match is reported for).
std::string key_for(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                    const std::vector<unsigned>& ids);

// The cached database for `key` in `dir`, or nullptr (missing, untrusted, corrupt).
dlp_handles::HsDatabase load(const std::string& dir, const std::string& key);

// Stores `db` under `key` in `dir` (created 0700 if missing). Returns false on failure.
bool store(const std::string& dir, const std::string& key, const hs_database_t* db);

// The file `key` is stored in (for tests and diagnostics).
std::string path_for(const std::string& dir, const std::string& key);

}  // namespace agentsh::dlp_pattern_cache
