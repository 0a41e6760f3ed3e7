#include "proxy/llm_sse_parser.h"

namespace agentsh::proxy {

void LlmSseParser::line(std::string_view l, const Callback& on_event) {
  if (l.empty()) {  // dispatch
    if (has_data_ && !oversized_) {
      if (!cur_.data.empty() && cur_.data.back() == '\n') cur_.data.pop_back();
      ++events_;
      on_event(cur_);
    } else if (oversized_) {
      ++dropped_;
    }
    cur_ = Event{};
    has_data_ = oversized_ = pending_ = false;
    return;
  }
  if (l.front() == ':') return;  // comment (keep-alive pings)
  pending_ = true;
  size_t colon = l.find(':');
  std::string_view field = l.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    has_data_ = true;
    if (oversized_) return;
    if (cur_.data.size() + value.size() + 1 > kMaxEventBytes) {
      oversized_ = true;
      cur_.data.clear();
      cur_.data.shrink_to_fit();
      return;
    }
    cur_.data.append(value);
    cur_.data.push_back('\n');
  } else if (field == "event") {
    cur_.type.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) cur_.id.assign(value);
  }
  // "retry" and unknown fields are ignored.
}

void LlmSseParser::feed(std::string_view bytes, const Callback& on_event) {
  if (!started_ && !bytes.empty()) {
    if (partial_.empty() && bytes.substr(0, 3) == "\xEF\xBB\xBF") bytes.remove_prefix(3);
    started_ = true;
  }
  size_t pos = 0;
  while (pos < bytes.size()) {
    if (after_cr_) {  // a CR ended the last line; a LF right after it belongs to it
      after_cr_ = false;
      if (bytes[pos] == '\n') {
        ++pos;
        continue;
      }
    }
    // A plain loop: string_view::find_first_of calls memchr once per byte here.
    size_t end = pos;
    while (end < bytes.size() && bytes[end] != '\n' && bytes[end] != '\r') ++end;
    if (end == bytes.size()) {
      if (partial_.size() + (bytes.size() - pos) > kMaxEventBytes + 64) {
        // One endless line: drop it, and the event it belongs to.
        partial_.clear();
        oversized_ = has_data_ = pending_ = true;
      } else {
        partial_.append(bytes.substr(pos));
      }
      return;
    }
    if (partial_.empty()) {
      line(bytes.substr(pos, end - pos), on_event);
    } else {
      partial_.append(bytes.substr(pos, end - pos));
      std::string l;
      l.swap(partial_);
      line(l, on_event);
    }
    after_cr_ = bytes[end] == '\r';
    pos = end + 1;
  }
}

void LlmSseParser::finish() {
  if (pending_ || !partial_.empty()) ++truncated_;
  partial_.clear();
  cur_ = Event{};
  has_data_ = oversized_ = pending_ = false;
}

}  // namespace agentsh::proxy
