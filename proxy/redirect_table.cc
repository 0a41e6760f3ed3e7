#define PCRE2_CODE_UNIT_WIDTH 8
#include "proxy/redirect_table.h"

#include <pcre2.h>

#include "proxy/ip_literal.h"

namespace agentsh::proxy {
namespace {

struct CodeDeleter {
  void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* m) const { pcre2_match_data_free(m); }
};
using CodePtr = std::unique_ptr<pcre2_code, CodeDeleter>;
using MatchDataPtr = std::unique_ptr<pcre2_match_data, MatchDataDeleter>;

// `*` = any run of characters; everything else literal; case-insensitive; anchored.
bool glob_match(std::string_view pat, std::string_view s) {
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && lower(pat[p]) == lower(s[i])) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

}  // namespace

class RedirectTable::Matcher {
 public:
  static std::unique_ptr<Matcher> compile(const std::string& pattern) {
    auto m = std::make_unique<Matcher>();
    int errcode = 0;
    PCRE2_SIZE erroff = 0;
    m->code_.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_CASELESS | PCRE2_UTF, &errcode, &erroff, nullptr));
    if (!m->code_) m->glob_ = pattern;
    return m;
  }
  bool match(std::string_view s) const {
    if (!code_) return glob_match(glob_, s);
    MatchDataPtr md(pcre2_match_data_create_from_pattern(code_.get(), nullptr));
    if (!md) return false;
    return pcre2_match(code_.get(), reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(), 0, 0,
                       md.get(), nullptr) >= 0;
  }

 private:
  CodePtr code_;
  std::string glob_;
};

RedirectTable::~RedirectTable() = default;

std::unique_ptr<RedirectTable> RedirectTable::compile(
    const std::vector<policy::DnsRedirect>& dns,
    const std::vector<policy::ConnectRedirect>& connect, std::string* error) {
  std::unique_ptr<RedirectTable> t(new RedirectTable());
  for (const auto& r : dns) {
    DnsRule rule;
    rule.hit.rule = r.name;
    if (r.match.empty()) {
      *error = "dns_redirects rule '" + r.name + "': empty match";
      return nullptr;
    }
    if (!IpAddress::parse(r.resolve_to, &rule.hit.ip)) {
      *error = "dns_redirects rule '" + r.name + "': resolve_to '" + r.resolve_to +
               "' is not an IP address";
      return nullptr;
    }
    rule.m = Matcher::compile(r.match);
    t->dns_.push_back(std::move(rule));
  }
  for (const auto& r : connect) {
    ConnectRule rule;
    rule.hit.rule = r.name;
    if (r.match.empty()) {
      *error = "connect_redirects rule '" + r.name + "': empty match";
      return nullptr;
    }
    std::string_view host;
    std::string err;
    if (!ip_literal::split_host_port(r.redirect_to, 0, &host, &rule.hit.port, &err)) {
      *error = "connect_redirects rule '" + r.name + "': redirect_to '" + r.redirect_to +
               "' is not host:port (" + err + ")";
      return nullptr;
    }
    ip_literal::Host h;
    if (!ip_literal::normalize_host(host, &h, &err)) {
      *error = "connect_redirects rule '" + r.name + "': redirect_to host: " + err;
      return nullptr;
    }
    rule.hit.host = h.text;
    if (r.tls_mode.empty() || r.tls_mode == "passthrough") {
      rule.hit.tls = TlsMode::kPassthrough;
    } else if (r.tls_mode == "rewrite_sni") {
      rule.hit.tls = TlsMode::kRewriteSni;
      ip_literal::Host sni;
      if (r.sni.empty() || !ip_literal::normalize_host(r.sni, &sni, &err) || sni.is_ip()) {
        *error = "connect_redirects rule '" + r.name + "': tls.mode rewrite_sni needs tls.sni";
        return nullptr;
      }
      rule.hit.sni = sni.text;
    } else {
      *error = "connect_redirects rule '" + r.name + "': unknown tls.mode '" + r.tls_mode +
               "' (passthrough or rewrite_sni)";
      return nullptr;
    }
    rule.hit.message = r.message;
    rule.hit.fallback_to_original = r.on_failure == "retry_original" || r.on_failure == "fail_open";
    rule.m = Matcher::compile(r.match);
    t->connect_.push_back(std::move(rule));
  }
  return t;
}

std::optional<RedirectTable::DnsHit> RedirectTable::match_dns(std::string_view name) const {
  for (const auto& r : dns_)
    if (r.m->match(name)) return r.hit;
  return std::nullopt;
}

std::optional<RedirectTable::ConnectHit> RedirectTable::match_connect(std::string_view host,
                                                                      uint16_t port) const {
  const std::string host_port = std::string(host) + ":" + std::to_string(port);
  for (const auto& r : connect_)
    if (r.m->match(host_port) || r.m->match(host)) return r.hit;
  return std::nullopt;
}

}  // namespace agentsh::proxy
