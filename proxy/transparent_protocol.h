// The transparent-mode protocol: how the hook (libagentsh_hook.so) and the tracer hand
// a redirected connect() to the proxy.
//
// The redirected socket is connected to 127.0.0.1:<http_port> (the HTTP proxy port; the
// first byte tells the two protocols apart: no HTTP request starts with 0xA9). Then:
//
//   client → proxy   one header, exactly kHeaderSize (288) bytes, all integers in
//                    network byte order:
//       off  size  field
//         0     8  magic          A9 'A' 'G' 'S' 'H' 'T' 'P' 01   (last byte = version)
//         8     1  family         4 = IPv4, 6 = IPv6 (of the ORIGINAL destination)
//         9     1  flags          0 (reserved; must be zero)
//        10     2  port           original destination port (1..65535)
//        12     4  pid            the connecting process (0 = unknown), for the audit
//        16    16  address        IPv4 in bytes 16..19 (rest zero), or IPv6
//        32     1  domain_len     0..255; 0 = the client knows no name
//        33   255  domain         the name the client resolved to get `address`
//                                 (ASCII, not NUL-terminated, zero padded)
//
//   proxy → client   one status byte once the proxy has decided and connected:
//       0            connected: from now on the socket carries the application's bytes
//       an errno     EACCES (denied by policy), ECONNREFUSED, ETIMEDOUT, ENETUNREACH,
//                    EHOSTUNREACH (upstream failure), EINVAL (bad header). The proxy
//                    closes the connection after it; the hook makes connect() fail
//                    with that errno.
//
// The domain is a hint: the proxy prefers the name its own DNS proxy handed out for the
// address (proxy/name_map.h), and only uses a client-supplied name after resolving it
// itself and finding the address among the answers. After status 0 the proxy still
// peeks at the first bytes the client sends (TLS SNI, HTTP Host) and decides on them.
//
// encode() is inline and allocation-free (memset/memcpy only) so that the hook can
// include this header and use it; decode() is the proxy's side.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "proxy/ip_address.h"

namespace agentsh::proxy::transparent_protocol {

inline constexpr size_t kHeaderSize = 288;
inline constexpr uint8_t kMagic[8] = {0xA9, 'A', 'G', 'S', 'H', 'T', 'P', 0x01};
inline constexpr size_t kMaxDomain = 255;

struct Header {
  IpAddress address;
  uint16_t port = 0;
  uint32_t pid = 0;
  std::string domain;  // empty = none
};

// True if `first` (at least 1 byte) can only be the start of a transparent header.
inline bool looks_like_header(uint8_t first) {
  return first == kMagic[0];
}

// Writes exactly kHeaderSize bytes to `out`. False if the domain is too long.
inline bool encode(const IpAddress& address, uint16_t port, uint32_t pid, std::string_view domain,
                   uint8_t out[kHeaderSize]) {
  if (domain.size() > kMaxDomain) return false;
  std::memset(out, 0, kHeaderSize);
  std::memcpy(out, kMagic, sizeof(kMagic));
  out[8] = address.v6 ? 6 : 4;
  out[10] = static_cast<uint8_t>(port >> 8);
  out[11] = static_cast<uint8_t>(port);
  out[12] = static_cast<uint8_t>(pid >> 24);
  out[13] = static_cast<uint8_t>(pid >> 16);
  out[14] = static_cast<uint8_t>(pid >> 8);
  out[15] = static_cast<uint8_t>(pid);
  std::memcpy(out + 16, address.b, address.v6 ? 16 : 4);
  out[32] = static_cast<uint8_t>(domain.size());
  if (!domain.empty()) std::memcpy(out + 33, domain.data(), domain.size());
  return true;
}
// Reads a header (`data` must hold at least kHeaderSize bytes). False (with `error`) for
// a wrong magic/version, family, zero port, non-zero flags or a malformed domain.
bool decode(std::string_view data, Header* out, std::string* error);

}  // namespace agentsh::proxy::transparent_protocol
