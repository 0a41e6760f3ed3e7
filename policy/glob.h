// Glob matching for paths, domains, commands and env names.
// Contract: no allocation, no exceptions, no recursion deeper than the number of `*`s
// in the pattern — safe in the hook and in signal handlers.
//
// Syntax: `*` any run of characters except `sep`; `**` any run including `sep`;
// `?` one character except `sep`; `[abc]`, `[a-z]`, `[!x]` a class; `\x` a literal x.
// Braces `{a,b}` are expanded before matching (expand_braces) — not here.
#pragma once

#include <cstddef>
#include <string_view>

namespace agentsh::glob {

// sep: '/' for paths, '\0' for "no separator" (domains, env names, commands).
bool match(const char* pat, size_t plen, const char* text, size_t tlen, char sep,
           bool icase) noexcept;

inline bool match(std::string_view pat, std::string_view text, char sep = '/',
                  bool icase = false) noexcept {
  return match(pat.data(), pat.size(), text.data(), text.size(), sep, icase);
}

// Length of the literal prefix of `pat` (before the first metacharacter).
size_t literal_prefix(const char* pat, size_t plen) noexcept;

// nullptr if `pat` is well formed, else a static description of what is wrong.
const char* validate(std::string_view pat) noexcept;

// True if the pattern has any metacharacter.
bool has_meta(std::string_view pat) noexcept;

}  // namespace agentsh::glob
