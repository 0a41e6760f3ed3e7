// Lexical path helpers shared by the policy engine, the hook and the tracer.
// Contract: no allocation, no exceptions, no syscalls — safe inside the hook and in a
// vfork child. Callers own every buffer.
#pragma once

#include <cstddef>

namespace agentsh::path_util {

// Joins `base` (absolute) and `rel` into `out` (capacity `cap`) and normalises the
// result lexically: repeated slashes collapse, "." segments go, ".." pops a segment
// (never above "/"). If `rel` is absolute, `base` is ignored. Returns the length
// written (without the NUL), or 0 when the result does not fit.
size_t join_normalize(const char* base, size_t base_len, const char* rel, size_t rel_len, char* out,
                      size_t cap) noexcept;

// Normalises the absolute path `path` into `out` (which must not overlap it); same rules
// as above. Returns 0 for a relative or empty `path` (never guesses a base) or when the
// result does not fit.
size_t normalize(const char* path, size_t len, char* out, size_t cap) noexcept;

// True if `path` equals `dir` or lies below it ("/a/b" is under "/a", "/ab" is not).
// Both must be normalised; trailing slashes on `dir` are ignored; "/" covers every
// absolute path; an empty `dir` covers nothing.
bool is_under(const char* path, size_t path_len, const char* dir, size_t dir_len) noexcept;

}  // namespace agentsh::path_util
