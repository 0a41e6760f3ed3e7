// Connection: one client connection to the proxy's HTTP port, from accept to close.
//
// The first byte says what it is: 0xA9 starts a transparent-mode header
// (proxy/transparent_protocol.h); anything else is HTTP proxy traffic — CONNECT host:port
// (a tunnel) or an absolute-URI request (plain HTTP, keep-alive, every request decided).
//
// The decision, for every kind:
//   1. by the name the agent asked for (CONNECT target, URI host, transparent header or
//      the name our DNS proxy handed out for the address) — denied names stop here;
//   2. connect_redirects may send it elsewhere;
//   3. the name is resolved on the loop (UpstreamResolver), and every address is decided
//      again (net_decider::combine): CIDR deny rules beat name allow rules;
//   4. "approve" asks NetDecider::ask and waits (bounded);
//   5. connect; tell the client (200 / status byte 0);
//   6. peek at the first client bytes: the TLS SNI (or HTTP Host) is decided too, and a
//      denied one closes the tunnel; rewrite_sni redirects rewrite the ClientHello;
//   7. splice bytes both ways (zero-copy through a pipe per direction).
// A tunnel to a bare address with no known name that only the policy's default denies is
// answered "connected" without connecting, and decided by the SNI/Host it then sends.
//
// Bounded: client bytes held back, userspace buffers and pipes are capped per direction
// (ProxyLimits); a side whose peer cannot take more is not read (backpressure both ways).
// Every phase has a deadline (ProxyTimeouts). Errors answer once, clearly (403 with the
// rule, 400/431/502/504 with the reason, or an errno byte), then the connection lingers
// briefly so the answer is not lost to a reset, and closes.
//
// Threading: loop thread only. Lifetime: owned by ProxyContext::connections; finish()
// releases it and it is destroyed after the current loop iteration. Asynchronous
// callbacks (resolver, approvals) find it again by id, so a late callback for a closed
// connection is a no-op.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/scoped_fd.h"
#include "proxy/byte_queue.h"
#include "proxy/event_loop.h"
#include "proxy/http_body_framer.h"
#include "proxy/http_head.h"
#include "proxy/ip_literal.h"
#include "proxy/llm_interceptor.h"
#include "proxy/net_decider.h"
#include "proxy/proxy_context.h"
#include "proxy/redirect_table.h"
#include "proxy/upstream_resolver.h"

namespace agentsh::proxy {

class Connection {
 public:
  Connection(ProxyContext* ctx, uint64_t id, ScopedFd client);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Registers the client socket. False if epoll refused it (the caller drops us).
  bool start();
  // Called about once a second: fires phase deadlines and idle timeouts.
  void check_timeouts(EventLoop::Clock::time_point now);
  // Proxy shutting down: close without answering.
  void abort();
  uint64_t id() const { return id_; }

 private:
  enum class Kind : uint8_t { kUnknown, kHttp, kConnect, kTransparent };
  enum class Phase : uint8_t { kHead, kWaiting, kTunnel, kHttp, kIntercept, kClosing, kDone };
  enum class PeekKind : uint8_t { kNone, kTls, kHttp };

  class Side : public EventLoop::Handler {
   public:
    Side(Connection* c, bool client) : c_(c), client_(client) {}
    void on_io(uint32_t events) override { c_->on_io(client_, events); }

   private:
    Connection* c_;
    bool client_;
  };

  struct Pipe {
    ScopedFd r, w;
    size_t bytes = 0, cap = 0;
    bool maybe_full = false;  // splice-in saw EAGAIN with bytes queued: wait for a drain
  };
  // One direction of the conversation.
  struct Flow {
    ByteQueue out;  // userspace bytes to send first (answers, peeked bytes, HTTP)
    Pipe pipe;      // then spliced bytes
    bool use_pipe = false;
    bool src_eof = false;   // the source side sent FIN
    bool dst_shut = false;  // we passed the FIN on
  };
  struct Candidate {
    IpAddress ip;
    NetDecision decision;  // combined
    NetDecision by_addr;
  };

  void on_io(bool client_side, uint32_t events);
  void drive();
  void drive_head();
  void drive_waiting();
  void drive_tunnel();
  void drive_http();
  void drive_closing();
  void drive_intercept();
  // After the peek: hands a TLS tunnel to a provider host to an LlmInterceptor.
  bool try_intercept(const std::string& first);
  void update_interest();
  void set_interest(bool client_side, uint32_t mask);

