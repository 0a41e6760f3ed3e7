// Builds a snapshot blob (snapshot_format.h). Used once per run by Engine::compile.
// Ordinary C++ (allocates, may throw std::bad_alloc); never linked into the hook.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "policy/cidr.h"
#include "policy/decision.h"
#include "policy/snapshot_format.h"

namespace agentsh::snapshot {

class Builder {
 public:
  Builder();
  // `globs` must already be variable- and brace-expanded. A glob "X/**" also covers X
  // itself for the non-mutating ops of the rule (see the .cc).
  void add_file_rule(std::string_view name, std::string_view message, std::string_view redirect_to,
                     policy::OpMask ops, policy::Decision d, const std::vector<std::string>& globs);
  // `domains` are lower-cased here; ports are inclusive ranges.
  void add_net_rule(std::string_view name, std::string_view message, policy::Decision d,
                    const std::vector<std::string>& domains, const std::vector<cidr::Cidr>& cidrs,
                    const std::vector<std::pair<uint16_t, uint16_t>>& ports);
  void add_protected(std::string_view path, ProtectKind kind);
  void set_flags(uint32_t flags) { flags_ = flags; }
  void set_approval_mode(policy::ApprovalMode m) { approval_mode_ = m; }
  void set_session(std::string_view session_id, std::string_view broker_socket,
                   std::string_view hook_library, std::string_view snapshot_path,
                   std::string_view policy_name, uint16_t proxy_port, uint16_t dns_port);
  void set_trash_dir(std::string_view dir) { trash_dir_ = dir; }
  void set_gate_addr(uint64_t addr) { gate_addr_ = addr; }

  // The exec fast table (snapshot_format.h ExecFast). Without enable_exec_fast() the
  // snapshot has none and the hook asks the broker about every exec.
  struct ExecName {
    std::string text;   // variables expanded
    bool glob = false;  // a well-formed glob with metacharacters
    bool path = false;  // contains '/': compared with the whole path
  };
  void enable_exec_fast() { exec_fast_ = true; }
  // One command rule that applies in the nested context, in policy order (the caller
  // skips `context: [direct]`-only rules). No names, or the name "*": every command.
  void add_exec_rule(policy::Decision d, bool has_args, const std::vector<ExecName>& names);
  // A command command_unwrap looks inside (by its wrapper_name).
  void add_exec_wrapper(std::string_view name);
  // Lays out the blob. The Builder may be reused after finish() only by a new instance.
  std::string finish();

 private:
  struct PendingFileRule;
  struct PendingNetRule;
  std::vector<PendingFileRule> file_rules_;
  std::vector<PendingNetRule> net_rules_;
  std::vector<std::pair<std::string, ProtectKind>> protect_;
  uint32_t flags_ = kFlagEnforce;
  policy::ApprovalMode approval_mode_ = policy::ApprovalMode::kNone;
  std::string session_id_, broker_socket_, hook_library_, snapshot_path_, policy_name_;
  uint16_t proxy_port_ = 0, dns_port_ = 0;
  std::string trash_dir_;
  uint64_t gate_addr_ = 0;
  struct PendingExecRule {
    policy::Decision decision;
    bool has_args;
    std::vector<ExecName> names;
  };
  bool exec_fast_ = false;
  std::vector<PendingExecRule> exec_rules_;
  std::vector<std::string> exec_wrappers_;

 public:
  ~Builder();
};

}  // namespace agentsh::snapshot
