// agentsh policy validate FILE…  |  agentsh policy show [--policy P] [--config F]
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/config.h"
#include "policy/loader.h"

namespace agentsh::cmd {

namespace {

int validate(const Args& args) {
  ArgParser p("policy");
  p.flag("quiet");
  if (!p.parse(args)) return p.usage_error();
  if (p.positionals().empty()) return p.usage_error("validate needs at least one FILE");
  int rc = 0;
  for (const auto& file : p.positionals()) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fprintf(stderr, "%s: cannot read: %s\n", file.c_str(), strerror(errno));
      rc = 1;
      continue;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    if (policy::looks_like_server_config(text)) {
      ConfigLoad cl = load_config_text(text, file);
      if (!p.has("quiet"))
        for (const auto& w : cl.warnings) fprintf(stderr, "warning: %s\n", w.c_str());
      if (!cl.ok) {
        fprintf(stderr, "error: %s\n", cl.error.c_str());
        rc = 1;
      } else {
        printf("%s: OK (server config, %zu warning%s)\n", file.c_str(), cl.warnings.size(),
               cl.warnings.size() == 1 ? "" : "s");
      }
      continue;
    }
    policy::LoadResult r = policy::load_policy_text(text, file);
    if (!p.has("quiet"))
      for (const auto& w : r.warnings) fprintf(stderr, "warning: %s\n", w.format().c_str());
    for (const auto& e : r.errors) fprintf(stderr, "error: %s\n", e.format().c_str());
    if (!r.ok) {
      rc = 1;
      continue;
    }
    printf("%s: OK (policy '%s': %zu file, %zu network, %zu command rules; %zu warning%s)\n",
           file.c_str(), r.policy.name.c_str(), r.policy.file_rules.size(),
           r.policy.network_rules.size(), r.policy.command_rules.size(), r.warnings.size(),
           r.warnings.size() == 1 ? "" : "s");
  }
  return rc;
}

int show(const Args& args) {
  ArgParser p("policy");
  p.option("policy").option("config");
  if (!p.parse(args)) return p.usage_error();
  ConfigLoad cl = load_config(p.get("config"));
  if (!cl.ok) {
    fprintf(stderr, "agentsh: config error: %s\n", cl.error.c_str());
    return 2;
  }
  std::string origin, text, err;
  if (!resolve_policy(cl.config, p.get("policy"), &origin, &text, &err)) {
    fprintf(stderr, "agentsh: %s\n", err.c_str());
    return 2;
  }
  policy::LoadResult r = policy::load_policy_text(text, origin);
  for (const auto& e : r.errors) fprintf(stderr, "error: %s\n", e.format().c_str());
  if (!r.ok) return 1;
  const auto& pol = r.policy;
  printf("policy %s (%s)\n", pol.name.c_str(), origin.c_str());
  printf("file_rules:\n");
  for (const auto& fr : pol.file_rules) {
    printf("  %-28s %-11s", fr.name.c_str(),
           std::string(policy::decision_name(fr.decision)).c_str());
    for (const auto& g : fr.paths) printf(" %s", g.c_str());
    printf("\n");
  }
  printf("network_rules:\n");
  for (const auto& nr : pol.network_rules) {
    printf("  %-28s %-11s", nr.name.c_str(),
           std::string(policy::decision_name(nr.decision)).c_str());
    for (const auto& d : nr.domains) printf(" %s", d.c_str());
    for (const auto& c : nr.cidrs) printf(" %s", c.c_str());
    for (const auto& [lo, hi] : nr.ports) printf(lo == hi ? " :%u" : " :%u-%u", lo, hi);
    printf("\n");
  }
  printf("command_rules:\n");
  for (const auto& cr : pol.command_rules) {
    printf("  %-28s %-11s", cr.name.c_str(),
           std::string(policy::decision_name(cr.decision)).c_str());
    for (const auto& c : cr.commands) printf(" %s", c.c_str());
    for (const auto& a : cr.args_patterns) printf(" /%s/", a.c_str());
    printf("\n");
  }
  return 0;
}

}  // namespace

int policy(const Args& args) {
  if (args.empty()) {
    fprintf(stderr, "agentsh policy: validate FILE... | show [--policy P]\n");
    return 2;
  }
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "validate") return validate(rest);
  if (args[0] == "show") return show(rest);
  fprintf(stderr, "agentsh policy: unknown subcommand '%s' (validate, show)\n", args[0].c_str());
  return 2;
}

}  // namespace agentsh::cmd
