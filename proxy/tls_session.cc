#include "proxy/tls_session.h"

#include <cstring>

namespace agentsh::proxy {

TlsSession::TlsSession() : ssl_(tls_handles::make_Ssl()) {}

TlsSession::~TlsSession() = default;

mbedtls_ssl_config* TlsSession::own_config() {
  if (!own_conf_) own_conf_ = tls_handles::make_SslConfig();
  return own_conf_.get();
}

bool TlsSession::setup(const mbedtls_ssl_config* conf, std::string* error) {
  int ret = mbedtls_ssl_setup(ssl_.get(), conf);
  if (ret != 0) {
    *error = tls_handles::error_text("TLS session setup", ret);
    return false;
  }
  mbedtls_ssl_set_bio(ssl_.get(), this, &TlsSession::bio_send, &TlsSession::bio_recv, nullptr);
  return true;
}

int TlsSession::bio_send(void* self, const unsigned char* buf, size_t len) {
  static_cast<TlsSession*>(self)->out_.append(reinterpret_cast<const char*>(buf), len);
  return int(len);
}

int TlsSession::bio_recv(void* self, unsigned char* buf, size_t len) {
  auto* s = static_cast<TlsSession*>(self);
  size_t avail = s->in_.size() - s->in_pos_;
  if (avail == 0) {
    s->in_.clear();
    s->in_pos_ = 0;
    return s->eof_ ? 0 : MBEDTLS_ERR_SSL_WANT_READ;
  }
  size_t n = len < avail ? len : avail;
  memcpy(buf, s->in_.data() + s->in_pos_, n);
  s->in_pos_ += n;
  return int(n);
}

void TlsSession::feed(const void* data, size_t len) {
  if (in_pos_ > 0 && in_pos_ >= in_.size() / 2) {  // drop what was consumed
    in_.erase(0, in_pos_);
    in_pos_ = 0;
  }
  in_.append(static_cast<const char*>(data), len);
}

std::string TlsSession::take_outgoing() {
  std::string s;
  s.swap(out_);
  return s;
}

TlsSession::Result TlsSession::fail(const std::string& message) {
  failed_ = true;
  if (error_.empty()) error_ = message;
  return Result::kError;
}

std::string TlsSession::describe_handshake_error(int ret) {
  if (ret == MBEDTLS_ERR_SSL_CONN_EOF)
    return "TLS handshake: the peer closed the connection before the handshake completed";
  return tls_handles::error_text("TLS handshake failed", ret);
}

TlsSession::Result TlsSession::handshake() {
  if (done_) return Result::kOk;
  if (failed_) return Result::kError;
  int ret = mbedtls_ssl_handshake(ssl_.get());
  if (ret == 0) {
    done_ = true;
    on_handshake_done();
    return Result::kOk;
  }
  if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
    return Result::kWantRead;
  return fail(describe_handshake_error(ret));
}

TlsSession::Result TlsSession::read(std::string* out) {
  if (!done_) {
    Result r = handshake();
    if (r != Result::kOk) return r;
  }
  if (failed_) return Result::kError;
  bool got = false;
  unsigned char buf[16384];
  for (;;) {
    int ret = mbedtls_ssl_read(ssl_.get(), buf, sizeof buf);
    if (ret > 0) {
      out->append(reinterpret_cast<char*>(buf), size_t(ret));
      got = true;
      continue;
    }
    if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
      return got ? Result::kOk : Result::kWantRead;
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) return got ? Result::kOk : Result::kClosed;
    if (ret == 0 || ret == MBEDTLS_ERR_SSL_CONN_EOF) {  // 0: transport EOF (mbedTLS 2.28)
      truncated_ = true;  // EOF without close_notify: the data may have been cut
      return got ? Result::kOk : Result::kClosed;
    }
    fail(tls_handles::error_text("TLS read", ret));
    return got ? Result::kOk : Result::kError;
  }
}

TlsSession::Result TlsSession::write(std::string_view data) {
  if (failed_) return Result::kError;
  if (!done_) return fail("TLS write before the handshake completed");
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t left = data.size();
  while (left > 0) {
    int ret = mbedtls_ssl_write(ssl_.get(), p, left);
    if (ret > 0) {
      p += ret;
      left -= size_t(ret);
      continue;
    }
    // The memory BIO accepts everything, so WANT_WRITE cannot happen; anything else
    // is fatal.
    return fail(tls_handles::error_text("TLS write", ret));
  }
  return Result::kOk;
}

void TlsSession::close() {
  if (!failed_) mbedtls_ssl_close_notify(ssl_.get());
}

std::string TlsSession::alpn() const {
  const char* p = mbedtls_ssl_get_alpn_protocol(ssl_.get());
  return p ? p : "";
}

std::string TlsSession::cipher_suite() const {
  const char* p = mbedtls_ssl_get_ciphersuite(ssl_.get());
  return p ? p : "";
}

std::string TlsSession::protocol_version() const {
  const char* p = mbedtls_ssl_get_version(ssl_.get());
  return p ? p : "";
}

}  // namespace agentsh::proxy
