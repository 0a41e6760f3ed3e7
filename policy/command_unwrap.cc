#include "policy/command_unwrap.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <string_view>

#include "policy/shell_words.h"

namespace agentsh::command_unwrap {

namespace {

using Argv = std::vector<std::string>;

// getopt-style option table. Every wrapper here stops at its first operand (their
// getopt strings start with '+'), so options after the command belong to the command.
struct OptSpec {
  std::string_view short_flags;    // -x
  std::string_view short_args;     // -x VALUE or -xVALUE
  std::string_view short_optargs;  // -x or -xVALUE (never the next word)
  std::vector<std::string_view> long_flags;
  std::vector<std::string_view> long_args;     // --name=VALUE or --name VALUE
  std::vector<std::string_view> long_optargs;  // --name or --name=VALUE
  bool numeric_short = false;                  // nice's -5 / -10
  bool dash_is_operand = true;                 // a lone "-" is an operand
};

using OnOpt = std::function<void(std::string_view name, const std::string* value)>;

bool contains(const std::vector<std::string_view>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Parses options from argv[1]. Returns the index of the first operand (argv.size() when
// there is none), or -1 for an option the tool does not know. Long options may be
// abbreviated to a unique prefix, as getopt_long allows.
long parse_opts(const Argv& argv, const OptSpec& spec, const OnOpt& on = {}) {
  size_t i = 1;
  while (i < argv.size()) {
    const std::string& a = argv[i];
    if (a == "--") return static_cast<long>(i + 1);
    if (a.size() < 2 || a[0] != '-') return static_cast<long>(i);
    if (a[1] == '-') {
      std::string_view body = std::string_view(a).substr(2);
      size_t eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      // Exact match first, then a unique prefix.
      auto resolve = [&](std::string_view* out, int* kind) {
        const std::vector<std::string_view>* lists[] = {&spec.long_flags, &spec.long_args,
                                                        &spec.long_optargs};
        for (int k = 0; k < 3; ++k) {
          if (contains(*lists[k], name)) {
            *out = name;
            *kind = k;
            return true;
          }
        }
        int hits = 0;
        for (int k = 0; k < 3; ++k) {
          for (std::string_view cand : *lists[k]) {
            if (cand.substr(0, name.size()) == name) {
              *out = cand;
              *kind = k;
              ++hits;
            }
          }
        }
        return hits == 1;
      };
      std::string_view full;
      int kind = -1;
      if (name.empty() || !resolve(&full, &kind)) return -1;
      if (kind == 0) {
        if (eq != std::string_view::npos) return -1;
        if (on) on(full, nullptr);
        ++i;
      } else if (kind == 1) {
        std::string value;
        if (eq != std::string_view::npos) {
          value = std::string(body.substr(eq + 1));
          ++i;
        } else {
          if (i + 1 >= argv.size()) return -1;
          value = argv[i + 1];
          i += 2;
        }
        if (on) on(full, &value);
      } else {
        std::string value;
        if (eq != std::string_view::npos) value = std::string(body.substr(eq + 1));
        if (on) on(full, eq != std::string_view::npos ? &value : nullptr);
        ++i;
      }
      continue;
    }
    if (spec.numeric_short && std::all_of(a.begin() + 1, a.end(), [](char c) {
          return std::isdigit(static_cast<unsigned char>(c));
        })) {
      ++i;
      continue;
    }
    // A cluster of short options.
    size_t next = i + 1;
    for (size_t k = 1; k < a.size(); ++k) {
      char c = a[k];
      std::string_view opt(&a[k], 1);
      if (spec.short_flags.find(c) != std::string_view::npos) {
        if (on) on(opt, nullptr);
      } else if (spec.short_args.find(c) != std::string_view::npos) {
        std::string value;
        if (k + 1 < a.size()) {
          value = a.substr(k + 1);
        } else {
          if (next >= argv.size()) return -1;
          value = argv[next++];
        }
        if (on) on(opt, &value);
        break;
      } else if (spec.short_optargs.find(c) != std::string_view::npos) {
        std::string value = a.substr(k + 1);
        if (on) on(opt, k + 1 < a.size() ? &value : nullptr);
        break;
      } else {
        return -1;
      }
    }
    i = next;
  }
  return static_cast<long>(argv.size());
}

Argv tail(const Argv& argv, size_t from) {
  if (from >= argv.size()) return {};
  return Argv(argv.begin() + static_cast<long>(from), argv.end());
}

bool is_number(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

bool is_shell(std::string_view n) {
  return n == "sh" || n == "bash" || n == "dash" || n == "zsh" || n == "ksh" || n == "ash" ||
         n == "mksh" || n == "yash" || n == "posh" || n == "rbash";
}

bool is_wrapper(const std::string& name) {
  const std::vector<std::string>& w = wrapper_names();
  return std::find(w.begin(), w.end(), name) != w.end();
}

struct Walker {
  int max_depth;
  Result* out;

  void walk(const Argv& argv, int depth) {
    if (argv.empty() || argv[0].empty()) return;
    if (depth > max_depth) {
      out->truncated = true;
      return;
    }
    out->layers.push_back(Layer{argv, depth, depth > 0});
    for (Argv& inner : inner_commands(argv, depth)) walk(inner, depth + 1);
  }

  // Commands of a shell script (sh -c / eval) at this level.
  std::vector<Argv> script(std::string_view text) {
    shell_words::Script s = shell_words::parse(text, max_depth);
    std::vector<Argv> cmds = std::move(s.commands);
    if (!s.complete) {
      out->incomplete = true;
      // Whatever the reader made of it, the first word is a command the shell runs.
      size_t b = text.find_first_not_of(" \t\n;&|(");
      if (b != std::string_view::npos) {
        size_t e = text.find_first_of(" \t\n;&|()<>", b);
        std::string first(text.substr(b, e == std::string_view::npos ? e : e - b));
        if (!first.empty()) cmds.insert(cmds.begin(), Argv{first});
      }
    }
    return cmds;
  }

  std::vector<Argv> inner_commands(const Argv& argv, int depth) {
    (void)depth;
    const std::string name = wrapper_name(argv[0]);
    if (!is_wrapper(name)) return {};  // the gate the exec fast table relies on
    if (name == "env") return env_inner(argv);
    if (name == "nice") {
      OptSpec spec{"", "n", "", {}, {"adjustment"}, {}, true};
      return operands_as_command(argv, spec, 0);
    }
    if (name == "nohup") {
      OptSpec spec{"", "", "", {}, {}, {}};
      return operands_as_command(argv, spec, 0);
    }
    if (name == "timeout") {
      OptSpec spec{
          "vfp", "ks", "", {"foreground", "preserve-status", "verbose"}, {"kill-after", "signal"},
          {}};
      return operands_as_command(argv, spec, 1);  // DURATION first
    }
    if (name == "time") {
      OptSpec spec{
          "pvqa", "fo", "", {"portability", "verbose", "quiet", "append"}, {"format", "output"},
          {}};
      return operands_as_command(argv, spec, 0);
    }
    if (name == "stdbuf") {
      OptSpec spec{"", "ioe", "", {}, {"input", "output", "error"}, {}};
      return operands_as_command(argv, spec, 0);
    }
    if (name == "setsid") {
      OptSpec spec{"cfw", "", "", {"ctty", "fork", "wait"}, {}, {}};
      return operands_as_command(argv, spec, 0);
    }
    if (name == "xargs") return xargs_inner(argv);
    if (name == "chrt") return chrt_inner(argv);
    if (name == "ionice") return ionice_inner(argv);
    if (name == "taskset") return taskset_inner(argv);
    if (name == "exec") {
      OptSpec spec{"cl", "a", "", {}, {}, {}};
      return operands_as_command(argv, spec, 0);
    }
    if (name == "command") {
      bool lookup_only = false;
      OptSpec spec{"pvV", "", "", {}, {}, {}};
      long first = parse_opts(argv, spec, [&](std::string_view o, const std::string*) {
        if (o == "v" || o == "V") lookup_only = true;
      });
      if (first < 0 || lookup_only) return {};
      return {tail(argv, static_cast<size_t>(first))};
    }
    if (name == "busybox") return {tail(argv, 1)};
    if (name == "find") return find_inner(argv);
    if (name == "eval") {
      std::string text;
      for (size_t k = 1; k < argv.size(); ++k) text += (k > 1 ? " " : "") + argv[k];
      return script(text);
    }
    if (is_shell(name)) return shell_inner(argv);
    return {};
  }

  // `skip` operands (e.g. timeout's DURATION) come before the command.
  std::vector<Argv> operands_as_command(const Argv& argv, const OptSpec& spec, size_t skip) {
    long first = parse_opts(argv, spec);
    if (first < 0) return {};
    size_t at = static_cast<size_t>(first) + skip;
    if (at >= argv.size()) return {};
    return {tail(argv, at)};
  }

  std::vector<Argv> env_inner(const Argv& argv) {
    // `env -S "cmd args"` / --split-string: the string is split into words that come
    // before the remaining operands.
    Argv split_words;
    bool bad = false;
    OptSpec spec{"i0v",
                 "uCS",
                 "",
                 {"ignore-environment", "null", "debug", "list-signal-handling"},
                 {"unset", "chdir", "split-string"},
                 {"ignore-signal", "default-signal", "block-signal"}};
    long first = parse_opts(argv, spec, [&](std::string_view o, const std::string* v) {
      if ((o == "S" || o == "split-string") && v != nullptr) {
        if (!shell_words::split(*v, &split_words)) bad = true;
      }
    });
    if (first < 0) return {};
    if (bad) out->incomplete = true;
    Argv rest = split_words;
    for (size_t k = static_cast<size_t>(first); k < argv.size(); ++k) rest.push_back(argv[k]);
    size_t k = 0;
    // A lone "-" is the old spelling of -i; NAME=VALUE words set variables.
    while (k < rest.size() && (rest[k] == "-" || rest[k].find('=') != std::string::npos)) ++k;
    if (k >= rest.size()) return {};
    return {tail(rest, k)};
  }

  std::vector<Argv> xargs_inner(const Argv& argv) {
    bool no_command = false;
    OptSpec spec{
        "0prtxo",
        "adEILnPs",
        "eil",
        {"null", "interactive", "no-run-if-empty", "verbose", "exit", "open-tty", "show-limits",
         "help", "version"},
        {"arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"},
        {"eof", "replace", "max-lines"}};
    long first = parse_opts(argv, spec, [&](std::string_view o, const std::string*) {
      if (o == "help" || o == "version") no_command = true;
    });
    if (first < 0 || no_command) return {};
    if (static_cast<size_t>(first) >= argv.size()) return {Argv{"echo"}};  // the default
    return {tail(argv, static_cast<size_t>(first))};
  }

  std::vector<Argv> chrt_inner(const Argv& argv) {
    bool no_command = false;
    OptSpec spec{"abdfiorRmpvhV",
                 "TPD",
                 "",
                 {"all-tasks", "batch", "deadline", "fifo", "idle", "other", "rr", "reset-on-fork",
                  "max", "pid", "verbose", "help", "version"},
                 {"sched-runtime", "sched-period", "sched-deadline"},
                 {}};
    long first = parse_opts(argv, spec, [&](std::string_view o, const std::string*) {
      if (o == "p" || o == "pid" || o == "m" || o == "max" || o == "h" || o == "help" || o == "V" ||
          o == "version") {
        no_command = true;
      }
    });
    if (first < 0 || no_command) return {};
    size_t at = static_cast<size_t>(first);
    if (at < argv.size() && is_number(argv[at])) ++at;  // the priority
    if (at >= argv.size()) return {};
    return {tail(argv, at)};
  }

  std::vector<Argv> ionice_inner(const Argv& argv) {
    bool no_command = false;
    OptSpec spec{"thV",
                 "cnpPu",
                 "",
                 {"ignore", "help", "version"},
                 {"class", "classdata", "pid", "pgid", "uid"},
                 {}};
    long first = parse_opts(argv, spec, [&](std::string_view o, const std::string*) {
      if (o == "p" || o == "P" || o == "u" || o == "pid" || o == "pgid" || o == "uid" || o == "h" ||
          o == "help" || o == "V" || o == "version") {
        no_command = true;
      }
    });
    if (first < 0 || no_command || static_cast<size_t>(first) >= argv.size()) return {};
    return {tail(argv, static_cast<size_t>(first))};
  }

  std::vector<Argv> taskset_inner(const Argv& argv) {
    bool no_command = false;
    OptSpec spec{"acpVh", "", "", {"all-tasks", "cpu-list", "pid", "version", "help"}, {}, {}};
    long first = parse_opts(argv, spec, [&](std::string_view o, const std::string*) {
      if (o == "p" || o == "pid" || o == "V" || o == "version" || o == "h" || o == "help") {
        no_command = true;
      }
    });
    if (first < 0 || no_command) return {};
    size_t at = static_cast<size_t>(first) + 1;  // the mask / cpu list
    if (at >= argv.size()) return {};
    return {tail(argv, at)};
  }

  std::vector<Argv> find_inner(const Argv& argv) {
    std::vector<Argv> cmds;
    for (size_t k = 1; k < argv.size(); ++k) {
      const std::string& a = argv[k];
      if (a != "-exec" && a != "-execdir" && a != "-ok" && a != "-okdir") continue;
      Argv cmd;
      size_t j = k + 1;
      for (; j < argv.size(); ++j) {
        if (argv[j] == ";" || (argv[j] == "+" && !cmd.empty() && cmd.back() == "{}")) break;
        cmd.push_back(argv[j]);
      }
      if (!cmd.empty()) cmds.push_back(std::move(cmd));
      k = j;
    }
    return cmds;
  }

  std::vector<Argv> shell_inner(const Argv& argv) {
    bool has_c = false;
    size_t k = 1;
    for (; k < argv.size(); ++k) {
      const std::string& a = argv[k];
      if (a == "--" || a == "-") {
        ++k;
        break;
      }
      if (a.size() >= 2 && a[0] == '-' && a[1] == '-') {
        // bash long options; two of them take a value.
        if (a == "--rcfile" || a == "--init-file") ++k;
        continue;
      }
      if (a.size() < 2 || (a[0] != '-' && a[0] != '+')) break;
      bool takes_next = false;
      for (size_t j = 1; j < a.size(); ++j) {
        if (a[j] == 'c') has_c = true;
        if (a[j] == 'o' || a[j] == 'O') takes_next = true;  // -o option-name
      }
      if (takes_next) ++k;
    }
    if (!has_c || k >= argv.size()) return {};  // a script file or stdin: not ours to read
    return script(argv[k]);
  }
};

}  // namespace

std::string wrapper_name(const std::string& argv0) {
  size_t slash = argv0.rfind('/');
  std::string base = slash == std::string::npos ? argv0 : argv0.substr(slash + 1);
  constexpr std::string_view kReal = ".real";
  if (base.size() > kReal.size() &&
      base.compare(base.size() - kReal.size(), kReal.size(), kReal) == 0) {
    base.resize(base.size() - kReal.size());
  }
  return base;
}

const std::vector<std::string>& wrapper_names() {
  static const std::vector<std::string> kNames = {
      "env",    "nice",    "nohup", "timeout", "time",    "stdbuf", "setsid", "xargs", "chrt",
      "ionice", "taskset", "exec",  "command", "busybox", "find",   "eval",   "sh",    "bash",
      "dash",   "zsh",     "ksh",   "ash",     "mksh",    "yash",   "posh",   "rbash"};
  return kNames;
}

Result unwrap(const std::vector<std::string>& argv, int max_depth) {
  Result r;
  Walker w{max_depth, &r};
  w.walk(argv, 0);
  return r;
}

}  // namespace agentsh::command_unwrap
