#include "proxy/llm_exchange.h"

#include "proxy/dlp_json_redactor.h"
#include "proxy/llm_request_info.h"

namespace agentsh::proxy {

namespace {

size_t utf8_char_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;  // stray byte: count it as one character
}

}  // namespace

std::string LlmExchange::excerpt(const DlpScanner* scanner, std::string_view text,
                                 size_t max_chars) {
  std::string red = scanner && scanner->enabled() ? scanner->redact(text).text : std::string(text);
  std::string flat;
  bool space = false;
  for (char c : red) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' || c == '\v') {
      space = !flat.empty();
      continue;
    }
    if (space) flat.push_back(' ');
    space = false;
    flat.push_back(c);
  }
  size_t chars = 0, pos = 0;
  while (pos < flat.size() && chars < max_chars) {
    pos += utf8_char_len(static_cast<unsigned char>(flat[pos]));
    ++chars;
  }
  if (pos >= flat.size()) return flat;
  // Cut: keep max_chars - 1 characters and the ellipsis.
  pos = 0;
  for (size_t k = 0; k + 1 < max_chars && pos < flat.size(); ++k)
    pos += utf8_char_len(static_cast<unsigned char>(flat[pos]));
  return flat.substr(0, pos) + "\xE2\x80\xA6";
}

LlmExchange::LlmExchange(Request request, const DlpScanner* scanner)
    : request_(std::move(request)),
      acc_(request_.route.api, &rec_),
      rewriter_(scanner, &acc_, &rec_.response_redactions, request_.method == "HEAD",
                request_.chunked_ok),
      parser_(&rewriter_, request_.method == "HEAD") {
  const llm_provider::Route& r = request_.route;
  rec_.provider = r.provider;
  rec_.api = llm_provider::api_name(r.api);
  rec_.endpoint = r.endpoint;
  rec_.method = request_.method;
  rec_.path = request_.path;
  rec_.request_bytes = request_.body.size();

  llm_request_info::Info info = llm_request_info::parse(r.endpoint, request_.body);
  rec_.request_json_valid = info.json || request_.body.empty();
  rec_.model = info.model;
  rec_.stream = info.stream;
  rec_.messages = info.messages;
  rec_.tools = info.tools;
  rec_.max_tokens = info.max_tokens;
  rec_.prompt_excerpt = excerpt(scanner, info.last_user_text);

  if (scanner && scanner->enabled() && !request_.body.empty()) {
    dlp_json_redactor::Result red = dlp_json_redactor::redact(*scanner, request_.body);
    for (const DlpFinding& f : red.findings) ++rec_.redactions[f.detector];
    forward_ = red.findings.empty() ? request_.body : std::move(red.text);
  } else {
    forward_ = request_.body;
  }
  rec_.forwarded_request_bytes = forward_.size();
}

size_t LlmExchange::on_response_bytes(std::string_view bytes, int64_t now_us) {
  if (rec_.ttfb_ms < 0 && !bytes.empty())
    rec_.ttfb_ms = std::max<int64_t>(0, (now_us - request_.start_us) / 1000);
  if (parser_.done() || parser_.failed()) return 0;
  size_t used = parser_.feed(bytes);
  rewriter_.on_raw(bytes.substr(0, used));
  if (parser_.failed()) {
    acc_.on_truncated(parser_.error());
    rewriter_.on_truncated();
  }
  return used;
}

void LlmExchange::on_response_eof(int64_t now_us) {
  (void)now_us;
  if (eof_) return;
  eof_ = true;
  if (parser_.done() || parser_.failed()) return;
  parser_.finish();  // completes a close-delimited body, or fails
  if (parser_.failed()) {
    acc_.on_truncated(parser_.error());
    rewriter_.on_truncated();
  }
}

LlmRecord LlmExchange::finish(int64_t now_us) {
  if (!finished_) {
    finished_ = true;
    if (!parser_.done() && !parser_.failed() && !eof_)
      acc_.on_truncated(parser_.head_seen() ? "response abandoned before it was complete"
                                            : "no response from upstream");
    rewriter_.on_truncated();  // releases what it held; the agent sees the cut
    if (!rewriter_.error().empty()) {
      if (rec_.error.find(rewriter_.error()) == std::string::npos)
        rec_.error += (rec_.error.empty() ? "" : "; ") + rewriter_.error();
      rec_.complete = false;  // the agent got less than the provider sent
    }
    rec_.total_ms = std::max<int64_t>(0, (now_us - request_.start_us) / 1000);
    if (rec_.model.empty()) rec_.model = rec_.response_model;
  }
  return rec_;
}

LlmRecord LlmExchange::finish_refused(int status, const std::string& reason, int64_t now_us) {
  finished_ = true;
  rec_.http_status = status;
  rec_.error = reason;
  rec_.complete = true;
  rec_.total_ms = std::max<int64_t>(0, (now_us - request_.start_us) / 1000);
  return rec_;
}

}  // namespace agentsh::proxy
