// Placeholder shim until the shim issue lands: execs the real shell.
#include <unistd.h>

#include <cstdio>

int main(int, char** argv) {
  execv("/bin/bash.real", argv);
  perror("agentsh-shell-shim: /bin/bash.real");
  return 127;
}
