// IP addresses and CIDR blocks (see cidr.h).
//
// Compiled into the supervisor and into libagentsh_hook.so: no allocation, no
// exceptions, no stdio. inet_pton is used for parsing: it lives in libc, allocates
// nothing, takes no locks and does not depend on the locale, and it is strict for IPv4
// (four decimal parts, no leading zeros, no hex/octal/short forms).
#include "policy/cidr.h"

#include <arpa/inet.h>

#include <cstring>

namespace agentsh::cidr {

namespace {

constexpr uint8_t kV4MappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
// inet_pton needs a NUL-terminated string; the longest valid text form is
// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" (45 chars).
constexpr size_t kMaxIpText = 46;

void set_v4(IpAddr* out, const void* four) noexcept {
  memcpy(out->b, kV4MappedPrefix, 12);
  memcpy(out->b + 12, four, 4);
}

// Parses an IP and reports whether the *text* was an IPv4 dotted quad (which decides
// how a CIDR prefix is read: "1.2.3.0/24" is /120 in the 128-bit space, while
// "::ffff:1.2.3.0/120" is already in it).
bool parse_ip_kind(const char* s, size_t n, IpAddr* out, bool* text_v4) noexcept {
  if (s == nullptr || n == 0 || n >= kMaxIpText) return false;
  char buf[kMaxIpText];
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (memchr(buf, '\0', n) != nullptr) return false;  // embedded NUL: not an address
  unsigned char raw[16];
  if (memchr(buf, ':', n) == nullptr) {
    if (inet_pton(AF_INET, buf, raw) != 1) return false;
    set_v4(out, raw);
    *text_v4 = true;
    return true;
  }
  // Zone ids ("fe80::1%eth0") are rejected by inet_pton, which is what we want: a
  // policy CIDR has no interface scope.
  if (inet_pton(AF_INET6, buf, raw) != 1) return false;
  memcpy(out->b, raw, 16);
  *text_v4 = false;
  return true;
}

// Strict decimal: 1-3 digits, no sign, no leading zero except "0" itself.
bool parse_prefix(const char* s, size_t n, unsigned* out) noexcept {
  if (n == 0 || n > 3) return false;
  if (n > 1 && s[0] == '0') return false;
  unsigned v = 0;
  for (size_t i = 0; i < n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  *out = v;
  return true;
}

// Clears the host bits so that equal networks compare equal and contains() can compare
// whole bytes.
void mask_host_bits(IpAddr* a, unsigned prefix) noexcept {
  for (unsigned i = 0; i < 16; ++i) {
    unsigned bit = i * 8;
    if (bit >= prefix) {
      a->b[i] = 0;
    } else if (prefix - bit < 8) {
      a->b[i] = static_cast<uint8_t>(a->b[i] & (0xffu << (8 - (prefix - bit))));
    }
  }
}

char* put_dec(char* p, unsigned v) noexcept {
  char tmp[4];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) *p++ = tmp[--n];
  return p;
}

char* put_hex16(char* p, unsigned v) noexcept {
  static constexpr char kHex[] = "0123456789abcdef";
  bool started = false;
  for (int shift = 12; shift >= 0; shift -= 4) {
    unsigned d = (v >> shift) & 0xf;
    if (d != 0 || started || shift == 0) {
      *p++ = kHex[d];
      started = true;
    }
  }
  return p;
}

}  // namespace

bool IpAddr::is_v4() const noexcept {
  return memcmp(b, kV4MappedPrefix, 12) == 0;
}

bool parse_ip(const char* s, size_t n, IpAddr* out) noexcept {
  bool text_v4 = false;
  return parse_ip_kind(s, n, out, &text_v4);
}

bool parse_cidr(const char* s, size_t n, Cidr* out) noexcept {
  if (s == nullptr) return false;
  const char* slash = static_cast<const char*>(memchr(s, '/', n));
  size_t addr_len = slash != nullptr ? static_cast<size_t>(slash - s) : n;
  IpAddr ip;
  bool text_v4 = false;
  if (!parse_ip_kind(s, addr_len, &ip, &text_v4)) return false;
  unsigned prefix = text_v4 ? 32 : 128;
  if (slash != nullptr) {
    if (!parse_prefix(slash + 1, n - addr_len - 1, &prefix)) return false;
    if (prefix > (text_v4 ? 32u : 128u)) return false;
  }
  if (text_v4) prefix += 96;
  mask_host_bits(&ip, prefix);
  out->net = ip;
  out->prefix = static_cast<uint8_t>(prefix);
  return true;
}

bool contains(const Cidr& c, const IpAddr& ip) noexcept {
  unsigned prefix = c.prefix > 128 ? 128 : c.prefix;
  unsigned full = prefix / 8;
  if (memcmp(c.net.b, ip.b, full) != 0) return false;
  unsigned rest = prefix % 8;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xffu << (8 - rest));
  return (c.net.b[full] & mask) == (ip.b[full] & mask);
}

bool from_sockaddr(const sockaddr* sa, socklen_t len, IpAddr* out, uint16_t* port) noexcept {
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) return false;
  // Copy out rather than cast: the caller's buffer need not be aligned for sockaddr_in6.
  sa_family_t family;
  memcpy(&family, &sa->sa_family, sizeof family);
  if (family == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) return false;
    sockaddr_in sin;
    memcpy(&sin, sa, sizeof sin);
    set_v4(out, &sin.sin_addr);
    if (port != nullptr) *port = ntohs(sin.sin_port);
    return true;
  }
  if (family == AF_INET6) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in6))) return false;
    sockaddr_in6 sin6;
    memcpy(&sin6, sa, sizeof sin6);
    memcpy(out->b, &sin6.sin6_addr, 16);
    if (port != nullptr) *port = ntohs(sin6.sin6_port);
    return true;
  }
  return false;
}

size_t format(const IpAddr& ip, char* out, size_t cap) noexcept {
  // Longest forms: "255.255.255.255" (15) and 8 groups of 4 hex digits (39).
  char buf[48];
  char* p = buf;
  if (ip.is_v4()) {
    for (int i = 0; i < 4; ++i) {
      if (i != 0) *p++ = '.';
      p = put_dec(p, ip.b[12 + i]);
    }
  } else {
    unsigned g[8];
    for (int i = 0; i < 8; ++i) g[i] = (static_cast<unsigned>(ip.b[2 * i]) << 8) | ip.b[2 * i + 1];
    // RFC 5952 4.2: compress the longest run of zero groups (first one on a tie), and
    // only runs of two or more.
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
      if (g[i] != 0) {
        ++i;
        continue;
      }
      int j = i;
      while (j < 8 && g[j] == 0) ++j;
      if (j - i > best_len) {
        best = i;
        best_len = j - i;
      }
      i = j;
    }
    if (best_len < 2) best = -1;
    for (int i = 0; i < 8;) {
      if (i == best) {
        *p++ = ':';
        *p++ = ':';
        i += best_len;
        continue;
      }
      if (i != 0 && i != best + best_len) *p++ = ':';
      p = put_hex16(p, g[i]);
      ++i;
    }
  }
  size_t n = static_cast<size_t>(p - buf);
  if (n + 1 > cap) return 0;
  memcpy(out, buf, n);
  out[n] = '\0';
  return n;
}

}  // namespace agentsh::cidr
