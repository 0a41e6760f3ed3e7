#include "proxy/tls_handles.h"

#include <mbedtls/error.h>

#include <cstdio>

namespace agentsh::tls_handles {

std::string error_text(const std::string& what, int ret) {
  char buf[160];
  mbedtls_strerror(ret, buf, sizeof buf);
  char code[16];
  snprintf(code, sizeof code, "-0x%04x", unsigned(-ret));
  return what + ": " + buf + " (" + code + ")";
}

}  // namespace agentsh::tls_handles
