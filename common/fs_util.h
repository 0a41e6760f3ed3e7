// Small filesystem helpers for agentsh's own state (not for the hook: these allocate).
#pragma once

#include <sys/types.h>

#include <string>

namespace agentsh::fs_util {

// mkdir -p: creates `dir` (mode `mode`) and missing parents (mode 0755). True if the
// directory exists afterwards; errno tells why not.
bool make_dirs(const std::string& dir, mode_t mode = 0755);

// Reads a whole file. False (errno set) if it cannot be read.
bool read_file(const std::string& path, std::string* out);

// Writes `data` to `path` through a temp file + rename, with `mode`.
bool write_file_atomic(const std::string& path, const std::string& data, mode_t mode = 0644);

}  // namespace agentsh::fs_util
