// JSON shapes of the HTTP API (sessions, audit events, approvals) and request parsing.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "agentsh/audit_store.h"
#include "agentsh/session_store.h"

namespace agentsh::api_json {

using Json = nlohmann::json;

// {"id","workspace","project_root","git_root","policy","created_at","last_active_at",
//  "created_us","last_active_us"}
Json session(const SessionInfo& s);
// {"id","ts","ts_us","session","command_id","pid","type","operation","target","decision",
//  "effective","rule","message","source"}
Json event(const AuditRow& row);
// RFC 3339 UTC with microseconds: 2026-01-02T03:04:05.000006Z
std::string rfc3339(int64_t us);
// Parses a request body that must be a JSON object. On failure `error` says why
// ("malformed JSON: …" / "request body must be a JSON object").
bool parse_object(const std::string& body, Json* out, std::string* error);
// Compact, never-throwing dump (invalid UTF-8 replaced).
std::string dump(const Json& j);

}  // namespace agentsh::api_json
