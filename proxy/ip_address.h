// IpAddress: an IPv4 or IPv6 address as a value (no allocation). IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) are always held as IPv4, so the two spellings of one
// address compare, hash and get decided alike.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace agentsh::proxy {

struct IpAddress {
  bool v6 = false;
  uint8_t b[16] = {};  // IPv4 uses b[0..3]; the rest stays zero

  static IpAddress v4(uint32_t host_order);
  // From 16 network-order bytes; a v4-mapped address becomes IPv4.
  static IpAddress from_v6_bytes(const uint8_t bytes[16]);
  // Strict textual forms only ("1.2.3.4", "::1", "::ffff:1.2.3.4"); for what clients
  // type (hex, octal, short forms, brackets) use ip_literal::normalize_host.
  static bool parse(std::string_view text, IpAddress* out);
  // From a sockaddr_in / sockaddr_in6.
  static bool from_sockaddr(const sockaddr* sa, socklen_t len, IpAddress* out, uint16_t* port);

  std::string to_string() const;  // dotted quad or RFC 5952
  // Fills a sockaddr_in / sockaddr_in6 for connect(); returns its length.
  socklen_t to_sockaddr(uint16_t port, sockaddr_storage* out) const;
  int family() const { return v6 ? AF_INET6 : AF_INET; }
  // 0.0.0.0 / :: — the kernel connects those to the loopback address.
  bool is_unspecified() const;

  bool operator==(const IpAddress& o) const;
  bool operator!=(const IpAddress& o) const { return !(*this == o); }
  size_t hash() const;
};

struct IpAddressHash {
  size_t operator()(const IpAddress& a) const { return a.hash(); }
};

}  // namespace agentsh::proxy
