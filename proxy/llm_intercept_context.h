// LlmInterceptContext: what every intercepted LLM connection of one Proxy shares — the
// provider list (which host:port pairs are decrypted at all), the per-install CA and
// its leaf cache, the agent-facing and upstream TLS contexts, the DLP scanner, the
// optional rate limiter and the sink for finished records.
//
// Only hosts named by a provider base URL with the https scheme are intercepted; every
// other tunnel stays opaque (the proxy never holds a certificate for it).
// Ownership: owned by Proxy, created before and destroyed after every connection.
// Threading: intercepts() is read-only; the TLS contexts, the scanner and the limiter
// are thread-safe (see their headers); on_record is called on the proxy's loop thread
// and must only queue the record.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "proxy/ca_store.h"
#include "proxy/dlp_scanner.h"
#include "proxy/llm_provider.h"
#include "proxy/llm_rate_limiter.h"
#include "proxy/llm_record.h"
#include "proxy/tls_client_context.h"
#include "proxy/tls_leaf_cache.h"
#include "proxy/tls_server_context.h"

namespace agentsh::proxy {

struct LlmInterceptContext {
  struct Settings {
    std::map<std::string, std::string> providers;  // name → base URL
    std::string ca_dir;                            // CaStore directory (created if missing)
    // Trust store for upstream certificates; "" = the system bundle. Tests point it at
    // their fake provider's CA.
    std::string upstream_ca_file;
    std::shared_ptr<const DlpScanner> dlp;            // may be null: bodies forwarded unchanged
    LlmRateLimits rate_limits;                        // disabled by default
    size_t max_request_bytes = 32u << 20;             // larger request bodies get 413
    std::function<void(const LlmRecord&)> on_record;  // may be empty
  };

  // Null with `error` (naming the file or URL and the fix) if the CA or a TLS context
  // cannot be set up.
  static std::unique_ptr<LlmInterceptContext> create(Settings settings, std::string* error);

  // True if a TLS connection to host:port goes to a configured provider.
  bool intercepts(const std::string& host, uint16_t port) const;
  // The route for a request; falls back to the provider owning the host when the path
  // is outside the base URL's path.
  llm_provider::Route route(const std::string& host, uint16_t port, const std::string& path) const;

  Settings settings;
  std::unique_ptr<CaStore> ca;
  std::unique_ptr<TlsLeafCache> leaves;
  std::unique_ptr<TlsServerContext> server;
  std::unique_ptr<TlsClientContext> client;
  std::unique_ptr<LlmRateLimiter> limiter;  // null when no limit is configured
};

}  // namespace agentsh::proxy
