// agentsh llm log [--session ID] [--limit N] [--json] [--config F]
// The LLM requests the proxy intercepted (table llm_requests of the audit database),
// oldest first: a table for people, or one JSON object per line.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <nlohmann/json.hpp>

#include "agentsh/arg_parser.h"
#include "agentsh/commands.h"
#include "agentsh/config.h"
#include "agentsh/llm_log_store.h"

namespace agentsh::cmd {
namespace {

std::string format_time(int64_t us) {
  time_t s = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json opt(int64_t v) {
  return v < 0 ? nlohmann::json(nullptr) : nlohmann::json(v);
}

int log(const Args& args) {
  ArgParser p("llm log");
  p.option("session").option("limit").option("config");
  p.flag("json");
  if (!p.parse(args)) return p.usage_error();
  int limit = 0;
  if (p.has("limit")) {
    char* end = nullptr;
    long n = strtol(p.get("limit").c_str(), &end, 10);
    if (*end != '\0' || n < 0) return p.usage_error("--limit wants a number");
    limit = static_cast<int>(n);
  }
  ConfigLoad cl = load_config(p.get("config"));
  if (!cl.ok) {
    fprintf(stderr, "agentsh: config error: %s\n", cl.error.c_str());
    return 2;
  }
  std::string err;
  auto store = LlmLogStore::open(cl.config.audit_db, &err);
  if (!store) {
    fprintf(stderr, "agentsh llm log: %s\n", err.c_str());
    return 1;
  }
  auto rows = store->query(p.get("session"), limit, &err);
  if (!err.empty()) {
    fprintf(stderr, "agentsh llm log: %s\n", err.c_str());
    return 1;
  }
  if (!p.has("json") && !rows.empty())
    printf("%-20s %-10s %-18s %-26s %-6s %4s %8s %8s %8s %5s %s\n", "TIME", "PROVIDER", "ENDPOINT",
           "MODEL", "STREAM", "HTTP", "IN_TOK", "OUT_TOK", "MS", "REDAC", "ERROR");
  for (const auto& r : rows) {
    const proxy::LlmRecord& x = r.rec;
    int64_t redactions = 0;
    for (const auto& [k, v] : x.redactions) redactions += v;
    for (const auto& [k, v] : x.response_redactions) redactions += v;
    if (p.has("json")) {
      nlohmann::json red = nlohmann::json::object(), resp = nlohmann::json::object();
      for (const auto& [k, v] : x.redactions) red[k] = v;
      for (const auto& [k, v] : x.response_redactions) resp[k] = v;
      nlohmann::json j = {{"id", r.id},
                          {"time", format_time(r.ts_us)},
                          {"session", r.session},
                          {"command_id", r.command_id},
                          {"provider", x.provider},
                          {"endpoint", x.endpoint},
                          {"model", x.model},
                          {"stream", x.stream},
                          {"messages", x.messages},
                          {"tools", x.tools},
                          {"status", x.http_status},
                          {"input_tokens", opt(x.input_tokens)},
                          {"output_tokens", opt(x.output_tokens)},
                          {"ttfb_ms", opt(x.ttfb_ms)},
                          {"duration_ms", opt(x.total_ms)},
                          {"request_bytes", x.request_bytes},
                          {"response_bytes", x.response_bytes},
                          {"redactions", redactions},
                          {"redactions_by_detector", red},
                          {"response_redactions_by_detector", resp},
                          {"excerpt", x.prompt_excerpt},
                          {"error", x.error}};
      printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      auto num = [](int64_t v) { return v < 0 ? std::string("-") : std::to_string(v); };
      printf("%-20s %-10s %-18s %-26s %-6s %4d %8s %8s %8s %5lld %s\n",
             format_time(r.ts_us).c_str(), x.provider.c_str(), x.endpoint.c_str(), x.model.c_str(),
             x.stream ? "yes" : "no", x.http_status, num(x.input_tokens).c_str(),
             num(x.output_tokens).c_str(), num(x.total_ms).c_str(),
             static_cast<long long>(redactions), x.error.c_str());
    }
  }
  return 0;
}

}  // namespace

int llm(const Args& args) {
  if (args.empty() || args[0] != "log") {
    fprintf(stderr, "usage: agentsh llm log [--session ID] [--limit N] [--json] [--config F]\n");
    return 2;
  }
  return log(Args(args.begin() + 1, args.end()));
}

}  // namespace agentsh::cmd
