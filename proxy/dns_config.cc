#include "proxy/dns_config.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "proxy/ip_literal.h"

namespace agentsh::proxy::dns_config {
namespace {

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

template <typename Fn>
void for_each_line(std::string_view text, Fn fn) {
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? text.npos : nl - start);
    size_t hash = line.find_first_of("#;");
    if (hash != std::string_view::npos) line = line.substr(0, hash);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    fn(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
}

bool read_file(const std::string& path, std::string* out, int* err) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *err = errno;
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

int parse_int(std::string_view s, int lo, int hi, int fallback) {
  if (s.empty() || s.size() > 4) return fallback;
  int v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return fallback;
    v = v * 10 + (c - '0');
  }
  return std::max(lo, std::min(hi, v));
}

}  // namespace

ResolvConf parse_resolv_conf(std::string_view text) {
  ResolvConf rc;
  for_each_line(text, [&](std::string_view line) {
    auto f = fields(line);
    if (f.size() >= 2 && f[0] == "nameserver" && rc.nameservers.size() < 3) {
      Nameserver ns;
      std::string_view addr = f[1];
      if (IpAddress::parse(addr, &ns.ip)) {
        rc.nameservers.push_back(ns);
        return;
      }
      std::string_view host;
      std::string err;
      if (ip_literal::split_host_port(addr, 53, &host, &ns.port, &err) &&
          (host.front() == '[' ? IpAddress::parse(host.substr(1, host.size() - 2), &ns.ip)
                               : IpAddress::parse(host, &ns.ip))) {
        rc.nameservers.push_back(ns);
      }
      return;
    }
    if (!f.empty() && f[0] == "options") {
      for (size_t i = 1; i < f.size(); ++i) {
        if (f[i].substr(0, 8) == "timeout:")
          rc.timeout_ms = parse_int(f[i].substr(8), 1, 30, 2) * 1000;
        else if (f[i].substr(0, 9) == "attempts:")
          rc.attempts = parse_int(f[i].substr(9), 1, 5, 2);
      }
    }
  });
  return rc;
}

bool load_resolv_conf(const std::string& path, ResolvConf* out, std::string* error) {
  std::string text;
  int err = 0;
  if (!read_file(path, &text, &err)) {
    *error = "cannot read " + path + ": " + std::strerror(err);
    return false;
  }
  *out = parse_resolv_conf(text);
  if (out->nameservers.empty()) {
    *error = path + " names no nameserver";
    return false;
  }
  return true;
}

HostsTable parse_hosts(std::string_view text) {
  HostsTable t;
  for_each_line(text, [&](std::string_view line) {
    auto f = fields(line);
    if (f.size() < 2) return;
    IpAddress ip;
    if (!IpAddress::parse(f[0], &ip)) return;
    for (size_t i = 1; i < f.size(); ++i) {
      ip_literal::Host h;
      std::string err;
      if (!ip_literal::normalize_host(f[i], &h, &err) || h.is_ip()) continue;
      auto& v = t[h.text];
      bool dup = false;
      for (const auto& a : v) dup = dup || a == ip;
      if (!dup) v.push_back(ip);
    }
  });
  return t;
}

bool load_hosts(const std::string& path, HostsTable* out, std::string* error) {
  std::string text;
  int err = 0;
  if (!read_file(path, &text, &err)) {
    if (err == ENOENT) {
      out->clear();
      return true;
    }
    *error = "cannot read " + path + ": " + std::strerror(err);
    return false;
  }
  *out = parse_hosts(text);
  return true;
}

}  // namespace agentsh::proxy::dns_config
