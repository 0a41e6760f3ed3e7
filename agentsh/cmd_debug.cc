// agentsh debug policy-test --op OP --path P [--policy P] [--config F] [--workspace DIR]
//                           [--session ID] [--json]
// Asks the compiled policy one question and prints Decision/Effective/Rule/Reason.
// PROJECT_ROOT comes from --workspace (else --session's workspace, else the current
// directory): a session inherited from the environment is deliberately not used, so a
// policy test asks about the policy, not about whichever session the shell is in.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/policy_context.h"
#include "policy/engine.h"

namespace agentsh::cmd {

namespace {

std::string upper(std::string_view s) {
  std::string u(s);
  for (auto& c : u) c = static_cast<char>(toupper(static_cast<unsigned char>(c)));
  return u;
}

std::string effect_name(policy::Effect e) {
  switch (e) {
    case policy::Effect::kAllow:
      return "allow";
    case policy::Effect::kDeny:
      return "deny";
    case policy::Effect::kAsk:
      return "approve";
  }
  return "deny";
}

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

int policy_test(const Args& args) {
  ArgParser p("debug");
  p.option("op")
      .option("path")
      .option("policy")
      .option("config")
      .option("workspace")
      .option("session");
  p.flag("json");
  if (!p.parse(args)) return p.usage_error();
  if (!p.has("op") || !p.has("path")) return p.usage_error("policy-test needs --op and --path");
  std::string op = p.get("op"), target = p.get("path");

  ContextRequest req;
  req.config_path = p.get("config");
  req.policy_arg = p.get("policy");
  req.workspace = p.get("workspace");
  req.session_id = p.get("session");
  req.session_required = p.has("session");
  PolicyContext ctx;
  std::string err;
  if (!load_policy_context(req, &ctx, &err)) {
    fprintf(stderr, "agentsh: %s\n", err.c_str());
    return 2;
  }
  policy::EngineOptions eo;
  eo.approval_mode = ctx.cfg.approval_mode();
  auto engine = policy::Engine::compile(ctx.policy, ctx.vars, eo, &err);
  if (!engine) {
    fprintf(stderr, "agentsh: policy error: %s\n", err.c_str());
    return 2;
  }

  policy::Verdict v;
  std::string kind;
  if (op == "exec" || op == "command") {
    kind = "command";
    auto argv = split_words(target);
    if (argv.empty()) return p.usage_error("--path for exec is the command line");
    v = engine->check_command(argv);
  } else if (op == "net_connect" || op == "network" || op == "connect") {
    kind = "network";
    // host, host:port, [v6]:port, or a bare IPv6 address.
    std::string host = target, port_s;
    if (!target.empty() && target[0] == '[') {
      auto close = target.find(']');
      if (close == std::string::npos) return p.usage_error("bad address '" + target + "'");
      host = target.substr(1, close - 1);
      if (close + 1 < target.size() && target[close + 1] == ':') port_s = target.substr(close + 2);
    } else if (std::count(target.begin(), target.end(), ':') == 1) {
      host = target.substr(0, target.find(':'));
      port_s = target.substr(target.find(':') + 1);
    }
    uint16_t port = 0;
    if (!port_s.empty()) {
      char* end = nullptr;
      long n = strtol(port_s.c_str(), &end, 10);
      if (*end != '\0' || n < 1 || n > 65535) return p.usage_error("bad port in '" + target + "'");
      port = static_cast<uint16_t>(n);
    }
    bool is_ip = host.find_first_not_of("0123456789.") == std::string::npos ||
                 host.find(':') != std::string::npos;
    v = engine->check_network(is_ip ? "" : host, is_ip ? host : "", port);
  } else {
    kind = "file";
    policy::OpMask mask = 0;
    if (!policy::parse_file_op(op, &mask) || mask == 0 || (mask & (mask - 1)) != 0)
      return p.usage_error("unknown --op '" + op +
                           "' (file_read, file_write, file_create, file_delete, file_stat, "
                           "file_list, …, exec, net_connect)");
    int bit = __builtin_ctz(mask);
    if (target.empty() || target[0] != '/') {
      target = ctx.workspace + "/" + target;
    }
    v = engine->check_file(target, static_cast<policy::FileOp>(bit));
  }

  if (p.has("json")) {
    nlohmann::json j = {{"op", op},
                        {"kind", kind},
                        {"target", target},
                        {"decision", std::string(policy::decision_name(v.decision))},
                        {"effective", effect_name(v.effect)},
                        {"rule", v.rule},
                        {"reason", v.reason},
                        {"message", v.message},
                        {"policy", ctx.policy_origin}};
    if (!v.subject.empty()) j["subject"] = v.subject;
    printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  printf("Decision:  %s\n", upper(policy::decision_name(v.decision)).c_str());
  printf("Effective: %s\n", effect_name(v.effect).c_str());
  printf("Rule:      %s\n", v.rule.empty() ? "(none)" : v.rule.c_str());
  printf("Reason:    %s\n",
         v.reason.empty() ? (v.message.empty() ? "-" : v.message.c_str()) : v.reason.c_str());
  if (!v.subject.empty()) printf("Subject:   %s\n", v.subject.c_str());
  return 0;
}

}  // namespace

int debug(const Args& args) {
  if (args.empty() || args[0] != "policy-test") {
    fprintf(stderr, "agentsh debug: policy-test --op OP --path P [--json]\n");
    return 2;
  }
  return policy_test(Args(args.begin() + 1, args.end()));
}

}  // namespace agentsh::cmd
