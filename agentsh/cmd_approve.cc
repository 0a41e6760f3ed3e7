// agentsh approve list [--json] | resolve ID --allow|--deny [--reason TEXT]
//
// Talks to the running server (--server URL, else $AGENTSH_SERVER, else the config's
// http_addr): lists the approvals waiting for a person, or answers one. The answer is
// recorded as "cli:<user>" in the audit trail.
#include <pwd.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "agentsh/api_json.h"
#include "agentsh/approval_client.h"
#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/config.h"
#include "agentsh/http_server_lib.h"

namespace agentsh::cmd {

namespace {

std::string user_name() {
  struct passwd pw, *out = nullptr;
  char buf[4096];
  if (getpwuid_r(getuid(), &pw, buf, sizeof buf, &out) == 0 && out) return out->pw_name;
  return "uid" + std::to_string(getuid());
}

// Performs the request; prints a clear error and returns false if the server cannot be
// reached or answers with an error.
bool call(const std::string& url, const char* method, const std::string& path,
          const std::string& body, nlohmann::json* out) {
  httplib::Client cli(url);
  if (!cli.is_valid()) {
    fprintf(stderr, "agentsh approve: '%s' is not a valid server URL\n", url.c_str());
    return false;
  }
  cli.set_connection_timeout(3, 0);
  cli.set_read_timeout(30, 0);
  auto res =
      std::string(method) == "GET" ? cli.Get(path) : cli.Post(path, body, "application/json");
  if (!res) {
    fprintf(stderr,
            "agentsh approve: no agentsh server at %s (%s); start `agentsh server` or pass "
            "--server URL\n",
            url.c_str(), httplib::to_string(res.error()).c_str());
    return false;
  }
  *out = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string why = out->is_object() && out->contains("error") && (*out)["error"].is_string()
                          ? (*out)["error"].get<std::string>()
                          : res->body;
    fprintf(stderr, "agentsh approve: server answered HTTP %d: %s\n", res->status, why.c_str());
    return false;
  }
  return true;
}

}  // namespace

int approve(const Args& args) {
  ArgParser p("approve");
  p.option("config").option("server").option("reason").flag("json").flag("allow").flag("deny");
  if (!p.parse(args)) return p.usage_error();
  const auto& pos = p.positionals();
  if (pos.empty()) return p.usage_error("expected 'list' or 'resolve ID --allow|--deny'");
  std::string url = p.get("server");
  if (url.empty()) {
    ConfigLoad load = load_config(p.get("config"));
    if (!load.ok) {
      fprintf(stderr, "agentsh approve: %s\n", load.error.c_str());
      return 1;
    }
    url = approval_client::server_url(load.config);
  }

  if (pos[0] == "list") {
    if (pos.size() != 1) return p.usage_error("unexpected argument '" + pos[1] + "'");
    nlohmann::json j;
    if (!call(url, "GET", "/api/v1/approvals", "", &j)) return 1;
    const nlohmann::json& list = j.contains("approvals") ? j["approvals"] : nlohmann::json::array();
    if (p.has("json")) {
      printf("%s\n", api_json::dump(list).c_str());
      return 0;
    }
    if (list.empty()) {
      printf("no approvals pending\n");
      return 0;
    }
    for (const auto& a : list) {
      printf("%s  %s %s %s\n    rule: %s%s  session: %s  expires: %s\n", a.value("id", "").c_str(),
             a.value("kind", "").c_str(), a.value("operation", "").c_str(),
             a.value("target", "").c_str(), a.value("rule", "").c_str(),
             a.value("message", "").empty() ? "" : (" (" + a.value("message", "") + ")").c_str(),
             a.value("session", "").c_str(), a.value("expires_at", "").c_str());
    }
    return 0;
  }
  if (pos[0] == "resolve") {
    if (pos.size() != 2) return p.usage_error("usage: agentsh approve resolve ID --allow|--deny");
    if (p.has("allow") == p.has("deny"))
      return p.usage_error("give exactly one of --allow, --deny");
    nlohmann::json body = {{"decision", p.has("allow") ? "approve" : "deny"},
                           {"who", "cli:" + user_name()},
                           {"reason", p.get("reason")}};
    nlohmann::json j;
    if (!call(url, "POST", "/api/v1/approvals/" + pos[1], body.dump(), &j)) return 1;
    printf("%s %s\n", p.has("allow") ? "approved" : "denied", pos[1].c_str());
    return 0;
  }
  return p.usage_error("unknown approve command '" + pos[0] + "' (expected list or resolve)");
}

}  // namespace agentsh::cmd
