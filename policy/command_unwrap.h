// Finds every command a command line would start: the command itself, then whatever each
// wrapper it names runs — `env [opts] [NAME=V…] cmd`, `nice`, `nohup`, `timeout`, `time`,
// `stdbuf`, `xargs` (default: echo), `setsid`, `chrt`, `ionice`, `taskset`, `exec`,
// `command`, `find … -exec cmd … ;`, and `sh|bash|dash|zsh|ksh|ash|mksh [-opts] -c STRING`
// / `eval STRING`, whose STRING is read with shell_words and each simple command in it
// unwrapped again. Every layer is returned so the engine can check each one: a policy
// that denies `sudo` must also deny `env sudo` and `bash -c "echo; sudo ls"`.
//
// Wrapper names are matched on the basename with a ".real" suffix removed (the shell
// shim installs the real bash as bash.real). Options are parsed the way the GNU/util-linux
// tools parse them; an option a wrapper does not know stops unwrapping at that layer (the
// wrapper itself would refuse to run).
//
// Pure; thread-safe; no I/O. Supervisor side only (allocates).
#pragma once

#include <string>
#include <vector>

namespace agentsh::command_unwrap {

struct Layer {
  std::vector<std::string> argv;
  int depth = 0;        // 0 = the command line itself; +1 per wrapper / shell level
  bool nested = false;  // found inside another command (depth > 0)
};

struct Result {
  std::vector<Layer> layers;  // outermost first, in the order they were found
  // More wrapper/shell levels than `max_depth`: the innermost were not examined.
  bool truncated = false;
  // A `-c STRING` that could not be read completely (unterminated quote, …). The commands
  // that were found, and the first word, are still layers.
  bool incomplete = false;
};

Result unwrap(const std::vector<std::string>& argv, int max_depth = 8);

// The name wrappers are recognised by: basename, minus a trailing ".real".
std::string wrapper_name(const std::string& argv0);

// Every wrapper_name unwrap() looks inside (shells included). A command whose
// wrapper_name is not listed here is always exactly one layer: the list is the gate of
// unwrap() itself, so the hook's exec fast table (snapshot ExecFast), which leaves
// these to the broker, cannot miss one.
const std::vector<std::string>& wrapper_names();

}  // namespace agentsh::command_unwrap
