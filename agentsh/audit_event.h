// One audit record: one decision about one operation.
#pragma once

#include <cstdint>
#include <string>

namespace agentsh {

struct AuditEvent {
  int64_t ts_us = 0;       // wall clock, microseconds since the epoch (0 = now)
  std::string session;     // session id ("" = none)
  std::string command_id;  // id of the agentsh exec / API exec that this belongs to
  int64_t pid = 0;
  std::string
      type;  // exec | file | network | dns | signal | env | llm | approval | session | system
  std::string operation;  // e.g. file: read/write/…; exec: exec; network: connect
  std::string target;     // path, command line, host:port, …
  std::string decision;   // what the policy said: allow/deny/approve/audit/soft_delete/redirect
  std::string effective;  // what happened: allow/deny
  std::string rule;
  std::string message;
  std::string source;  // who decided: policy | hook | tracer | proxy | dns | server
};

}  // namespace agentsh
