#include "proxy/llm_provider.h"

#include <algorithm>
#include <cctype>

namespace agentsh::llm_provider {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return char(std::tolower(c)); });
  return out;
}

std::string_view strip_query(std::string_view path) {
  size_t q = path.find_first_of("?#");
  return q == std::string_view::npos ? path : path.substr(0, q);
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

std::optional<BaseUrl> parse_base_url(std::string_view url) {
  BaseUrl b;
  std::string u = lower(url.substr(0, std::min<size_t>(url.size(), 8)));
  if (u.rfind("https://", 0) == 0) {
    url.remove_prefix(8);
  } else if (u.rfind("http://", 0) == 0) {
    b.tls = false;
    b.port = 80;
    url.remove_prefix(7);
  } else {
    return std::nullopt;
  }
  size_t slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? "" : url.substr(slash);
  size_t colon = authority.rfind(':');
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    b.host = lower(authority.substr(1, close - 1));
    colon = authority.size() > close + 1 && authority[close + 1] == ':' ? close + 1
                                                                        : std::string_view::npos;
  } else {
    b.host = lower(authority.substr(0, colon));
  }
  if (colon != std::string_view::npos) {
    std::string_view p = authority.substr(colon + 1);
    if (p.empty() || p.size() > 5 || !std::all_of(p.begin(), p.end(), ::isdigit))
      return std::nullopt;
    int port = std::stoi(std::string(p));
    if (port <= 0 || port > 65535) return std::nullopt;
    b.port = uint16_t(port);
  }
  if (b.host.empty()) return std::nullopt;
  path = strip_query(path);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  b.path = std::string(path);
  return b;
}

const char* api_name(Api api) {
  switch (api) {
    case Api::kOpenAi:
      return "openai";
    case Api::kAnthropic:
      return "anthropic";
    case Api::kUnknown:
      break;
  }
  return "unknown";
}

Api api_for(std::string_view provider, std::string_view path) {
  std::string p = lower(provider);
  if (p == "openai" || p == "azure" || p == "azure_openai") return Api::kOpenAi;
  if (p == "anthropic" || p == "claude") return Api::kAnthropic;
  std::string_view q = strip_query(path);
  if (ends_with(q, "/messages") || ends_with(q, "/messages/count_tokens") ||
      ends_with(q, "/complete"))
    return Api::kAnthropic;
  if (ends_with(q, "/chat/completions") || ends_with(q, "/completions") ||
      ends_with(q, "/responses") || ends_with(q, "/embeddings"))
    return Api::kOpenAi;
  return Api::kUnknown;
}

std::string endpoint_for(Api api, std::string_view path) {
  std::string_view q = strip_query(path);
  while (q.size() > 1 && q.back() == '/') q.remove_suffix(1);
  struct Known {
    Api api;
    std::string_view suffix, name;
  };
  static const Known kKnown[] = {
      {Api::kOpenAi, "/chat/completions", "chat.completions"},
      {Api::kOpenAi, "/responses", "responses"},
      {Api::kOpenAi, "/completions", "completions"},
      {Api::kOpenAi, "/embeddings", "embeddings"},
      {Api::kOpenAi, "/models", "models"},
      {Api::kAnthropic, "/messages/count_tokens", "messages.count_tokens"},
      {Api::kAnthropic, "/messages/batches", "messages.batches"},
      {Api::kAnthropic, "/messages", "messages"},
      {Api::kAnthropic, "/complete", "complete"},
      {Api::kAnthropic, "/models", "models"},
  };
  for (const Known& k : kKnown)
    if (k.api == api && ends_with(q, k.suffix)) return std::string(k.name);
  return std::string(q);
}

std::optional<Route> match(const std::map<std::string, std::string>& providers,
                           std::string_view host, uint16_t port, bool tls, std::string_view path) {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);  // "api.openai.com."
  std::string h = lower(host);
  std::string_view p = strip_query(path);
  std::optional<Route> best;
  size_t best_len = 0;
  for (const auto& [name, url] : providers) {
    std::optional<BaseUrl> b = parse_base_url(url);
    if (!b || b->host != h || b->port != port || b->tls != tls) continue;
    if (!b->path.empty() &&
        !(p.rfind(b->path, 0) == 0 && (p.size() == b->path.size() || p[b->path.size()] == '/')))
      continue;
    // Longest base path wins: "gw/openai" beats "gw" on the same host.
    if (best && b->path.size() < best_len) continue;
    Route r;
    r.provider = name;
    std::string_view rest = p.substr(b->path.size());
    r.path = rest.empty() ? std::string(1, '/') : std::string(rest);
    r.api = api_for(name, r.path);
    r.endpoint = endpoint_for(r.api, r.path);
    best = std::move(r);
    best_len = b->path.size();
  }
  return best;
}

}  // namespace agentsh::llm_provider
