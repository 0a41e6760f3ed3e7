/* A stand-in "real shell" for the shim tests: installed as <root>/usr/bin/bash, it
 * becomes bash.real, and reports exactly how the shim started it — argv (argv[0]
 * included: login shells depend on it), whether stdin is a terminal, and the agentsh
 * variables it sees — then exits with $SHIM_ARGV_EXIT (default 0). Built dynamic and
 * static like every corner case; the shim must not care which. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char** argv) {
  printf("shim-argv-ran\n");
  for (int i = 0; i < argc; ++i) printf("argv[%d]=%s\n", i, argv[i]);
  printf("tty=%d\n", isatty(0));
  const char* in_session = getenv("AGENTSH_IN_SESSION");
  printf("in_session=%s\n", in_session ? in_session : "");
  fflush(stdout);
  const char* code = getenv("SHIM_ARGV_EXIT");
  return code ? atoi(code) : 0;
}
