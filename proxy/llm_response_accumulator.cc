#include "proxy/llm_response_accumulator.h"

#include <algorithm>
#include <cctype>

namespace agentsh::proxy {

using llm_json::Json;
using llm_provider::Api;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string snippet(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  return out;
}

uint64_t json_size(const Json* v) {
  if (v == nullptr || v->is_null()) return 0;
  if (v->is_string()) return v->get_ref<const std::string&>().size();
  return v->dump(-1, ' ', false, Json::error_handler_t::replace).size();
}

}  // namespace

LlmToolCall& LlmResponseAccumulator::call(const std::string& key) {
  auto it = calls_.find(key);
  if (it != calls_.end()) return it->second;
  call_order_.push_back(key);
  return calls_[key];
}

void LlmResponseAccumulator::note(const std::string& problem) {
  if (rec_->error.find(problem) != std::string::npos) return;
  if (!rec_->error.empty()) rec_->error += "; ";
  rec_->error += problem;
}

void LlmResponseAccumulator::on_head(int status, const std::string&,
                                     const LlmHttpResponseParser::Headers& headers) {
  rec_->http_status = status;
  content_type_ = lower(LlmHttpResponseParser::header(headers, "content-type"));
  sse_ = content_type_.rfind("text/event-stream", 0) == 0;
  std::string enc = lower(LlmHttpResponseParser::header(headers, "content-encoding"));
  if (!enc.empty() && enc != "identity") {
    skip_ = true;
    note("response body is " + enc +
         "-encoded and was not read (only gzip and deflate are decoded)");
  }
}

void LlmResponseAccumulator::on_body(std::string_view data) {
  rec_->response_bytes += data.size();
  if (skip_) return;
  if (sse_) {
    sse_parser_.feed(data, [this](const LlmSseParser::Event& ev) { on_event(ev); });
    return;
  }
  if (json_too_big_) return;
  if (json_.size() + data.size() > kMaxJsonBytes) {
    json_too_big_ = true;
    std::string().swap(json_);
    note("response body over 32 MiB was not read");
    return;
  }
  json_.append(data);
}

void LlmResponseAccumulator::on_complete() {
  rec_->complete = true;
  if (sse_) {
    sse_parser_.finish();
    if (sse_parser_.truncated_events() > 0) note("stream ended inside an event");
    if (sse_parser_.dropped_events() > 0) note("an event over 16 MiB was skipped");
  } else if (!skip_ && !json_too_big_) {
    Json j = llm_json::parse(json_);
    if (j.is_discarded() || !j.is_object()) {
      if (rec_->http_status >= 400 || (!json_.empty() && rec_->http_status != 204))
        note("HTTP " + std::to_string(rec_->http_status) + ", body is not JSON: " + snippet(json_));
    } else if (api_ == Api::kAnthropic) {
      apply_anthropic(j);
    } else {
      apply_openai(j);
    }
    std::string().swap(json_);
  }
  finish_tool_calls();
}

void LlmResponseAccumulator::on_truncated(const std::string& why) {
  rec_->complete = false;
  note(why);
  if (sse_) sse_parser_.finish();
  std::string().swap(json_);
  finish_tool_calls();
}

void LlmResponseAccumulator::finish_tool_calls() {
  rec_->tool_calls.clear();
  for (const std::string& k : call_order_) rec_->tool_calls.push_back(calls_[k]);
}

void LlmResponseAccumulator::on_event(const LlmSseParser::Event& ev) {
  if (ev.data == "[DONE]") return;  // OpenAI's end-of-stream marker
  Json j = llm_json::parse(ev.data);
  if (j.is_discarded() || !j.is_object()) {
    note("unreadable stream event '" + snippet(ev.type.empty() ? ev.data : ev.type) + "'");
    return;
  }
  if (api_ == Api::kAnthropic) {
    apply_anthropic(j);
    return;
  }
  std::string type = llm_json::string(j, "type");
  if (type.empty()) type = ev.type;
  if (type.rfind("response.", 0) == 0 || (type == "error" && !llm_json::member(j, "choices")))
    apply_openai_responses_event(type, j);
  else
    apply_openai_chat_chunk(j);
}

