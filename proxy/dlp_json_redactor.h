// JSON-aware redaction for LLM request (and response) bodies: only string VALUES are
// scanned and rewritten; keys, numbers, literals, whitespace and structure are copied
// byte for byte, so valid JSON stays valid and a secret can never break the syntax.
// Escapes are decoded before scanning (a PEM key inside a JSON string is written with
// "\n"), and a finding replaces exactly the raw bytes (escapes included) it came from.
// The base64 payload of a "data:…;base64," string (an attached image) is not scanned:
// editing it would only corrupt the image.
// Pure function over an immutable scanner; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "proxy/dlp_finding.h"
#include "proxy/dlp_scanner.h"

namespace agentsh::dlp_json_redactor {

struct Result {
  std::string text;                         // the redacted document
  std::vector<proxy::DlpFinding> findings;  // offsets/lengths: raw spans of the INPUT
  bool valid_json = true;  // false: input was not JSON; it was redacted as plain text
  size_t strings_scanned = 0;
};

// Max nesting accepted before the document is treated as not-JSON (plain-text redaction).
inline constexpr size_t kMaxDepth = 512;

Result redact(const proxy::DlpScanner& scanner, std::string_view json);

// True if `text` is one syntactically valid JSON value (same tokenizer; for tests and
// for callers that want to check before forwarding).
bool is_valid(std::string_view text);

}  // namespace agentsh::dlp_json_redactor
