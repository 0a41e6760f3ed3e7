// A small POSIX-shell reader, enough to find the commands a `sh -c "STRING"` would run so
// that each can be checked against command rules. It is not a shell: it never expands
// variables, globs or aliases, and it errs towards finding *more* commands.
//
// Understood: words with '…', "…" and \ quoting; the separators ; & && || | |& and
// newlines; comments; leading NAME=value assignments; redirections (>f, 2>&1, <in, &>f,
// >>f, <<<word, <<EOF here-documents); subshells (…) and groups { …; }; command
// substitution $(…) and `…`; process substitution <(…) >(…); the reserved words of
// if/while/until/for/case, which are dropped. Substitutions become their own commands
// (they run too) and leave a placeholder word behind.
//
// Pure and allocation-happy (supervisor side only); thread-safe; no I/O.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace agentsh::shell_words {

struct Script {
  // Simple commands in the order they appear; words after quote removal, assignments
  // and redirections removed. Never contains an empty command.
  std::vector<std::vector<std::string>> commands;
  // False when something could not be read (unterminated quote, a substitution nested
  // deeper than the limit, an unexpected ')', a here-document that runs substitutions).
  // The commands found so far are still returned.
  bool complete = true;
};

// `max_depth` bounds nested substitutions/subshells (each level costs stack).
Script parse(std::string_view script, int max_depth = 8);

// Splits `text` into words with shell quoting rules only (for `env -S STRING`).
// Returns false on an unterminated quote (the words read so far are still stored).
bool split(std::string_view text, std::vector<std::string>* words);

// True if `word` is NAME=VALUE with a valid shell variable name.
bool is_assignment(std::string_view word);

}  // namespace agentsh::shell_words