void LlmResponseAccumulator::apply_usage(const Json& u) {
  if (!u.is_object()) return;
  auto set = [](int64_t* dst, int64_t v) {
    if (v >= 0) *dst = v;
  };
  set(&rec_->input_tokens, llm_json::integer(u, "prompt_tokens"));
  set(&rec_->output_tokens, llm_json::integer(u, "completion_tokens"));
  set(&rec_->input_tokens, llm_json::integer(u, "input_tokens"));
  set(&rec_->output_tokens, llm_json::integer(u, "output_tokens"));
  set(&rec_->cache_read_tokens,
      llm_json::integer(llm_json::object(u, "prompt_tokens_details"), "cached_tokens"));
  set(&rec_->cache_read_tokens,
      llm_json::integer(llm_json::object(u, "input_tokens_details"), "cached_tokens"));
  set(&rec_->cache_read_tokens, llm_json::integer(u, "cache_read_input_tokens"));
  set(&rec_->cache_write_tokens, llm_json::integer(u, "cache_creation_input_tokens"));
}

void LlmResponseAccumulator::apply_error(const Json& j) {
  // OpenAI {"error": {"message","type","code"}}, Anthropic {"type":"error","error":{…}},
  // Responses stream {"type":"error","code","message"}.
  const Json& e = llm_json::object(j, "error");
  const Json& src = e.is_object() ? e : j;
  std::string type = llm_json::string(src, e.is_object() ? "type" : "code");
  if (type.empty()) type = llm_json::string(src, "code");
  std::string msg = llm_json::string(src, "message");
  if (type.empty() && msg.empty()) return;
  note(type.empty() ? msg : msg.empty() ? type : type + ": " + msg);
}

void LlmResponseAccumulator::apply_openai(const Json& j) {
  if (llm_json::member(j, "error") && !llm_json::object(j, "error").empty()) apply_error(j);
  if (llm_json::string(j, "object") == "response") {
    apply_openai_response_object(j);
    return;
  }
  rec_->response_model = llm_json::string(j, "model");
  rec_->response_id = llm_json::string(j, "id");
  for (const Json& choice : llm_json::array(j, "choices")) {
    const Json& msg = llm_json::object(choice, "message");
    for (const Json& tc : llm_json::array(msg, "tool_calls")) {
      LlmToolCall& c =
          call("id:" + llm_json::string(tc, "id") + "#" + std::to_string(call_order_.size()));
      c.id = llm_json::string(tc, "id");
      c.type = llm_json::string(tc, "type");
      const Json& fn = llm_json::object(tc, "function");
      c.name = llm_json::string(fn, "name");
      c.argument_bytes = json_size(llm_json::member(fn, "arguments"));
    }
    std::string finish = llm_json::string(choice, "finish_reason");
    if (!finish.empty()) rec_->stop_reason = finish;
  }
  apply_usage(llm_json::object(j, "usage"));
}

void LlmResponseAccumulator::apply_openai_chat_chunk(const Json& j) {
  if (llm_json::member(j, "error")) apply_error(j);
  std::string model = llm_json::string(j, "model");
  if (!model.empty()) rec_->response_model = model;
  std::string id = llm_json::string(j, "id");
  if (!id.empty()) rec_->response_id = id;
  for (const Json& choice : llm_json::array(j, "choices")) {
    int64_t ci = llm_json::integer(choice, "index", 0);
    const Json& delta = llm_json::object(choice, "delta");
    for (const Json& tc : llm_json::array(delta, "tool_calls")) {
      int64_t ti = llm_json::integer(tc, "index", 0);
      LlmToolCall& c = call("c" + std::to_string(ci) + "/t" + std::to_string(ti));
      std::string tid = llm_json::string(tc, "id");
      if (!tid.empty()) c.id = tid;
      std::string type = llm_json::string(tc, "type");
      if (!type.empty()) c.type = type;
      if (c.type.empty()) c.type = "function";
      const Json& fn = llm_json::object(tc, "function");
      std::string name = llm_json::string(fn, "name");
      if (!name.empty()) c.name += name;
      c.argument_bytes += json_size(llm_json::member(fn, "arguments"));
    }
    std::string finish = llm_json::string(choice, "finish_reason");
    if (!finish.empty()) rec_->stop_reason = finish;
  }
  apply_usage(llm_json::object(j, "usage"));
}

