// Rule messages are Go-template-like strings from the reference policies:
// "Agent wants to access SSH keys: {{.Path}}". Only plain field references are
// understood — {{.Path}}, {{.Operation}}, {{.Args}}, {{.Command}}, {{.RemoteAddr}},
// {{.RemotePort}}, {{.Domain}} — with optional spaces inside the braces. A field that is
// unknown or has no value in this context is left as written, so a message never loses
// text silently. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace agentsh::message_template {

struct Fields {
  std::string_view path, operation, args, command, remote_addr, remote_port, domain;
};

std::string expand(std::string_view tmpl, const Fields& f);

}  // namespace agentsh::message_template
