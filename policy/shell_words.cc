#include "policy/shell_words.h"

#include <cctype>

namespace agentsh::shell_words {

namespace {

bool is_name_start(char c) {
  return c == '_' || std::isalpha(static_cast<unsigned char>(c));
}
bool is_name_char(char c) {
  return c == '_' || std::isalnum(static_cast<unsigned char>(c));
}
bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}
// Characters that end an unquoted word.
bool is_meta(char c) {
  return is_blank(c) || c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' ||
         c == '<' || c == '>';
}

struct HereDoc {
  std::string delim;
  bool strip_tabs;
  bool expands;  // unquoted delimiter: $(…) in the body would run
};

// Reader state for one script. Recursion (substitutions, subshells) goes through
// parse_list with depth + 1; `out` collects every command found at any depth.
struct State {
  std::string_view s;
  size_t i = 0;
  int max_depth;
  Script* out;
  std::vector<HereDoc> pending;  // here-documents whose bodies start at the next newline
  bool substitutions = true;     // false for split(): $(…) and `…` are plain text

  bool eof() const { return i >= s.size(); }
  char peek(size_t k = 0) const { return i + k < s.size() ? s[i + k] : '\0'; }
};

bool parse_list(State& st, char stop, int depth);

// Runs a nested list ($(…), `…`, (…), <(…)) at depth + 1. Past the depth limit the
// script is marked incomplete and reading stops (returns false).
bool nested(State& st, char stop, int depth) {
  if (depth + 1 > st.max_depth) {
    st.out->complete = false;
    st.i = st.s.size();
    return false;
  }
  return parse_list(st, stop, depth + 1);
}

// Backquoted command substitution: the text up to the closing backquote, with \` \\ \$
// unescaped, is itself a script.
bool backquote(State& st, int depth) {
  std::string inner;
  while (!st.eof() && st.peek() != '`') {
    if (st.peek() == '\\' && (st.peek(1) == '`' || st.peek(1) == '\\' || st.peek(1) == '$')) {
      inner += st.peek(1);
      st.i += 2;
      continue;
    }
    inner += st.peek();
    ++st.i;
  }
  if (st.eof()) {
    st.out->complete = false;
    return false;
  }
  ++st.i;  // closing `
  if (depth + 1 > st.max_depth) {
    st.out->complete = false;
    return false;
  }
  State sub{inner, 0, st.max_depth, st.out, {}, true};
  return parse_list(sub, '\0', depth + 1);
}

// $… at st.i (the '$' itself). Appends literal text to `word` for what cannot be known.
bool dollar(State& st, std::string* word, int depth) {
  if (!st.substitutions) {
    *word += '$';
    ++st.i;
    return true;
  }
  if (st.peek(1) == '(' && st.peek(2) == '(') {
    // Arithmetic expansion $(( … )): no commands, but keep the text balanced.
    st.i += 3;
    int parens = 2;
    while (!st.eof() && parens > 0) {
      if (st.peek() == '(') ++parens;
      if (st.peek() == ')') --parens;
      ++st.i;
    }
    if (parens > 0) st.out->complete = false;
    *word += "$((…))";
    return parens == 0;
  }
  if (st.peek(1) == '(') {
    st.i += 2;
    *word += "$(…)";
    return nested(st, ')', depth);
  }
  if (st.peek(1) == '{') {
    // ${…}: parameter expansion; copied literally (it may hide a command name, which
    // then is checked as the literal text).
    size_t close = st.s.find('}', st.i + 2);
    if (close == std::string_view::npos) {
      st.out->complete = false;
      *word += st.s.substr(st.i);
      st.i = st.s.size();
      return false;
    }
    *word += st.s.substr(st.i, close + 1 - st.i);
    st.i = close + 1;
    return true;
  }
  *word += '$';
  ++st.i;
  return true;
}

// Reads one word (quote removal applied). Stops at a metacharacter.
bool read_word(State& st, std::string* word, int depth) {
  bool ok = true;
  while (!st.eof() && !is_meta(st.peek())) {
    char c = st.peek();
    if (c == '\\') {
      if (st.peek(1) == '\n') {
        st.i += 2;  // line continuation
      } else if (st.i + 1 < st.s.size()) {
        *word += st.peek(1);
        st.i += 2;
      } else {
        ++st.i;
      }
    } else if (c == '\'') {
      size_t close = st.s.find('\'', st.i + 1);
      if (close == std::string_view::npos) {
        st.out->complete = false;
        *word += st.s.substr(st.i + 1);
        st.i = st.s.size();
        return false;
      }
      *word += st.s.substr(st.i + 1, close - st.i - 1);
      st.i = close + 1;
    } else if (c == '"') {
      ++st.i;
      bool closed = false;
      while (!st.eof()) {
        char d = st.peek();
        if (d == '"') {
          ++st.i;
          closed = true;
          break;
        }
        if (d == '\\') {
          char n = st.peek(1);
          if (n == '$' || n == '`' || n == '"' || n == '\\') {
            *word += n;
            st.i += 2;
          } else if (n == '\n') {
            st.i += 2;
          } else {
            *word += d;
            ++st.i;
          }
        } else if (d == '$') {
          ok = dollar(st, word, depth) && ok;
        } else if (d == '`' && st.substitutions) {
          ++st.i;
          *word += "`…`";
          ok = backquote(st, depth) && ok;
        } else {
          *word += d;
          ++st.i;
        }
      }
      if (!closed) {
        st.out->complete = false;
        return false;
      }
    } else if (c == '$') {
      ok = dollar(st, word, depth) && ok;
    } else if (c == '`' && st.substitutions) {
      ++st.i;
      *word += "`…`";
      ok = backquote(st, depth) && ok;
    } else {
      *word += c;
      ++st.i;
    }
  }
  return ok;
}

void skip_blanks(State& st) {
  while (!st.eof()) {
    if (is_blank(st.peek())) {
      ++st.i;
    } else if (st.peek() == '\\' && st.peek(1) == '\n') {
      st.i += 2;
    } else {
      break;
    }
  }
}

// Skips here-document bodies after a newline.
void heredoc_bodies(State& st) {
  for (const HereDoc& h : st.pending) {
    bool found = false;
    while (!st.eof()) {
      size_t nl = st.s.find('\n', st.i);
      std::string_view line = st.s.substr(st.i, nl == std::string_view::npos ? nl : nl - st.i);
      st.i = nl == std::string_view::npos ? st.s.size() : nl + 1;
      if (h.strip_tabs) {
        while (!line.empty() && line[0] == '\t') line.remove_prefix(1);
      }
      if (line == h.delim) {
        found = true;
        break;
      }
      if (h.expands &&
          (line.find("$(") != std::string_view::npos || line.find('`') != std::string_view::npos)) {
        st.out->complete = false;  // a substitution we do not descend into
      }
    }
    if (!found) st.out->complete = false;
  }
  st.pending.clear();
}

// Reserved words that only shape control flow: dropped from the front of a command.
bool is_prefix_keyword(std::string_view w) {
  return w == "!" || w == "{" || w == "}" || w == "then" || w == "else" || w == "do" || w == "if" ||
         w == "elif" || w == "while" || w == "until" || w == "fi" || w == "done" || w == "esac";
}

void flush(State& st, std::vector<std::string>* words) {
  size_t k = 0;
  while (k < words->size() && is_prefix_keyword((*words)[k])) ++k;
  // `for x in …`, `select …`, `case … in`, `function f`, `[[ … ]]`: no command to run
  // (their substitutions were already collected when the words were read).
  if (k < words->size()) {
    const std::string& w = (*words)[k];
    if (w == "for" || w == "select" || w == "case" || w == "function" || w == "[[" || w == "in") {
      words->clear();
      return;
    }
  }
  while (k < words->size() && is_assignment((*words)[k])) ++k;
  if (k < words->size()) {
    st.out->commands.emplace_back(words->begin() + static_cast<long>(k), words->end());
  }
  words->clear();
}

// A redirection at st.i (after an optional fd number, already consumed). Process
// substitutions <(…) >(…) are arguments, returned through `arg`.
bool redirection(State& st, int depth, std::vector<std::string>* words) {
  char c = st.peek();
  if ((c == '<' || c == '>') && st.peek(1) == '(') {
    st.i += 2;
    words->push_back(c == '<' ? "<(…)" : ">(…)");
    return nested(st, ')', depth);
  }
  bool heredoc = false, strip_tabs = false;
  if (c == '&' && st.peek(1) == '>') {
    st.i += 2;
    if (st.peek() == '>') ++st.i;  // &>>
  } else if (c == '<') {
    ++st.i;
    if (st.peek() == '<') {
      ++st.i;
      if (st.peek() == '<') {
        ++st.i;  // <<< here-string: the next word is data
      } else {
        heredoc = true;
        if (st.peek() == '-') {
          ++st.i;
          strip_tabs = true;
        }
      }
    } else if (st.peek() == '>' || st.peek() == '&') {
      ++st.i;
    }
  } else {  // '>'
    ++st.i;
    if (st.peek() == '>' || st.peek() == '|' || st.peek() == '&') ++st.i;
  }
  skip_blanks(st);
  size_t start = st.i;
  std::string target;
  bool ok = read_word(st, &target, depth);
  if (st.i == start) {
    st.out->complete = false;  // a redirection without a target
    return false;
  }
  if (heredoc) {
    std::string_view raw = st.s.substr(start, st.i - start);
    bool quoted = raw.find_first_of("'\"\\") != std::string_view::npos;
    st.pending.push_back(HereDoc{target, strip_tabs, !quoted});
  }
  return ok;
}

bool parse_list(State& st, char stop, int depth) {
  std::vector<std::string> words;
  while (true) {
    skip_blanks(st);
    if (st.eof()) {
      flush(st, &words);
      if (stop != '\0') st.out->complete = false;  // unterminated (…)
      return stop == '\0';
    }
    char c = st.peek();
    if (stop != '\0' && c == stop) {
      ++st.i;
      flush(st, &words);
      return true;
    }
    if (c == '#') {  // a comment starts at the beginning of a word
      while (!st.eof() && st.peek() != '\n') ++st.i;
      continue;
    }
    if (c == '&' && st.peek(1) == '>') {
      redirection(st, depth, &words);
      continue;
    }
    if (c == '\n' || c == ';' || c == '&' || c == '|') {
      ++st.i;
      if ((c == '&' || c == '|' || c == ';') &&
          (st.peek() == c || (c == '|' && st.peek() == '&'))) {
        ++st.i;
      }
      flush(st, &words);
      if (c == '\n' && !st.pending.empty()) heredoc_bodies(st);
      continue;
    }
    if (c == '(') {
      ++st.i;
      if (!words.empty() && st.peek() == ')') {
        ++st.i;  // `name()` function definition: the body follows as a group
        words.clear();
        continue;
      }
      if (!words.empty()) st.out->complete = false;  // `cmd (…)` is not valid shell
      flush(st, &words);
      if (!nested(st, ')', depth)) return false;
      continue;
    }
    if (c == ')') {
      ++st.i;
      st.out->complete = false;  // unbalanced, or a `case` pattern
      flush(st, &words);
      continue;
    }
    if (c == '<' || c == '>') {
      redirection(st, depth, &words);
      continue;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) {
      // "2>file": digits directly followed by a redirection are an fd number.
      size_t k = st.i;
      while (k < st.s.size() && std::isdigit(static_cast<unsigned char>(st.s[k]))) ++k;
      if (k < st.s.size() && (st.s[k] == '<' || st.s[k] == '>')) {
        st.i = k;
        redirection(st, depth, &words);
        continue;
      }
    }
    std::string word;
    read_word(st, &word, depth);
    words.push_back(std::move(word));
  }
}

}  // namespace

bool is_assignment(std::string_view word) {
  size_t eq = word.find('=');
  if (eq == std::string_view::npos || eq == 0 || !is_name_start(word[0])) return false;
  for (size_t k = 1; k < eq; ++k) {
    // NAME+=value is an assignment too.
    if (!is_name_char(word[k]) && !(k == eq - 1 && word[k] == '+')) return false;
  }
  return true;
}

Script parse(std::string_view script, int max_depth) {
  Script out;
  State st{script, 0, max_depth, &out, {}, true};
  parse_list(st, '\0', 0);
  if (!st.pending.empty()) out.complete = false;  // here-document never closed
  return out;
}

bool split(std::string_view text, std::vector<std::string>* words) {
  Script scratch;
  State st{text, 0, 0, &scratch, {}, false};
  while (true) {
    while (!st.eof() && (is_blank(st.peek()) || st.peek() == '\n')) ++st.i;
    if (st.eof()) break;
    std::string w;
    size_t before = st.i;
    read_word(st, &w, 0);
    if (st.i == before) {
      // A metacharacter: in env -S it is literal text.
      w += st.peek();
      ++st.i;
    }
    words->push_back(std::move(w));
  }
  return scratch.complete;
}

}  // namespace agentsh::shell_words
