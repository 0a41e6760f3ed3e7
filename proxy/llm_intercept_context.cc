#include "proxy/llm_intercept_context.h"

#include <strings.h>

namespace agentsh::proxy {

std::unique_ptr<LlmInterceptContext> LlmInterceptContext::create(Settings settings,
                                                                 std::string* error) {
  auto c = std::make_unique<LlmInterceptContext>();
  c->settings = std::move(settings);
  for (const auto& [name, url] : c->settings.providers) {
    if (!llm_provider::parse_base_url(url)) {
      *error = "proxy.providers." + name + ": '" + url +
               "' is not a base URL (write it as https://host[:port][/path])";
      return nullptr;
    }
  }
  std::string err;
  c->ca = CaStore::open(c->settings.ca_dir, &err);
  if (!c->ca) {
    *error = "LLM interception: " + err;
    return nullptr;
  }
  c->leaves = TlsLeafCache::create(*c->ca, 1024, &err);
  if (c->leaves) c->server = TlsServerContext::create(*c->leaves, &err);
  if (c->server) {
    c->client = TlsClientContext::create(&err, c->settings.upstream_ca_file.empty()
                                                   ? std::string(CaStore::kSystemBundle)
                                                   : c->settings.upstream_ca_file);
  }
  if (!c->client) {
    *error = "LLM interception: " + err;
    return nullptr;
  }
  if (c->settings.rate_limits.enabled())
    c->limiter = std::make_unique<LlmRateLimiter>(c->settings.rate_limits);
  return c;
}

bool LlmInterceptContext::intercepts(const std::string& host, uint16_t port) const {
  for (const auto& [name, url] : settings.providers) {
    auto b = llm_provider::parse_base_url(url);
    if (b && b->tls && b->port == port && strcasecmp(b->host.c_str(), host.c_str()) == 0)
      return true;
  }
  return false;
}

llm_provider::Route LlmInterceptContext::route(const std::string& host, uint16_t port,
                                               const std::string& path) const {
  if (auto r = llm_provider::match(settings.providers, host, port, true, path)) return *r;
  llm_provider::Route r;
  std::string bare = path.substr(0, path.find('?'));
  for (const auto& [name, url] : settings.providers) {
    auto b = llm_provider::parse_base_url(url);
    if (b && b->tls && b->port == port && strcasecmp(b->host.c_str(), host.c_str()) == 0) {
      r.provider = name;
      break;
    }
  }
  r.api = llm_provider::api_for(r.provider, bare);
  r.endpoint = llm_provider::endpoint_for(r.api, bare);
  r.path = bare;
  return r;
}

}  // namespace agentsh::proxy
