// LlmExchange: one intercepted LLM request and its response, from the proxy's point of
// view. The integration point for the proxy's connection code:
//
//   auto route = llm_provider::match(cfg.providers, host, port, /*tls=*/true, path);
//   if (route) {
//     LlmExchange ex({*route, method, path, std::move(body), now_us()}, scanner);
//     // forward ex.forward_body() upstream (fix Content-Length; body may have changed)
//     for each chunk read from upstream:
//       forward the chunk to the agent unchanged;
//       ex.on_response_bytes(chunk, now_us());      // parses as it goes, no buffering
//     on upstream EOF: ex.on_response_eof(now_us());
//     when ex.response_done() (or the connection is torn down):
//       audit(ex.finish(now_us()).to_audit_event());
//   }
//
// The response is redacted before the agent sees it (LlmResponseRewriter): forward
// take_agent_bytes(), not the raw upstream bytes.
// The request body must be complete (the proxy buffers it: it is small, and JSON-aware
// redaction needs all of it). Only string values of a JSON body are redacted, so the
// forwarded body stays valid JSON; a non-JSON body is redacted as plain text.
// Timestamps are the caller's (any monotonic clock, microseconds), so tests control time.
// Thread-safety: one exchange per request; the scanner must outlive it.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/dlp_scanner.h"
#include "proxy/llm_http_response_parser.h"
#include "proxy/llm_provider.h"
#include "proxy/llm_record.h"
#include "proxy/llm_response_accumulator.h"
#include "proxy/llm_response_rewriter.h"

namespace agentsh::proxy {

class LlmExchange {
 public:
  struct Request {
    llm_provider::Route route;
    std::string method;  // "POST"
    std::string path;    // as the agent sent it (query included)
    std::string body;    // complete, de-chunked, as the agent sent it
    int64_t start_us = 0;
    // False for an HTTP/1.0 agent: a rewritten stream is then close-delimited instead of
    // re-framed as chunked (the connection closes after the response).
    bool chunked_ok = true;
  };

  static constexpr size_t kExcerptChars = 200;

  // `scanner` may be nullptr (no DLP): the body is forwarded as is.
  LlmExchange(Request request, const DlpScanner* scanner);
  LlmExchange(const LlmExchange&) = delete;
  LlmExchange& operator=(const LlmExchange&) = delete;

  // The body to send upstream, and whether redaction changed it.
  const std::string& forward_body() const { return forward_; }
  bool body_changed() const { return forward_ != request_.body; }
  // The record so far (request half filled in at construction).
  const LlmRecord& record() const { return rec_; }

  // Upstream response bytes as received. Returns how many belonged to this response
  // (the rest, on a keep-alive connection, starts the next one). What the agent gets
  // for them (redacted, re-framed; see LlmResponseRewriter) is in take_agent_bytes().
  size_t on_response_bytes(std::string_view bytes, int64_t now_us);
  // The response bytes to send to the agent now (moved out). Call after every
  // on_response_bytes / on_response_eof / finish.
  std::string take_agent_bytes() { return rewriter_.take_output(); }
  // Upstream closed the connection.
  void on_response_eof(int64_t now_us);
  bool response_done() const { return parser_.done() || parser_.failed() || eof_; }

  // The final record. Once the response is complete, or with whatever was seen if the
  // exchange is abandoned (the record then says complete=false and why).
  LlmRecord finish(int64_t now_us);
  // The final record for a request the proxy refused itself (rate limit: status 429).
  LlmRecord finish_refused(int status, const std::string& reason, int64_t now_us);

  // The audit excerpt of a prompt: DLP-redacted, whitespace collapsed, at most
  // `max_chars` characters (UTF-8 code points) including a trailing "…" when cut.
  static std::string excerpt(const DlpScanner* scanner, std::string_view text,
                             size_t max_chars = kExcerptChars);

 private:
  Request request_;
  std::string forward_;
  LlmRecord rec_;
  LlmResponseAccumulator acc_;
  LlmResponseRewriter rewriter_;  // between the parser and acc_
  LlmHttpResponseParser parser_;
  bool eof_ = false, finished_ = false;
};

}  // namespace agentsh::proxy
