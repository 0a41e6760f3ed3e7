#include "policy/message_template.h"

namespace agentsh::message_template {

namespace {

bool lookup(std::string_view name, const Fields& f, std::string_view* out) {
  struct Entry {
    std::string_view name;
    std::string_view value;
  };
  const Entry table[] = {
      {"Path", f.path},       {"Operation", f.operation},    {"Args", f.args},
      {"Command", f.command}, {"RemoteAddr", f.remote_addr}, {"RemotePort", f.remote_port},
      {"Domain", f.domain}};
  for (const Entry& e : table) {
    if (e.name == name) {
      if (e.value.data() == nullptr) return false;  // not available in this context
      *out = e.value;
      return true;
    }
  }
  return false;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string expand(std::string_view tmpl, const Fields& f) {
  std::string out;
  out.reserve(tmpl.size());
  size_t i = 0;
  while (i < tmpl.size()) {
    size_t open = tmpl.find("{{", i);
    if (open == std::string_view::npos) break;
    size_t close = tmpl.find("}}", open + 2);
    if (close == std::string_view::npos) break;
    out.append(tmpl.substr(i, open - i));
    std::string_view inner = trim(tmpl.substr(open + 2, close - open - 2));
    std::string_view value;
    if (!inner.empty() && inner[0] == '.' && lookup(inner.substr(1), f, &value)) {
      out.append(value);
    } else {
      out.append(tmpl.substr(open, close + 2 - open));
    }
    i = close + 2;
  }
  out.append(tmpl.substr(i));
  return out;
}

}  // namespace agentsh::message_template
