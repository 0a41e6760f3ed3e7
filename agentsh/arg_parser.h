// A small, strict command-line parser shared by every subcommand: `--name value`,
// `--name=value`, boolean `--flag`, positionals, and `--` ending the options.
// Unknown options are errors (exit 2 with a hint), never silently ignored.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace agentsh {

class ArgParser {
 public:
  explicit ArgParser(std::string command) : command_(std::move(command)) {}
  ArgParser& option(const std::string& name);    // takes a value: --name V | --name=V
  ArgParser& flag(const std::string& name);      // boolean
  ArgParser& repeated(const std::string& name);  // takes a value, may repeat
  // Parses; stops at "--" (the rest is available via rest()). If `stop_at_positional`,
  // the first positional and everything after it also go to rest() (for exec-like
  // commands). Returns false and fills error() on bad usage.
  bool parse(const std::vector<std::string>& args, bool stop_at_positional = false);

  bool has(const std::string& name) const;
  std::string get(const std::string& name, const std::string& def = "") const;
  std::vector<std::string> get_all(const std::string& name) const;
  const std::vector<std::string>& positionals() const { return positionals_; }
  const std::vector<std::string>& rest() const { return rest_; }
  bool saw_double_dash() const { return saw_dd_; }
  const std::string& error() const { return error_; }
  // Prints "agentsh <command>: <error>" and a hint to stderr; returns 2.
  int usage_error(const std::string& msg = "") const;

 private:
  std::string command_;
  std::set<std::string> options_, flags_, repeated_;
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> seen_flags_;
  std::vector<std::string> positionals_, rest_;
  bool saw_dd_ = false;
  std::string error_;
};

}  // namespace agentsh
