#include "agentsh/api_json.h"

#include <ctime>

namespace agentsh::api_json {

std::string rfc3339(int64_t us) {
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(us % 1000000));
  return buf;
}

Json session(const SessionInfo& s) {
  return Json{{"id", s.id},
              {"workspace", s.workspace},
              {"project_root", s.project_root},
              {"git_root", s.git_root},
              {"policy", s.policy},
              {"created_at", rfc3339(s.created_us)},
              {"last_active_at", rfc3339(s.last_active_us)},
              {"created_us", s.created_us},
              {"last_active_us", s.last_active_us}};
}

Json event(const AuditRow& row) {
  const AuditEvent& e = row.ev;
  return Json{{"id", row.id},           {"ts", rfc3339(e.ts_us)},     {"ts_us", e.ts_us},
              {"session", e.session},   {"command_id", e.command_id}, {"pid", e.pid},
              {"type", e.type},         {"operation", e.operation},   {"target", e.target},
              {"decision", e.decision}, {"effective", e.effective},   {"rule", e.rule},
              {"message", e.message},   {"source", e.source}};
}

bool parse_object(const std::string& body, Json* out, std::string* error) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    // Parse again with exceptions only to get the position for the message.
    try {
      Json again = Json::parse(body);  // cannot succeed where the first parse failed
      static_cast<void>(again);
      *error = "malformed JSON";
    } catch (const Json::parse_error& e) {
      *error = std::string("malformed JSON: ") + e.what();
    }
    return false;
  }
  if (!j.is_object()) {
    *error = "request body must be a JSON object";
    return false;
  }
  *out = std::move(j);
  return true;
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace agentsh::api_json
