// LlmResponseRewriter: redacts an LLM provider's response before the agent sees it.
// It sits between LlmHttpResponseParser and the next handler (the accumulator that
// fills the record), and produces the bytes to send to the agent:
//
//   parser ──▶ LlmResponseRewriter ──decoded body──▶ LlmResponseAccumulator (usage, …)
//                     │
//                     └──▶ take_output(): the response as the agent gets it
//
// By Content-Type, once the head is seen:
//   * text/event-stream: each SSE event (up to its blank line) is held until complete,
//     then every `data:` line is redacted (JSON-aware when it holds JSON) and the event
//     is released at once — the stream is never buffered whole, and a secret split
//     across network reads inside one event is found. The body is re-framed as chunked
//     (or stays close-delimited when it was).
//   * application/json, *+json, text/*: the body is buffered (≤ kMaxBufferedBytes),
//     redacted (JSON-aware: string values only; plain text otherwise) and sent with a
//     correct Content-Length. Beyond the cap it continues as a chunked stream through a
//     DlpStreamRedactor.
//   * anything else (audio, images, no body, HEAD/204/304) and DLP disabled: the raw
//     bytes pass byte for byte.
// Content-Encoding gzip/x-gzip/deflate on a redactable type is decoded (zlib) and sent
// without Content-Encoding; the accumulator sees the decoded body, so usage stays exact.
// Other codings (br, zstd) pass through unread (the record says so).
//
// Usage numbers are unaffected: the accumulator always gets the body as the provider
// sent it (after decoding), never the redacted one.
// Thread-safety: one per exchange; the scanner must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "proxy/dlp_scanner.h"
#include "proxy/dlp_stream_redactor.h"
#include "proxy/llm_http_response_parser.h"

namespace agentsh::proxy {

class LlmResponseRewriter : public LlmHttpResponseParser::Handler {
 public:
  static constexpr size_t kMaxBufferedBytes = 32 << 20;
  // An SSE event larger than this is released (plain-text redacted) without waiting for
  // its end, so one endless event cannot grow without bound.
  static constexpr size_t kMaxEventBytes = 1 << 20;

  // `scanner` null or disabled: pass-through. `next` receives head/body/complete (may
  // be null). `redactions`: detector → count of findings in the response (not owned).
  // `head_request`: the request was HEAD (the response has no body). `chunked_ok`
  // false (an HTTP/1.0 agent): streams are sent close-delimited, never chunked.
  LlmResponseRewriter(const DlpScanner* scanner, LlmHttpResponseParser::Handler* next,
                      std::map<std::string, int64_t>* redactions, bool head_request = false,
                      bool chunked_ok = true);
  ~LlmResponseRewriter() override;

  void on_head(int status, const std::string& reason,
               const LlmHttpResponseParser::Headers& headers) override;
  void on_body(std::string_view data) override;
  void on_complete() override;

  // The raw bytes the parser consumed in the feed() that just returned (after the
  // callbacks it made). Pass-through responses are released from these.
  void on_raw(std::string_view raw);
  // The response ended early (upstream closed or sent garbage): release what is held,
  // keeping the truncation visible to the agent (short body / no last chunk).
  void on_truncated();

  // Bytes ready for the agent (moved out).
  std::string take_output();
  bool rewriting() const { return mode_ == Mode::kSse || mode_ == Mode::kBuffered; }
  bool decoding() const { return inflate_ != nullptr; }
  // Decoding problem ("" if none); the record's error should mention it.
  const std::string& error() const { return error_; }

 private:
  enum class Mode { kUndecided, kPassthrough, kSse, kBuffered, kStreamText };
  enum class Framing { kLength, kChunked, kClose };
  struct Inflater;

  void body_decoded(std::string_view data);
  void emit_head(Framing framing, uint64_t length);
  void emit_body(std::string_view data);  // framed as decided
  void sse_feed(std::string_view data);
  std::string redact_event(std::string_view event);
  std::string redact_json_or_text(std::string_view text);
  void count(const std::vector<DlpFinding>& findings);
  void to_stream_text();

  const DlpScanner* scanner_;
  LlmHttpResponseParser::Handler* next_;
  std::map<std::string, int64_t>* redactions_;
  bool head_request_, chunked_ok_;
  Mode mode_ = Mode::kUndecided;
  Framing in_framing_ = Framing::kClose, out_framing_ = Framing::kClose;
  uint64_t in_length_ = 0;
  bool head_sent_ = false, done_ = false;
  int status_ = 0;
  std::string reason_;
  LlmHttpResponseParser::Headers headers_;  // as forwarded (framing headers removed)
  std::string raw_hold_;                    // raw bytes before the mode is known
  std::string body_;                        // kBuffered body / kSse current event
  size_t line_start_ = 0, scan_ = 0;        // kSse: where the current line starts
  std::unique_ptr<DlpStreamRedactor> stream_;
  std::unique_ptr<Inflater> inflate_;
  std::string out_;
  std::string error_;
};

}  // namespace agentsh::proxy
