#include "proxy/transparent_protocol.h"

#include <cstring>

#include "proxy/ip_literal.h"

namespace agentsh::proxy::transparent_protocol {

bool decode(std::string_view data, Header* out, std::string* error) {
  if (data.size() < kHeaderSize) {
    *error = "short transparent header";
    return false;
  }
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  if (std::memcmp(p, kMagic, sizeof(kMagic)) != 0) {
    *error = "bad transparent header magic or version";
    return false;
  }
  if (p[9] != 0) {
    *error = "unknown transparent header flags";
    return false;
  }
  if (p[8] == 4) {
    out->address = IpAddress::v4((uint32_t{p[16]} << 24) | (uint32_t{p[17]} << 16) |
                                 (uint32_t{p[18]} << 8) | p[19]);
  } else if (p[8] == 6) {
    out->address = IpAddress::from_v6_bytes(p + 16);  // v4-mapped → IPv4
  } else {
    *error = "bad address family in transparent header";
    return false;
  }
  out->port = static_cast<uint16_t>((p[10] << 8) | p[11]);
  if (out->port == 0) {
    *error = "port 0 in transparent header";
    return false;
  }
  out->pid = (uint32_t{p[12]} << 24) | (uint32_t{p[13]} << 16) | (uint32_t{p[14]} << 8) | p[15];
  out->domain.clear();
  const size_t dlen = p[32];
  if (dlen) {
    ip_literal::Host h;
    std::string err;
    std::string_view raw(data.data() + 33, dlen);
    if (!ip_literal::normalize_host(raw, &h, &err)) {
      *error = "bad domain in transparent header: " + err;
      return false;
    }
    if (!h.is_ip()) out->domain = h.text;
  }
  return true;
}

}  // namespace agentsh::proxy::transparent_protocol
