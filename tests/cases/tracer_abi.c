// Foreign syscall ABIs from a 64-bit program: tracer_abi i386|x32.
// Under the tracer the process is killed (SIGSYS) before the call runs; the line after
// the call must never be printed.
#include <stdio.h>
#include <string.h>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  long r = 0;
  printf("calling %s\n", argv[1]);
  fflush(stdout);
  if (!strcmp(argv[1], "i386")) {
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");  // i386 getpid
  } else if (!strcmp(argv[1], "x32")) {
    __asm__ volatile("syscall" : "=a"(r) : "a"(0x40000000L | 39) : "rcx", "r11", "memory");
  } else {
    return 2;
  }
  printf("survived %s: %ld\n", argv[1], r);
  return 0;
}
