// One format for agentsh's own caches under the state dir (the compiled DLP database,
// validated policies): a 64-byte header (magic, format, key, payload length and hash)
// followed by the payload.
//
// Trust: a cache file decides what agentsh enforces, so it is used only if it and its
// directory belong to the effective user and are not group/other-writable (the agent
// runs as another user or cannot reach the state dir; the directory is also hidden from
// it by policy). The payload hash catches torn or corrupted files, not attackers. Files
// are written through a temp file + rename, so a reader never sees half a file.
//
// Not for the hook (allocates). Thread-safe: no shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace agentsh::cache_file {

// What a cache file is: its magic, its format version and the most it may weigh.
struct Kind {
  char magic[8];
  uint32_t format;
  uint64_t max_bytes;
};

// A 32-character hex key: the first 128 bits of SHA-256 over `material` (everything the
// cached value depends on, so that a change of any of it misses the cache).
std::string key_of(std::string_view material);

// The payload of the cache file at `path` in `dir` if the directory and the file are
// trusted, and the header matches `kind` and `key`; false otherwise (a miss: rebuild).
bool load(const Kind& kind, const std::string& dir, const std::string& path, const std::string& key,
          std::string* payload);

// Creates `dir` (0700) if needed and writes `payload` to `path` atomically (0600).
// False if the directory is not trusted or the write failed.
bool store(const Kind& kind, const std::string& dir, const std::string& path,
           const std::string& key, std::string_view payload);

}  // namespace agentsh::cache_file