void LlmResponseAccumulator::apply_openai_response_object(const Json& r) {
  std::string model = llm_json::string(r, "model");
  if (!model.empty()) rec_->response_model = model;
  std::string id = llm_json::string(r, "id");
  if (!id.empty()) rec_->response_id = id;
  for (const Json& item : llm_json::array(r, "output")) {
    std::string type = llm_json::string(item, "type");
    if (type != "function_call" && type != "custom_tool_call") continue;
    LlmToolCall& c = call("item:" + llm_json::string(item, "id"));
    c.id = llm_json::string(item, "call_id");
    c.name = llm_json::string(item, "name");
    c.type = type;
    const Json* args = llm_json::member(item, "arguments");
    if (args == nullptr) args = llm_json::member(item, "input");
    if (args) c.argument_bytes = json_size(args);
  }
  std::string status = llm_json::string(r, "status");
  if (!status.empty() && status != "in_progress" && status != "queued") rec_->stop_reason = status;
  const Json& details = llm_json::object(r, "incomplete_details");
  if (!llm_json::string(details, "reason").empty())
    rec_->stop_reason = llm_json::string(details, "reason");
  const Json& err = llm_json::object(r, "error");
  if (!err.empty()) {
    Json wrapped = {{"error", err}};
    apply_error(wrapped);
  }
  apply_usage(llm_json::object(r, "usage"));
}

void LlmResponseAccumulator::apply_openai_responses_event(const std::string& type, const Json& j) {
  if (type == "error") {
    apply_error(j);
  } else if (type == "response.created" || type == "response.in_progress" ||
             type == "response.completed" || type == "response.incomplete" ||
             type == "response.failed") {
    apply_openai_response_object(llm_json::object(j, "response"));
  } else if (type == "response.output_item.added" || type == "response.output_item.done") {
    const Json& item = llm_json::object(j, "item");
    std::string itype = llm_json::string(item, "type");
    if (itype == "function_call" || itype == "custom_tool_call") {
      LlmToolCall& c = call("item:" + llm_json::string(item, "id"));
      c.id = llm_json::string(item, "call_id");
      c.name = llm_json::string(item, "name");
      c.type = itype;
      if (type == "response.output_item.done") {
        const Json* args = llm_json::member(item, "arguments");
        if (args == nullptr) args = llm_json::member(item, "input");
        if (args) c.argument_bytes = json_size(args);
      }
    }
  } else if (type == "response.function_call_arguments.delta") {
    auto it = calls_.find("item:" + llm_json::string(j, "item_id"));
    if (it != calls_.end()) it->second.argument_bytes += json_size(llm_json::member(j, "delta"));
  }
}

void LlmResponseAccumulator::apply_anthropic(const Json& j) {
  std::string type = llm_json::string(j, "type");
  if (type == "error") {
    apply_error(j);
  } else if (type == "message") {  // a whole (non-streamed) message
    rec_->response_model = llm_json::string(j, "model");
    rec_->response_id = llm_json::string(j, "id");
    int i = 0;
    for (const Json& block : llm_json::array(j, "content")) {
      std::string bt = llm_json::string(block, "type");
      if (bt == "tool_use" || bt == "server_tool_use") {
        LlmToolCall& c = call("b" + std::to_string(i));
        c.id = llm_json::string(block, "id");
        c.name = llm_json::string(block, "name");
        c.type = bt;
        c.argument_bytes = json_size(llm_json::member(block, "input"));
      }
      ++i;
    }
    std::string stop = llm_json::string(j, "stop_reason");
    if (!stop.empty()) rec_->stop_reason = stop;
    apply_usage(llm_json::object(j, "usage"));
  } else if (type == "message_start") {
    const Json& m = llm_json::object(j, "message");
    rec_->response_model = llm_json::string(m, "model");
    rec_->response_id = llm_json::string(m, "id");
    apply_usage(llm_json::object(m, "usage"));
  } else if (type == "content_block_start") {
    const Json& block = llm_json::object(j, "content_block");
    std::string bt = llm_json::string(block, "type");
    if (bt == "tool_use" || bt == "server_tool_use") {
      LlmToolCall& c = call("b" + std::to_string(llm_json::integer(j, "index", 0)));
      c.id = llm_json::string(block, "id");
      c.name = llm_json::string(block, "name");
      c.type = bt;
    }
  } else if (type == "content_block_delta") {
    const Json& delta = llm_json::object(j, "delta");
    if (llm_json::string(delta, "type") == "input_json_delta") {
      auto it = calls_.find("b" + std::to_string(llm_json::integer(j, "index", 0)));
      if (it != calls_.end())
        it->second.argument_bytes += json_size(llm_json::member(delta, "partial_json"));
    }
  } else if (type == "message_delta") {
    std::string stop = llm_json::string(llm_json::object(j, "delta"), "stop_reason");
    if (!stop.empty()) rec_->stop_reason = stop;
    apply_usage(llm_json::object(j, "usage"));       // output_tokens here is cumulative
  } else if (llm_json::member(j, "input_tokens")) {  // messages/count_tokens
    apply_usage(j);
  }
}

}  // namespace agentsh::proxy
