// agentsh session create --workspace DIR [--policy P] [--json] | list [--json] | destroy ID
//
// Works without a server: it uses the session store (sessions.base_dir of the config
// found by --config / $AGENTSH_CONFIG / the lookup) directly, the same files the server
// and `agentsh exec --session` read.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "agentsh/api_json.h"
#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/config.h"
#include "agentsh/session_store.h"

namespace agentsh::cmd {

int session(const Args& args) {
  ArgParser p("session");
  p.option("config").option("workspace").option("policy").flag("json");
  if (!p.parse(args)) return p.usage_error();
  const auto& pos = p.positionals();
  if (pos.empty()) return p.usage_error("expected one of: create, list, destroy");
  const std::string& verb = pos[0];
  if (verb != "create" && verb != "list" && verb != "destroy")
    return p.usage_error("unknown session command '" + verb +
                         "' (expected create, list or destroy)");
  if (verb == "destroy" ? pos.size() != 2 : pos.size() != 1)
    return p.usage_error(verb == "destroy" ? "usage: agentsh session destroy ID"
                                           : "unexpected argument '" + pos.back() + "'");
  if (verb == "create" && !p.has("workspace"))
    return p.usage_error("session create needs --workspace DIR");

  ConfigLoad load = load_config(p.get("config"));
  if (!load.ok) {
    fprintf(stderr, "agentsh session: %s\n", load.error.c_str());
    return 1;
  }
  SessionStore store(load.config.sessions_dir);
  std::string err;
  bool json = p.has("json");

  if (verb == "create") {
    auto s = store.create(p.get("workspace"), p.get("policy"), &err);
    if (!s) {
      fprintf(stderr, "agentsh session create: %s\n", err.c_str());
      return 1;
    }
    if (json)
      printf("%s\n", api_json::dump(nlohmann::json{{"id", s->id},
                                                   {"workspace", s->workspace},
                                                   {"project_root", s->project_root},
                                                   {"git_root", s->git_root},
                                                   {"policy", s->policy}})
                         .c_str());
    else
      printf("%s\n", s->id.c_str());
    return 0;
  }
  if (verb == "list") {
    auto all = store.list();
    if (json) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& s : all) list.push_back(api_json::session(s));
      printf("%s\n", api_json::dump(list).c_str());
      return 0;
    }
    if (all.empty()) {
      printf("no sessions in %s\n", store.dir().c_str());
      return 0;
    }
    printf("%-22s %-28s %s\n", "ID", "CREATED", "WORKSPACE");
    for (const auto& s : all)
      printf("%-22s %-28s %s\n", s.id.c_str(), api_json::rfc3339(s.created_us).c_str(),
             s.workspace.c_str());
    return 0;
  }
  if (!store.destroy(pos[1], &err)) {
    fprintf(stderr, "agentsh session destroy: %s\n", err.c_str());
    return 1;
  }
  printf("destroyed %s\n", pos[1].c_str());
  return 0;
}

}  // namespace agentsh::cmd
