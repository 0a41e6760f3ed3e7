#include "proxy/llm_request_info.h"

#include "proxy/llm_json.h"

namespace agentsh::llm_request_info {

using llm_json::Json;

namespace {

// Text of a message's content: a string, or the text parts of an array of parts
// (OpenAI {type:text|input_text, text}, Anthropic {type:text, text}).
std::string content_text(const Json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (!content.is_array()) return out;
  for (const Json& part : content) {
    std::string type = llm_json::string(part, "type");
    if (type == "text" || type == "input_text") {
      if (!out.empty()) out.push_back('\n');
      out += llm_json::string(part, "text");
    }
  }
  return out;
}

std::string last_user(const Json& messages) {
  if (!messages.is_array()) return "";
  for (auto it = messages.rbegin(); it != messages.rend(); ++it) {
    if (llm_json::string(*it, "role") != "user") continue;
    const Json* c = llm_json::member(*it, "content");
    if (c == nullptr) continue;
    std::string t = content_text(*c);
    if (!t.empty()) return t;
  }
  return "";
}

std::string first_string(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_array() && !v.empty() && v[0].is_string()) return v[0].get<std::string>();
  return "";
}

}  // namespace

Info parse(std::string_view endpoint, std::string_view body) {
  Info info;
  Json j = llm_json::parse(body);
  if (j.is_discarded() || !j.is_object()) return info;
  info.json = true;
  info.model = llm_json::string(j, "model");
  info.stream = llm_json::boolean(j, "stream");
  info.include_usage = llm_json::boolean(llm_json::object(j, "stream_options"), "include_usage");
  info.tools = int64_t(llm_json::array(j, "tools").size() + llm_json::array(j, "functions").size());
  for (const char* k : {"max_tokens", "max_completion_tokens", "max_output_tokens"}) {
    int64_t v = llm_json::integer(j, k);
    if (v >= 0) {
      info.max_tokens = v;
      break;
    }
  }
  if (const Json* m = llm_json::member(j, "messages"); m && m->is_array()) {
    info.messages = int64_t(m->size());
    info.last_user_text = last_user(*m);
  } else if (const Json* in = llm_json::member(j, "input")) {
    // Responses API (a string or a list of items) and embeddings.
    if (in->is_string()) {
      info.messages = 1;
      info.last_user_text = in->get<std::string>();
    } else if (in->is_array()) {
      info.messages = int64_t(in->size());
      info.last_user_text = endpoint == "embeddings" ? first_string(*in) : last_user(*in);
    }
  } else if (const Json* p = llm_json::member(j, "prompt")) {
    info.messages = p->is_array() ? int64_t(p->size()) : 1;
    info.last_user_text = first_string(*p);
  }
  return info;
}

}  // namespace agentsh::llm_request_info
