// Placeholder until its issue lands: says so and exits 2.
#include <cstdio>

#include "agentsh/commands.h"

namespace agentsh::cmd {
int exec(const Args&) {
  fprintf(stderr, "agentsh exec: not available in this build yet\n");
  return 2;
}
}  // namespace agentsh::cmd
