// The resolver configuration the proxy uses for its own lookups and for forwarding the
// agent's DNS queries: /etc/resolv.conf (nameservers, timeout, attempts) and
// /etc/hosts. Parsing is pure; the load_* helpers read a file.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/ip_address.h"

namespace agentsh::proxy::dns_config {

struct Nameserver {
  IpAddress ip;
  uint16_t port = 53;
};

struct ResolvConf {
  std::vector<Nameserver> nameservers;  // at most 3, as glibc
  int timeout_ms = 2000;                // per try ("options timeout:N", seconds)
  int attempts = 2;                     // rounds over all nameservers ("options attempts:N")
};

// Parses resolv.conf text. Understands `nameserver ADDR` and `options timeout:N
// attempts:N`; everything else is ignored as glibc does. Extension (never written by
// system tools, used by tests to point at a server on a loopback port):
// `nameserver 127.0.0.2:5353` and `nameserver [::1]:5353`.
ResolvConf parse_resolv_conf(std::string_view text);
// Reads and parses `path`. False (with `error`) if it cannot be read or names no
// nameserver.
bool load_resolv_conf(const std::string& path, ResolvConf* out, std::string* error);

// name (lower-case, no trailing dot) → addresses, in file order.
using HostsTable = std::map<std::string, std::vector<IpAddress>, std::less<>>;

HostsTable parse_hosts(std::string_view text);
// A missing hosts file is an empty table, not an error.
bool load_hosts(const std::string& path, HostsTable* out, std::string* error);

}  // namespace agentsh::proxy::dns_config
