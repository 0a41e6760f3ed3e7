#include "agentsh/arg_parser.h"

#include <cstdio>

namespace agentsh {

ArgParser& ArgParser::option(const std::string& name) {
  options_.insert(name);
  return *this;
}
ArgParser& ArgParser::flag(const std::string& name) {
  flags_.insert(name);
  return *this;
}
ArgParser& ArgParser::repeated(const std::string& name) {
  repeated_.insert(name);
  return *this;
}

bool ArgParser::parse(const std::vector<std::string>& args, bool stop_at_positional) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      saw_dd_ = true;
      rest_.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      return true;
    }
    if (a.size() > 2 && a[0] == '-' && a[1] == '-') {
      std::string name = a.substr(2), value;
      bool has_value = false;
      if (auto eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      if (flags_.count(name)) {
        if (has_value) {
          error_ = "option --" + name + " takes no value";
          return false;
        }
        seen_flags_.insert(name);
        continue;
      }
      if (options_.count(name) || repeated_.count(name)) {
        if (!has_value) {
          if (i + 1 >= args.size()) {
            error_ = "option --" + name + " needs a value";
            return false;
          }
          value = args[++i];
        }
        auto& v = values_[name];
        if (options_.count(name) && !v.empty()) {
          error_ = "option --" + name + " given twice";
          return false;
        }
        v.push_back(value);
        continue;
      }
      error_ = "unknown option --" + name;
      return false;
    }
    if (a.size() > 1 && a[0] == '-' && a != "-") {
      error_ = "unknown option " + a;
      return false;
    }
    if (stop_at_positional) {
      rest_.assign(args.begin() + static_cast<long>(i), args.end());
      return true;
    }
    positionals_.push_back(a);
  }
  return true;
}

bool ArgParser::has(const std::string& name) const {
  return seen_flags_.count(name) > 0 || values_.count(name) > 0;
}

std::string ArgParser::get(const std::string& name, const std::string& def) const {
  auto it = values_.find(name);
  return it == values_.end() || it->second.empty() ? def : it->second.back();
}

std::vector<std::string> ArgParser::get_all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

int ArgParser::usage_error(const std::string& msg) const {
  fprintf(stderr, "agentsh %s: %s\nTry 'agentsh help %s'.\n", command_.c_str(),
          (msg.empty() ? error_ : msg).c_str(), command_.c_str());
  return 2;
}

}  // namespace agentsh
