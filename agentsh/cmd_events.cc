// agentsh events query [--decision D] [--type T] [--session ID] [--since T] [--limit N]
//                      [--json] [--config F]
// --since takes a duration back from now (30s, 5m, 2h) or seconds since the epoch.
#include <sys/time.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "agentsh/arg_parser.h"
#include "agentsh/audit_store.h"
#include "agentsh/commands.h"
#include "agentsh/config.h"

namespace agentsh::cmd {

namespace {

int64_t now_us() {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  return static_cast<int64_t>(tv.tv_sec) * 1000000 + tv.tv_usec;
}

std::string format_time(int64_t us) {
  time_t s = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>((us / 1000) % 1000));
  return out;
}

int query(const Args& args) {
  ArgParser p("events");
  p.option("decision")
      .option("type")
      .option("session")
      .option("since")
      .option("limit")
      .option("config");
  p.flag("json");
  if (!p.parse(args)) return p.usage_error();
  AuditQuery q;
  q.decision = p.get("decision");
  q.type = p.get("type");
  q.session = p.get("session");
  if (p.has("since")) {
    std::string s = p.get("since");
    int64_t ms;
    char* end = nullptr;
    long long epoch = strtoll(s.c_str(), &end, 10);
    if (end && *end == '\0' && epoch > 100000000)
      q.since_us = epoch * 1000000;
    else if (parse_duration_ms(s, &ms))
      q.since_us = now_us() - ms * 1000;
    else
      return p.usage_error("--since wants a duration (5m, 2h) or epoch seconds");
  }
  if (p.has("limit")) {
    char* end = nullptr;
    long n = strtol(p.get("limit").c_str(), &end, 10);
    if (*end != '\0' || n < 0) return p.usage_error("--limit wants a number");
    q.limit = static_cast<int>(n);
  }
  q.newest_first = true;  // the last N, printed oldest first
  ConfigLoad cl = load_config(p.get("config"));
  if (!cl.ok) {
    fprintf(stderr, "agentsh: config error: %s\n", cl.error.c_str());
    return 2;
  }
  std::string err;
  auto store = AuditStore::open(cl.config.audit_db, &err);
  if (!store) {
    fprintf(stderr, "agentsh events: %s\n", err.c_str());
    return 1;
  }
  auto rows = store->query(q, &err);
  if (!err.empty()) {
    fprintf(stderr, "agentsh events: %s\n", err.c_str());
    return 1;
  }
  for (const auto& r : rows) {
    const AuditEvent& e = r.ev;
    if (p.has("json")) {
      nlohmann::json j = {{"id", r.id},
                          {"time", format_time(e.ts_us)},
                          {"session", e.session},
                          {"command_id", e.command_id},
                          {"pid", e.pid},
                          {"type", e.type},
                          {"operation", e.operation},
                          {"target", e.target},
                          {"decision", e.decision},
                          {"effective", e.effective},
                          {"rule", e.rule},
                          {"message", e.message},
                          {"source", e.source}};
      printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      printf("%s %-7s %-8s %-6s %-24s %s%s%s\n", format_time(e.ts_us).c_str(), e.type.c_str(),
             e.operation.c_str(), e.effective.c_str(), e.rule.empty() ? "-" : e.rule.c_str(),
             e.target.c_str(), e.message.empty() ? "" : "  # ", e.message.c_str());
    }
  }
  return 0;
}

}  // namespace

int events(const Args& args) {
  if (args.empty() || args[0] != "query") {
    fprintf(stderr,
            "agentsh events: query [--decision D] [--type T] [--since T] [--limit N] [--json]\n");
    return 2;
  }
  return query(Args(args.begin() + 1, args.end()));
}

}  // namespace agentsh::cmd
