// TlsSession: one TLS connection driven entirely through memory, for an event loop that
// owns the sockets (epoll). The loop moves bytes; the session never touches a file
// descriptor and never blocks:
//
//   on readable:  n = read(fd, buf); s.feed(buf, n)      (n == 0: s.feed_eof())
//                 if (!s.handshake_done()) s.handshake(); else s.read(&plain)
//   after any call: if (!s.outgoing().empty()) write it to the socket, then
//                 s.consume_outgoing(bytes_written)     (keep EPOLLOUT while non-empty)
//   to send:      s.write(plain)  (encrypts into outgoing())
//
// Results: kOk (done / data produced), kWantRead (needs more ciphertext from the peer),
// kClosed (peer sent close_notify, or EOF: see truncated()), kError (error() says why;
// the connection is unusable — send outgoing() if any (an alert) and close).
// Backpressure is the caller's: stop calling write() while outgoing() is large, stop
// reading the socket while it has a lot of plaintext to deliver.
//
// Thread-safety: one session belongs to one thread at a time. Not movable: mbedTLS keeps
// a pointer to it for the memory BIO.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/tls_handles.h"

namespace agentsh::proxy {

class TlsSession {
 public:
  enum class Result { kOk, kWantRead, kClosed, kError };

  virtual ~TlsSession();
  TlsSession(const TlsSession&) = delete;
  TlsSession& operator=(const TlsSession&) = delete;

  // Ciphertext received from the peer.
  void feed(const void* data, size_t len);
  void feed(std::string_view data) { feed(data.data(), data.size()); }
  // The peer closed its side of the transport.
  void feed_eof() { eof_ = true; }

  // Ciphertext waiting to be sent to the peer (handshake messages, records, alerts).
  const std::string& outgoing() const { return out_; }
  void consume_outgoing(size_t n) { out_.erase(0, n); }
  std::string take_outgoing();

  // Advances the handshake. kOk once it has completed (and on every later call).
  Result handshake();
  bool handshake_done() const { return done_; }

  // Appends all plaintext that can be decrypted now to `out`. Drives the handshake
  // first if it is not done. kOk if anything was appended, kWantRead if nothing yet.
  Result read(std::string* out);
  // Encrypts all of `data` into outgoing(). Requires a completed handshake.
  Result write(std::string_view data);
  // Queues a close_notify alert.
  void close();

  const std::string& error() const { return error_; }
  bool truncated() const { return truncated_; }  // EOF without close_notify
  std::string alpn() const;                      // negotiated protocol, "" if none
  std::string cipher_suite() const;
  std::string protocol_version() const;
  size_t buffered_ciphertext() const { return in_.size() - in_pos_; }

 protected:
  TlsSession();
  // Binds the SSL context to `conf` and the memory BIO. `conf` must outlive the
  // session: a shared one from a context, or own_config() for a per-session one.
  bool setup(const mbedtls_ssl_config* conf, std::string* error);
  // A configuration owned by this session (destroyed after the SSL context).
  mbedtls_ssl_config* own_config();
  // Keeps `p` (a certificate the SSL context points into) alive as long as the context.
  void keep_alive(std::shared_ptr<const void> p) { keep_alive_.push_back(std::move(p)); }
  mbedtls_ssl_context* ssl() { return ssl_.get(); }
  const mbedtls_ssl_context* ssl() const { return ssl_.get(); }
  // Hooks for the client/server sides.
  virtual void on_handshake_done() {}
  virtual std::string describe_handshake_error(int ret);
  Result fail(const std::string& message);

 private:
  static int bio_send(void* self, const unsigned char* buf, size_t len);
  static int bio_recv(void* self, unsigned char* buf, size_t len);

  // Declaration order matters: members are destroyed in reverse, and mbedtls_ssl_free
  // still reads the configuration and the certificates the context points to.
  std::vector<std::shared_ptr<const void>> keep_alive_;
  tls_handles::SslConfig own_conf_;
  tls_handles::Ssl ssl_;
  std::string in_, out_;
  size_t in_pos_ = 0;
  bool eof_ = false, done_ = false, failed_ = false, truncated_ = false;
  std::string error_;
};

}  // namespace agentsh::proxy
