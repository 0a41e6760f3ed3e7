// Which LLM provider (and which API shape) a request goes to, from proxy.providers
// (name → base URL) and the request's host, port and path.
//   providers: { openai: "https://api.openai.com", anthropic: "http://gw.corp:8080/anthropic" }
// A request matches a provider when scheme, host (case-insensitive) and port equal the
// base URL's and its path starts with the base URL's path. The API shape follows the
// provider name ("openai", "anthropic"); other names (a gateway, LiteLLM…) are guessed
// from the path (/messages → Anthropic, /chat/completions, /responses, … → OpenAI).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace agentsh::llm_provider {

enum class Api { kUnknown, kOpenAi, kAnthropic };

struct Route {
  std::string provider;  // the proxy.providers key
  Api api = Api::kUnknown;
  std::string endpoint;  // "chat.completions", "responses", "messages", … or the path
  std::string path;      // request path without the base URL's path and the query
};

struct BaseUrl {
  bool tls = true;
  std::string host;
  uint16_t port = 443;
  std::string path;  // without a trailing '/', "" for the root
};

// Parses "https://host[:port][/path]" (http too). nullopt if it is not such a URL.
std::optional<BaseUrl> parse_base_url(std::string_view url);

// The provider a request is for, if any.
std::optional<Route> match(const std::map<std::string, std::string>& providers,
                           std::string_view host, uint16_t port, bool tls, std::string_view path);

// The API shape of a provider name, or from the path when the name says nothing.
Api api_for(std::string_view provider, std::string_view path);
// The endpoint name for an API path ("/v1/chat/completions" → "chat.completions").
std::string endpoint_for(Api api, std::string_view path);
const char* api_name(Api api);  // "openai" | "anthropic" | "unknown"

}  // namespace agentsh::llm_provider
