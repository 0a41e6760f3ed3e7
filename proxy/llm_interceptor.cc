#include "proxy/llm_interceptor.h"

#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace agentsh::proxy {
namespace {

constexpr size_t kReadChunk = 16 * 1024;

bool ieq(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Reads what the socket has now (up to `cap` bytes). False on EOF or error.
bool read_some(int fd, std::string* out, size_t cap, bool* moved) {
  char buf[kReadChunk];
  while (cap > 0) {
    ssize_t n = recv(fd, buf, std::min(cap, sizeof buf), MSG_DONTWAIT);
    if (n > 0) {
      out->append(buf, size_t(n));
      cap -= std::min(cap, size_t(n));
      *moved = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return true;
}

// Sends what the socket takes now. False on error.
bool write_some(int fd, std::string* q, bool* moved) {
  while (!q->empty()) {
    ssize_t n = send(fd, q->data(), q->size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) {
      q->erase(0, size_t(n));
      *moved = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  return true;
}

// The data of a complete, well-framed chunked body (HttpBodyFramer validated it).
std::string dechunk(std::string_view in) {
  std::string out;
  size_t pos = 0;
  while (pos < in.size()) {
    size_t eol = in.find('\n', pos);
    if (eol == std::string_view::npos) break;
    uint64_t size = 0;
    for (size_t i = pos; i < eol; ++i) {
      char c = in[i];
      int v = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (v < 0) break;
      size = size * 16 + uint64_t(v);
    }
    pos = eol + 1;
    if (size == 0) break;
    out.append(in.substr(pos, size));
    pos += size;
    if (pos < in.size() && in[pos] == '\r') ++pos;
    if (pos < in.size() && in[pos] == '\n') ++pos;
  }
  return out;
}

std::string plain_answer(int status, const char* reason, const std::string& text, bool close) {
  std::string body = text + "\n";
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
         std::to_string(body.size()) + (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
}

}  // namespace

int64_t LlmInterceptor::now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::unique_ptr<LlmInterceptor> LlmInterceptor::create(LlmInterceptContext* llm, ProxyContext* ctx,
                                                       std::string host, uint16_t port, int64_t pid,
                                                       std::string to_client,
                                                       std::string from_client,
                                                       std::string* error) {
  std::unique_ptr<LlmInterceptor> li(new LlmInterceptor(llm, ctx));
  li->host_ = std::move(host);
  li->port_ = port;
  li->pid_ = pid;
  li->down_ = TlsServerSession::create(*llm->server, li->host_, error);
  if (!li->down_) return nullptr;
  li->up_ = TlsClientSession::create(*llm->client, li->host_, port, error);
  if (!li->up_) return nullptr;
  li->cout_ = std::move(to_client);
  li->down_->feed(from_client);
  li->process();
  return li;
}

LlmInterceptor::~LlmInterceptor() = default;

bool LlmInterceptor::want_client_read() const {
  return !done_ && !closing_ && !client_eof_ && cout_.size() < ctx_->limits.buffer &&
         creq_.size() <= llm_->settings.max_request_bytes + ctx_->limits.max_head;
}

bool LlmInterceptor::want_upstream_read() const {
  return !done_ && !up_eof_ && !up_failed_ && cout_.size() < ctx_->limits.buffer;
}

bool LlmInterceptor::drive(int client_fd, int upstream_fd) {
  bool moved = false;
  for (int round = 0; round < 16 && !done_; ++round) {
    bool progress = false;
    if (want_client_read()) {
      std::string in;
      if (!read_some(client_fd, &in, ctx_->limits.buffer, &progress)) client_eof_ = true;
      if (!in.empty()) down_->feed(in);
      if (client_eof_) down_->feed_eof();
    }
    if (want_upstream_read() && upstream_fd >= 0) {
      std::string in;
      if (!read_some(upstream_fd, &in, ctx_->limits.buffer, &progress)) up_eof_ = true;
      if (!in.empty()) up_->feed(in);
      if (up_eof_) up_->feed_eof();
    }
    process();
    if (!write_some(client_fd, &cout_, &progress)) {
      cout_.clear();
      client_eof_ = true;
      begin_closing();
    }
    if (upstream_fd >= 0 && !write_some(upstream_fd, &uout_, &progress)) {
      uout_.clear();
      up_eof_ = true;
    }
    if (closing_ && cout_.empty()) {
      abort();
      done_ = true;
    }
    moved = moved || progress;
    if (!progress) break;
  }
  return moved;
}

void LlmInterceptor::pump_sessions() {
  if (!down_->outgoing().empty()) cout_ += down_->take_outgoing();
  if (!up_->outgoing().empty()) uout_ += up_->take_outgoing();
}

void LlmInterceptor::process() {
  // Agent side: handshake, then decrypted request bytes.
  if (!closing_) {
    TlsSession::Result r = down_->read(&creq_);
    while (r == TlsSession::Result::kOk) r = down_->read(&creq_);  // up to a close_notify
    if (r == TlsSession::Result::kError) {
      ctx_->stats.errors++;
      ctx_->emit("network", "tls", host_ + ":" + std::to_string(port_), "allow", "deny",
                 "agentsh-agent-tls", "agent-side TLS failed: " + down_->error(), pid_);
      pump_sessions();
      begin_closing();
      return;
    }
    if (r == TlsSession::Result::kClosed) client_eof_ = true;
  }
  // Provider side: handshake (verifies the certificate), then response bytes.
  if (!up_failed_) {
    TlsSession::Result r = up_->read(&uresp_);
    while (r == TlsSession::Result::kOk) r = up_->read(&uresp_);
    if (r == TlsSession::Result::kError) {
      up_failed_ = true;
      up_error_ = up_->error();
      fail_upstream_tls();
    } else if (r == TlsSession::Result::kClosed) {
      up_eof_ = true;
    }
  }
  if (!up_failed_ && up_eof_ && !up_->handshake_done()) {
    up_failed_ = true;
    up_error_ = "TLS to " + host_ + ":" + std::to_string(port_) +
                ": the provider closed the connection during the handshake";
    fail_upstream_tls();
  }
  if (!up_failed_ && up_->handshake_done() && !pending_up_.empty()) {
    up_->write(pending_up_);
    pending_up_.clear();
  }
  if (!ex_ && !closing_) parse_request();
  if (ex_) {
    relay_response();
    // A request the agent already sent behind the one just completed.
    if (!ex_ && !closing_) parse_request();
  } else {
    uresp_.clear();  // nothing was asked: a provider does not speak first
  }
  if (!ex_ && !closing_ && (client_eof_ || (up_eof_ && creq_.empty()))) begin_closing();
  pump_sessions();
}

void LlmInterceptor::fail_upstream_tls() {
  if (up_audited_) return;
  up_audited_ = true;
  ctx_->stats.errors++;
  ctx_->emit("network", "tls", host_ + ":" + std::to_string(port_), "allow", "deny",
             "agentsh-upstream-tls", up_error_, pid_);
  pending_up_.clear();
  uout_.clear();
}

void LlmInterceptor::parse_request() {
  if (!down_->handshake_done() || creq_.empty()) return;
  if (!head_ok_) {
    http_head::Limits limits;
    limits.max_bytes = ctx_->limits.max_head;
    int status = 0;
    std::string err;
    switch (
        http_head::parse_request(creq_, limits, &head_scan_, &head_, &head_len_, &status, &err)) {
      case http_head::Status::kNeedMore:
        return;
      case http_head::Status::kError:
        return answer(status ? status : 400, "Bad Request", "agentsh proxy: " + err);
      case http_head::Status::kOk:
        break;
    }
    if (!http_head::request_body(head_, &body_kind_, &body_len_, &err))
      return answer(400, "Bad Request", "agentsh proxy: " + err);
    if (body_kind_ == http_head::BodyKind::kLength &&
        body_len_ > llm_->settings.max_request_bytes) {
      return answer(413, "Payload Too Large",
                    "agentsh proxy: LLM request body larger than " +
                        std::to_string(llm_->settings.max_request_bytes) + " bytes");
    }
    head_ok_ = true;
    req_start_us_ = now_us();
    framer_.reset(body_kind_, body_len_);
    framed_ = 0;
    continue_sent_ = false;
  }
  // The whole body: redaction needs all of it, and it is small.
  const std::string_view body_bytes = std::string_view(creq_).substr(head_len_);
  if (body_kind_ == http_head::BodyKind::kLength || body_kind_ == http_head::BodyKind::kChunked) {
    if (framed_ < body_bytes.size()) framed_ += framer_.consume(body_bytes.substr(framed_));
    if (framer_.failed()) return answer(400, "Bad Request", "agentsh proxy: " + framer_.error());
    if (framed_ > llm_->settings.max_request_bytes)
      return answer(413, "Payload Too Large", "agentsh proxy: LLM request body too large");
    if (!framer_.done()) {
      const std::string* expect = head_.find("expect");
      if (expect && ieq(*expect, "100-continue") && !continue_sent_) {
        continue_sent_ = true;
        down_->write("HTTP/1.1 100 Continue\r\n\r\n");
      }
      return;
    }
  } else {
    framed_ = 0;
  }
  start_exchange();
}

void LlmInterceptor::start_exchange() {
  const std::string_view raw = std::string_view(creq_).substr(head_len_, framed_);
  std::string body = body_kind_ == http_head::BodyKind::kChunked ? dechunk(raw) : std::string(raw);
  creq_.erase(0, head_len_ + framed_);
  head_ok_ = false;
  head_scan_ = 0;
  // An HTTP/1.0 agent gets rewritten streams close-delimited: one request per connection.
  keep_alive_ = head_.keep_alive() && head_.minor_version >= 1;

  LlmExchange::Request rq;
  rq.route = llm_->route(host_, port_, head_.target);
  rq.method = head_.method;
  rq.path = head_.target;
  rq.body = std::move(body);
  rq.start_us = req_start_us_;
  rq.chunked_ok = head_.minor_version >= 1;
  ex_ = std::make_unique<LlmExchange>(std::move(rq), llm_->settings.dlp.get());

  if (up_failed_) {
    record(ex_->finish_refused(502, up_error_, now_us()), false);
    ex_.reset();
    keep_alive_ = false;
    return answer(502, "Bad Gateway", "agentsh proxy: " + up_error_);
  }
  if (llm_->limiter) {
    const std::string key = ctx_->session_id.empty() ? ex_->record().provider : ctx_->session_id;
    LlmRateLimiter::Verdict v = llm_->limiter->admit(key, now_us());
    if (!v.allowed) {
      LlmRecord rec = ex_->finish_refused(429, v.message, now_us());
      llm_provider::Api api = ex_->record().api == "anthropic" ? llm_provider::Api::kAnthropic
                              : ex_->record().api == "openai"  ? llm_provider::Api::kOpenAi
                                                               : llm_provider::Api::kUnknown;
      ex_.reset();
      record(rec, true);
      answer_raw(LlmRateLimiter::too_many_requests(api, v));
      return;
    }
  }

  std::string out = head_.method + " " + head_.target + " HTTP/1.1\r\n";
  for (const auto& h : head_.headers) {
    if (ieq(h.name, "content-length") || ieq(h.name, "transfer-encoding") ||
        ieq(h.name, "accept-encoding") || ieq(h.name, "proxy-connection") ||
        ieq(h.name, "proxy-authorization") || ieq(h.name, "expect"))
      continue;
    out += h.name + ": " + h.value + "\r\n";
  }
  // No Accept-Encoding at all would mean "any coding is fine" (RFC 9110 12.5.3): ask for
  // identity explicitly. A provider that compresses anyway (gzip/deflate) is decoded by
  // LlmResponseRewriter; other codings pass through unread.
  out += "Accept-Encoding: identity\r\n";
  if (body_kind_ != http_head::BodyKind::kNone || !ex_->forward_body().empty())
    out += "Content-Length: " + std::to_string(ex_->forward_body().size()) + "\r\n";
  out += "\r\n";
  out += ex_->forward_body();
  if (up_->handshake_done()) {
    up_->write(out);
  } else {
    pending_up_ = std::move(out);
  }
}

void LlmInterceptor::relay_response() {
  if (!uresp_.empty()) {
    size_t used = ex_->on_response_bytes(uresp_, now_us());
    // What the agent gets: the response redacted (and re-framed) by the exchange.
    const std::string out = ex_->take_agent_bytes();
    if (!out.empty()) down_->write(out);
    uresp_.erase(0, used);
    if (ex_->response_done()) uresp_.clear();  // nothing may follow a response we did not ask for
  }
  if (up_eof_ && !ex_->response_done()) {
    ex_->on_response_eof(now_us());
    const std::string out = ex_->take_agent_bytes();
    if (!out.empty()) down_->write(out);
    keep_alive_ = false;
  }
  if (up_failed_ && !ex_->response_done()) {
    // The handshake failed after the request was queued.
    record(ex_->finish_refused(502, up_error_, now_us()), false);
    ex_.reset();
    keep_alive_ = false;
    return answer(502, "Bad Gateway", "agentsh proxy: " + up_error_);
  }
  if (ex_->response_done()) return complete_exchange();
  if (client_eof_) {
    // The agent went away mid-response: record what was seen.
    record(ex_->finish(now_us()), false);
    ex_.reset();
    begin_closing();
  }
}

void LlmInterceptor::complete_exchange() {
  LlmRecord rec = ex_->finish(now_us());
  const std::string out = ex_->take_agent_bytes();
  if (!out.empty()) down_->write(out);
  ex_.reset();
  if (!rec.complete || up_eof_) keep_alive_ = false;
  if (llm_->limiter && (rec.input_tokens > 0 || rec.output_tokens > 0)) {
    const std::string key = ctx_->session_id.empty() ? rec.provider : ctx_->session_id;
    llm_->limiter->charge_tokens(
        key, std::max<int64_t>(rec.input_tokens, 0) + std::max<int64_t>(rec.output_tokens, 0),
        now_us());
  }
  record(rec, false);
  if (!keep_alive_) begin_closing();
}

void LlmInterceptor::record(const LlmRecord& rec, bool rate_limited) {
  AuditEvent ev = rec.to_audit_event(rate_limited);
  ev.session = ctx_->session_id;
  ev.pid = pid_;
  if (ctx_->audit) ctx_->audit(ev);
  if (llm_->settings.on_record) llm_->settings.on_record(rec);
}

void LlmInterceptor::answer(int status, const char* reason, const std::string& text) {
  answer_raw(plain_answer(status, reason, text, true));
}

void LlmInterceptor::answer_raw(const std::string& response) {
  if (down_->handshake_done()) down_->write(response);
  keep_alive_ = false;
  creq_.clear();
  head_ok_ = false;
  begin_closing();
}

void LlmInterceptor::begin_closing() {
  if (closing_) return;
  closing_ = true;
  if (down_->handshake_done()) down_->close();
  pump_sessions();
}

void LlmInterceptor::abort() {
  if (ex_) {
    record(ex_->finish(now_us()), false);
    ex_.reset();
  }
}

}  // namespace agentsh::proxy
