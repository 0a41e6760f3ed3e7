// Placeholder until its issue lands: says so and exits 2.
#include <cstdio>

#include "agentsh/commands.h"

namespace agentsh::cmd {
int shim(const Args&) {
  fprintf(stderr, "agentsh shim: not available in this build yet\n");
  return 2;
}
}  // namespace agentsh::cmd
