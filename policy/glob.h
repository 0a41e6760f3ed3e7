// Glob matching for paths, domains, commands and env names.
// Contract: no allocation, no exceptions, no recursion, O(len(pat) * len(text)) worst
// case — safe in the hook, in vfork children and in signal handlers.
//
// Syntax: `*` any run of characters except `sep`; `**` any run including `sep`;
// `?` one character except `sep`; `[abc]`, `[a-z]`, `[!x]`/`[^x]` a class (never matches
// `sep`; `]` first is a member); `\x` a literal x.
// A `**` that is a whole segment followed by `sep` (`/a/**/b`, leading `**/.env`) means
// "zero or more whole segments": `/a/**/b` matches `/a/b` and `/a/x/y/b`, `**/.env`
// matches `/.env`. A trailing `/**` needs the slash: `/tmp/**` matches `/tmp/` and
// `/tmp/a/b` but not `/tmp`. With sep == '\0' `*` and `**` are the same.
// Malformed patterns (see validate) match leniently: an unterminated `[` is a literal,
// a trailing `\` is a literal backslash.
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
