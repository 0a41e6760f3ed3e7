// Reading (and, for connect redirects with tls.mode rewrite_sni, rewriting) the server
// name in a TLS ClientHello, without decrypting anything.
//
// The ClientHello may span several TLS records; the parser reassembles the handshake
// message across records and bounds it (kMaxHandshake). Everything is length-checked:
// a garbage or truncated ClientHello is kMalformed, never a crash or an over-read.
// Pure functions, no I/O; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentsh::proxy::client_hello {

// Largest ClientHello handshake message we accept (real ones are 0.5–2 KiB; post-
// quantum key shares push them to ~2 KiB).
inline constexpr size_t kMaxHandshake = 16 * 1024;

enum class Status : uint8_t {
  kNeedMore,   // a valid prefix: read more bytes
  kNotTls,     // the first byte is not a TLS handshake record
  kMalformed,  // TLS handshake record, but not a well-formed ClientHello
  kOk,
};

struct Info {
  bool has_sni = false;
  std::string sni;          // the host_name, as sent (validated to hostname characters)
  size_t record_bytes = 0;  // bytes of the records that carry the ClientHello
  uint16_t record_version = 0;
};

// Parses the ClientHello at the start of `data` (what the client sent first).
Status parse(std::string_view data, Info* out, std::string* error);

// Re-encodes the ClientHello at the start of `data` (parse must have returned kOk) with
// `new_sni` as its server name (replacing the old one, or adding one), as one or more
// fresh handshake records. Bytes after the ClientHello's records are not included.
bool rewrite_sni(std::string_view data, std::string_view new_sni, std::string* out,
                 std::string* error);

// A fatal TLS alert record (e.g. 49 access_denied, 50 decode_error) to send before
// closing, so the client reports a clear TLS error instead of a bare reset.
std::string fatal_alert(uint8_t description);

}  // namespace agentsh::proxy::client_hello
