// Non-throwing accessors over nlohmann::json for provider payloads, whose shape we do
// not control: a missing key or a value of the wrong type yields the default instead
// of an exception. Header-only; pure.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace agentsh::llm_json {

using Json = nlohmann::json;

// Parses without exceptions; a discarded value (is_discarded()) on error.
inline Json parse(std::string_view text) {
  return Json::parse(text, nullptr, false);
}

inline const Json* member(const Json& j, const char* key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

inline int64_t integer(const Json& j, const char* key, int64_t fallback = -1) {
  const Json* v = member(j, key);
  if (v == nullptr) return fallback;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) return int64_t(v->get<double>());
  return fallback;
}

inline std::string string(const Json& j, const char* key) {
  const Json* v = member(j, key);
  return v && v->is_string() ? v->get<std::string>() : std::string();
}

inline bool boolean(const Json& j, const char* key, bool fallback = false) {
  const Json* v = member(j, key);
  return v && v->is_boolean() ? v->get<bool>() : fallback;
}

inline const Json& object(const Json& j, const char* key) {
  static const Json kNull;
  const Json* v = member(j, key);
  return v && v->is_object() ? *v : kNull;
}

inline const Json& array(const Json& j, const char* key) {
  static const Json kEmpty = Json::array();
  const Json* v = member(j, key);
  return v && v->is_array() ? *v : kEmpty;
}

}  // namespace agentsh::llm_json
