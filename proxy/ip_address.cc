#include "proxy/ip_address.h"

#include <arpa/inet.h>

#include <cstring>

namespace agentsh::proxy {

IpAddress IpAddress::v4(uint32_t host_order) {
  IpAddress a;
  a.b[0] = static_cast<uint8_t>(host_order >> 24);
  a.b[1] = static_cast<uint8_t>(host_order >> 16);
  a.b[2] = static_cast<uint8_t>(host_order >> 8);
  a.b[3] = static_cast<uint8_t>(host_order);
  return a;
}

IpAddress IpAddress::from_v6_bytes(const uint8_t bytes[16]) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  IpAddress a;
  if (std::memcmp(bytes, kMapped, 12) == 0) {
    std::memcpy(a.b, bytes + 12, 4);
    return a;
  }
  a.v6 = true;
  std::memcpy(a.b, bytes, 16);
  return a;
}

bool IpAddress::parse(std::string_view text, IpAddress* out) {
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  in_addr v4addr;
  if (inet_pton(AF_INET, buf, &v4addr) == 1) {
    *out = IpAddress::v4(ntohl(v4addr.s_addr));
    return true;
  }
  in6_addr v6addr;
  if (inet_pton(AF_INET6, buf, &v6addr) == 1) {
    *out = from_v6_bytes(v6addr.s6_addr);
    return true;
  }
  return false;
}

bool IpAddress::from_sockaddr(const sockaddr* sa, socklen_t len, IpAddress* out, uint16_t* port) {
  if (sa->sa_family == AF_INET && len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
    const auto* s4 = reinterpret_cast<const sockaddr_in*>(sa);
    *out = IpAddress::v4(ntohl(s4->sin_addr.s_addr));
    if (port) *port = ntohs(s4->sin_port);
    return true;
  }
  if (sa->sa_family == AF_INET6 && len >= static_cast<socklen_t>(sizeof(sockaddr_in6))) {
    const auto* s6 = reinterpret_cast<const sockaddr_in6*>(sa);
    *out = from_v6_bytes(s6->sin6_addr.s6_addr);
    if (port) *port = ntohs(s6->sin6_port);
    return true;
  }
  return false;
}

std::string IpAddress::to_string() const {
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, b, buf, sizeof(buf))) return "?";
  return buf;
}

socklen_t IpAddress::to_sockaddr(uint16_t port, sockaddr_storage* out) const {
  std::memset(out, 0, sizeof(*out));
  if (v6) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(out);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    std::memcpy(s6->sin6_addr.s6_addr, b, 16);
    return sizeof(sockaddr_in6);
  }
  auto* s4 = reinterpret_cast<sockaddr_in*>(out);
  s4->sin_family = AF_INET;
  s4->sin_port = htons(port);
  std::memcpy(&s4->sin_addr.s_addr, b, 4);
  return sizeof(sockaddr_in);
}

bool IpAddress::is_unspecified() const {
  static constexpr uint8_t kZero[16] = {};
  return std::memcmp(b, kZero, v6 ? 16 : 4) == 0;
}

bool IpAddress::operator==(const IpAddress& o) const {
  return v6 == o.v6 && std::memcmp(b, o.b, 16) == 0;
}

size_t IpAddress::hash() const {
  // FNV-1a over the bytes that matter; good enough for a hash map key.
  uint64_t h = 1469598103934665603ull ^ (v6 ? 6 : 4);
  const size_t n = v6 ? 16 : 4;
  for (size_t i = 0; i < n; ++i) {
    h ^= b[i];
    h *= 1099511628211ull;
  }
  return static_cast<size_t>(h);
}

}  // namespace agentsh::proxy