  // Requests.
  void handle_transparent_header();
  void handle_request(const HttpHead& head, size_t head_len);
  void begin(const ip_literal::Host& target, uint16_t port, std::optional<IpAddress> known_ip);
  void resolve_and_decide(const std::string& name, bool redirected);
  void on_resolved(const UpstreamResolver::Result& r, bool redirected);
  void proceed();
  void ask(const NetDecision& d, std::function<void(Connection*)> on_yes);
  void on_approval(bool approved);
  void connect_next();
  void on_connect_ready();
  void on_connected();
  bool upstream_reusable();
  void begin_http_exchange();
  void switch_to_tunnel();

  // Peeking at the first client bytes of a tunnel.
  void evaluate_peek();
  void finish_peek();

  // Answers and endings.
  void refuse(const NetDecision& d, const std::string& host_port, const std::string& why);
  void fail_upstream(int err, const std::string& why);
  void answer_http(int status, const char* reason, const std::string& body_line);
  void answer_errno(int err);
  void answer_in_tunnel(bool denied);
  void close_gracefully();
  void on_deadline();
  void close_upstream();
  void finish();

  // Helpers.
  bool pump(Flow& f, int src, int dst, bool can_read, bool* moved, std::string* error);
  bool ensure_pipe(Flow& f);
  NetDecision decide(std::string_view domain, std::string_view ip, uint16_t port);
  void audit(const NetDecision& d, bool effective_allow, const std::string& target,
             const std::string& message);
  std::string target_label() const;
  void set_deadline(std::chrono::milliseconds d);
  void clear_deadline() { deadline_ = {}; }

  ProxyContext* ctx_;
  const uint64_t id_;
  ScopedFd client_, upstream_;
  Side client_side_{this, true}, upstream_side_{this, false};
  uint32_t client_mask_ = 0, upstream_mask_ = 0;
  bool client_registered_ = false, upstream_registered_ = false;
  bool client_hup_ = false, upstream_hup_ = false;

  Kind kind_ = Kind::kUnknown;
  Phase phase_ = Phase::kHead;
  EventLoop::Clock::time_point deadline_{}, last_activity_{};

  ByteQueue cin_;  // client bytes not yet handled (heads, peeked bytes, request bodies)
  ByteQueue uin_;  // upstream bytes not yet handled (plain HTTP responses)
  Flow c2u_, u2c_;
  size_t head_scan_ = 0, resp_scan_ = 0, peek_scan_ = 0;

  // What is being decided.
  ip_literal::Host target_;  // the name (or address) the agent asked for
  uint16_t port_ = 0;
  std::string target_text_;  // target_:port_
  bool has_name_ = false;
  std::optional<IpAddress> known_ip_;  // transparent destination / IP literal
  NetDecision by_name_, by_addr_, decision_;
  std::optional<RedirectTable::ConnectHit> redirect_;
  bool redirect_failed_over_ = false;  // on_failure retry_original already used
  std::string connect_host_;
  uint16_t connect_port_ = 0;
  uint64_t resolve_id_ = 0;
  std::vector<Candidate> candidates_;
  size_t cand_idx_ = 0;
  int last_errno_ = 0;
  IpAddress connected_ip_;
  bool connecting_ = false;
  bool reuse_ = false;
  std::string up_key_;  // target_text_ of the connected upstream (plain HTTP reuse)
  uint32_t pid_ = 0;
  std::string via_;  // "connect", "http", "transparent": for audit messages

  // Answers already given.
  bool told_client_ = false;  // 200 / status 0 / response head sent

  // Tunnel peeking.
  bool peeking_ = false, peek_done_ = false;
  bool deferred_ = false;  // told "connected" without connecting: decide by SNI/Host
  NetDecision deferred_deny_;
  PeekKind peek_kind_ = PeekKind::kNone;

  // Approvals.
  bool approval_pending_ = false;
  std::function<void(Connection*)> on_approved_;

  // Plain HTTP.
  HttpHead req_;
  std::string origin_form_;
  http_head::BodyKind req_body_kind_ = http_head::BodyKind::kNone;
  uint64_t req_body_len_ = 0;
  HttpBodyFramer req_framer_, resp_framer_;
  bool resp_head_done_ = false, keep_alive_ = false;
  uint64_t served_ = 0;

  // A decrypted LLM provider connection (Phase::kIntercept).
  std::unique_ptr<LlmInterceptor> llm_;

  // Lingering after a final answer.
  bool client_shut_ = false;
  size_t discarded_ = 0;
};

}  // namespace agentsh::proxy
