// IP addresses and CIDR sets. Every address is held as 16 bytes; IPv4 is stored as the
// v4-mapped IPv6 address ::ffff:a.b.c.d, so a v4-mapped IPv6 peer matches IPv4 rules.
// Contract: no allocation, no exceptions (hook-safe).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>

namespace agentsh::cidr {

struct IpAddr {
  uint8_t b[16];
  bool is_v4() const noexcept;  // true for v4-mapped addresses
};

struct Cidr {
  IpAddr net;
  uint8_t prefix;  // in the 128-bit space (an IPv4 /8 is stored as /104)
};

// Parses "1.2.3.4", "::1", "::ffff:1.2.3.4". Strict: no hex/octal/short IPv4 forms
// (those are handled by the proxy's resolver, which normalises what a client typed).
bool parse_ip(const char* s, size_t n, IpAddr* out) noexcept;
// Parses "10.0.0.0/8", "::1/128" or a bare address (full-length prefix).
bool parse_cidr(const char* s, size_t n, Cidr* out) noexcept;
bool contains(const Cidr& c, const IpAddr& ip) noexcept;
// From a sockaddr (AF_INET / AF_INET6). Returns false for other families.
bool from_sockaddr(const sockaddr* sa, socklen_t len, IpAddr* out, uint16_t* port) noexcept;
// Writes dotted v4 or RFC 5952 v6 text; returns length (0 if cap too small).
size_t format(const IpAddr& ip, char* out, size_t cap) noexcept;

}  // namespace agentsh::cidr
