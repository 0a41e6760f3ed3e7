// Normalising the host a client typed (CONNECT target, absolute URI, Host header, SNI,
// DNS question) before anything is decided about it.
//
// Why: libc and browsers accept many spellings of one address — 0xa9fea9fe,
// 2852039166, 0251.0376.0251.0376, 169.254.43518, [::ffff:169.254.169.254] are all
// 169.254.169.254. A rule written for the dotted form must catch every spelling, so
// every host is turned into either a canonical IP address or a canonical domain name,
// and anything that looks numeric but is not a valid address is refused outright rather
// than handed to a resolver that might read it some other way.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proxy/ip_address.h"

namespace agentsh::proxy::ip_literal {

enum class HostKind : uint8_t { kName, kIp };

struct Host {
  HostKind kind = HostKind::kName;
  std::string text;  // lower-case name without trailing dot, or canonical address text
  IpAddress ip;      // valid when kind == kIp
  bool is_ip() const { return kind == HostKind::kIp; }
};

// Parses an IPv4 address in any form inet_aton/WHATWG URL accept: 1 to 4 parts, each
// decimal, octal (leading 0) or hex (0x); the last part fills the remaining bytes.
// Returns false if `s` is not such a form or a part is out of range.
bool parse_ipv4_lenient(std::string_view s, uint32_t* host_order);

// Normalises one host (no port). Accepts "[v6]" and bare v6, any IPv4 form above, and
// DNS names (letters, digits, '-', '_', dots; labels <= 63, total <= 253; a single
// trailing dot is dropped). Names are lower-cased. Fills `error` on refusal.
bool normalize_host(std::string_view in, Host* out, std::string* error);

// Splits "host:port", "[v6]:port" or (with default_port != 0) a bare host. The port must
// be 1..65535. `host` keeps its brackets (normalize_host takes them). Userinfo ('@') is
// refused.
bool split_host_port(std::string_view in, uint16_t default_port, std::string_view* host,
                     uint16_t* port, std::string* error);

// The host as it appears in a URL or "host:port": IPv6 addresses get brackets.
std::string url_host(const Host& host);
// "host:port" for audit records and matching.
std::string join_host_port(const Host& host, uint16_t port);

}  // namespace agentsh::proxy::ip_literal
