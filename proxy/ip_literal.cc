#include "proxy/ip_literal.h"

#include <arpa/inet.h>

#include <cstring>

namespace agentsh::proxy::ip_literal {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_hex(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int hex_val(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// One part of a lenient IPv4 address. Values beyond 2^32 are reported as such (capped),
// never wrapped.
bool parse_part(std::string_view p, uint64_t* out) {
  if (p.empty()) return false;
  int base = 10;
  if (p.size() >= 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
    base = 16;
    p.remove_prefix(2);
  } else if (p.size() >= 2 && p[0] == '0') {
    base = 8;
    p.remove_prefix(1);
  }
  uint64_t v = 0;
  for (char c : p) {
    int d;
    if (base == 16) {
      if (!is_hex(c)) return false;
      d = hex_val(c);
    } else {
      if (!is_digit(c)) return false;
      d = c - '0';
      if (d >= base) return false;
    }
    v = v * base + d;
    if (v > 0xffffffffull) v = 0x100000000ull;  // saturate: out of range either way
  }
  *out = v;
  return true;
}

// WHATWG "ends in a number": the last label is all digits or 0x-hex. Such hosts are
// IPv4 attempts; if they do not parse they are invalid, not names.
bool ends_in_number(std::string_view s) {
  size_t dot = s.rfind('.');
  std::string_view last = dot == std::string_view::npos ? s : s.substr(dot + 1);
  if (last.empty()) return false;
  bool all_digits = true;
  for (char c : last) all_digits = all_digits && is_digit(c);
  if (all_digits) return true;
  if (last.size() >= 2 && last[0] == '0' && (last[1] == 'x' || last[1] == 'X')) {
    for (size_t i = 2; i < last.size(); ++i)
      if (!is_hex(last[i])) return false;
    return true;
  }
  return false;
}

bool parse_v6(std::string_view s, IpAddress* out) {
  if (s.empty() || s.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  in6_addr a;
  if (inet_pton(AF_INET6, buf, &a) != 1) return false;
  *out = IpAddress::from_v6_bytes(a.s6_addr);
  return true;
}

}  // namespace

bool parse_ipv4_lenient(std::string_view s, uint32_t* host_order) {
  if (s.empty()) return false;
  uint64_t parts[4];
  size_t n = 0;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    std::string_view p = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
    if (n == 4) return false;
    if (!parse_part(p, &parts[n++])) return false;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  for (size_t i = 0; i + 1 < n; ++i)
    if (parts[i] > 255) return false;
  const uint64_t last_limit = 1ull << (8 * (5 - n));
  if (parts[n - 1] >= last_limit) return false;
  uint64_t v = parts[n - 1];
  for (size_t i = 0; i + 1 < n; ++i) v |= parts[i] << (8 * (3 - i));
  *host_order = static_cast<uint32_t>(v);
  return true;
}

bool normalize_host(std::string_view in, Host* out, std::string* error) {
  if (in.empty()) {
    *error = "empty host";
    return false;
  }
  if (in.front() == '[') {
    if (in.size() < 3 || in.back() != ']') {
      *error = "malformed IPv6 literal";
      return false;
    }
    std::string_view inner = in.substr(1, in.size() - 2);
    if (inner.find('%') != std::string_view::npos) {
      *error = "IPv6 zone identifiers are not supported";
      return false;
    }
    if (!parse_v6(inner, &out->ip)) {
      *error = "malformed IPv6 literal";
      return false;
    }
    out->kind = HostKind::kIp;
    out->text = out->ip.to_string();
    return true;
  }
  if (in.find(':') != std::string_view::npos) {
    if (in.find('%') == std::string_view::npos && parse_v6(in, &out->ip)) {
      out->kind = HostKind::kIp;
      out->text = out->ip.to_string();
      return true;
    }
    *error = "malformed host";
    return false;
  }
  std::string_view s = in;
  if (s.back() == '.') s.remove_suffix(1);
  if (s.empty() || s.size() > 253) {
    *error = "malformed host name";
    return false;
  }
  if (ends_in_number(s)) {
    uint32_t v4;
    if (!parse_ipv4_lenient(s, &v4)) {
      *error = "malformed IPv4 address";
      return false;
    }
    out->kind = HostKind::kIp;
    out->ip = IpAddress::v4(v4);
    out->text = out->ip.to_string();
    return true;
  }
  std::string name;
  name.reserve(s.size());
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) {
        *error = "malformed host name (empty label)";
        return false;
      }
      label = 0;
      name.push_back(c);
      continue;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '_')) {
      *error = "invalid character in host name";
      return false;
    }
    if (++label > 63) {
      *error = "host name label longer than 63 characters";
      return false;
    }
    name.push_back(c);
  }
  out->kind = HostKind::kName;
  out->text = std::move(name);
  return true;
}

bool split_host_port(std::string_view in, uint16_t default_port, std::string_view* host,
                     uint16_t* port, std::string* error) {
  if (in.find('@') != std::string_view::npos) {
    *error = "userinfo in authority is not allowed";
    return false;
  }
  std::string_view rest;
  if (!in.empty() && in.front() == '[') {
    size_t close = in.find(']');
    if (close == std::string_view::npos) {
      *error = "malformed IPv6 literal";
      return false;
    }
    *host = in.substr(0, close + 1);
    rest = in.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') {
      *error = "garbage after IPv6 literal";
      return false;
    }
  } else {
    size_t colon = in.find(':');
    if (colon != std::string_view::npos && in.find(':', colon + 1) != std::string_view::npos) {
      *error = "IPv6 address must be in brackets";
      return false;
    }
    *host = in.substr(0, colon);
    rest = colon == std::string_view::npos ? std::string_view() : in.substr(colon);
  }
  if (host->empty()) {
    *error = "empty host";
    return false;
  }
  if (rest.empty()) {
    if (default_port == 0) {
      *error = "missing port";
      return false;
    }
    *port = default_port;
    return true;
  }
  rest.remove_prefix(1);  // ':'
  if (rest.empty() || rest.size() > 5) {
    *error = "bad port";
    return false;
  }
  uint32_t p = 0;
  for (char c : rest) {
    if (!is_digit(c)) {
      *error = "bad port";
      return false;
    }
    p = p * 10 + (c - '0');
  }
  if (p == 0 || p > 65535) {
    *error = "port out of range";
    return false;
  }
  *port = static_cast<uint16_t>(p);
  return true;
}

std::string url_host(const Host& host) {
  return host.is_ip() && host.ip.v6 ? "[" + host.text + "]" : host.text;
}

std::string join_host_port(const Host& host, uint16_t port) {
  return url_host(host) + ":" + std::to_string(port);
}

}  // namespace agentsh::proxy::ip_literal
