// LlmInterceptor: one decrypted connection to an LLM provider, inside the proxy's event
// loop. Connection hands it the two connected, non-blocking sockets (it never owns or
// closes them) once the tunnel's ClientHello named a provider host:
//
//   agent ──TLS──▶ TlsServerSession ─HTTP/1.1─▶ LlmExchange ─HTTP/1.1─▶ TlsClientSession ──▶
//   provider
//
// Per request (keep-alive, one at a time): the head and the whole body are read
// (chunked bodies de-chunked; `Expect: 100-continue` answered by us), the rate limit
// is checked (429 in the provider's error shape), the body goes through JSON-aware DLP
// redaction, the request is forwarded with a fresh Content-Length and without
// Accept-Encoding (so the response stays parseable), and the response is relayed to
// the agent piece by piece as it arrives while LlmExchange parses usage / SSE. One
// LlmRecord per request goes to the context's sink and one "llm" audit row to the
// proxy's audit callback.
// Upstream certificates are verified (trust store + host name): a rejected one is
// audited (type "network", rule "agentsh-upstream-tls") and every request on the
// connection is answered 502 with the reason and recorded with it.
//
// Bounded: request bodies up to Settings::max_request_bytes (413 beyond), ciphertext
// queued to either socket up to ProxyLimits::buffer before that side's source is no
// longer read (backpressure both ways).
// Threading: loop thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "proxy/http_body_framer.h"
#include "proxy/http_head.h"
#include "proxy/llm_exchange.h"
#include "proxy/llm_intercept_context.h"
#include "proxy/proxy_context.h"
#include "proxy/tls_client_session.h"
#include "proxy/tls_server_session.h"

namespace agentsh::proxy {

class LlmInterceptor {
 public:
  // `host`/`port`: the provider as the agent named it (SNI or CONNECT target).
  // `to_client`: plaintext bytes the proxy still owes the client before any TLS (the
  // "200 Connection established" / transparent status byte). `from_client`: client
  // bytes already read (the ClientHello). Null with `error` if a session cannot be made.
  static std::unique_ptr<LlmInterceptor> create(LlmInterceptContext* llm, ProxyContext* ctx,
                                                std::string host, uint16_t port, int64_t pid,
                                                std::string to_client, std::string from_client,
                                                std::string* error);
  ~LlmInterceptor();

  // Moves whatever can move now on both sockets. True if any byte moved.
  bool drive(int client_fd, int upstream_fd);
  bool want_client_read() const;
  bool want_client_write() const { return !cout_.empty(); }
  bool want_upstream_read() const;
  bool want_upstream_write() const { return !uout_.empty(); }
  // Nothing more to do: the owner closes both sockets.
  bool done() const { return done_; }
  // The connection is being torn down: records an unfinished exchange.
  void abort();

 private:
  LlmInterceptor(LlmInterceptContext* llm, ProxyContext* ctx) : llm_(llm), ctx_(ctx) {}
  void process();
  void parse_request();
  void start_exchange();
  void relay_response();
  void complete_exchange();
  void answer(int status, const char* reason, const std::string& text);
  void answer_raw(const std::string& response);
  void fail_upstream_tls();
  void record(const LlmRecord& rec, bool rate_limited);
  void begin_closing();
  void pump_sessions();
  static int64_t now_us();

  LlmInterceptContext* llm_;
  ProxyContext* ctx_;
  std::string host_;
  uint16_t port_ = 0;
  int64_t pid_ = 0;
  std::unique_ptr<TlsServerSession> down_;
  std::unique_ptr<TlsClientSession> up_;

  std::string cout_, uout_;  // ciphertext (or our plaintext preamble) to send
  std::string creq_;         // decrypted client bytes not yet handled
  std::string uresp_;        // decrypted upstream bytes not yet handled
  bool client_eof_ = false, up_eof_ = false;
  bool up_failed_ = false, up_audited_ = false;
  std::string up_error_;
  bool closing_ = false, done_ = false;

  // The request being read.
  HttpHead head_;
  size_t head_len_ = 0, head_scan_ = 0;
  bool head_ok_ = false, continue_sent_ = false;
  http_head::BodyKind body_kind_ = http_head::BodyKind::kNone;
  uint64_t body_len_ = 0;
  HttpBodyFramer framer_;
  size_t framed_ = 0;  // body bytes the framer has seen
  int64_t req_start_us_ = 0;

  // The exchange in flight.
  std::unique_ptr<LlmExchange> ex_;
  std::string pending_up_;  // request bytes waiting for the upstream handshake
  bool keep_alive_ = true;
};

}  // namespace agentsh::proxy
