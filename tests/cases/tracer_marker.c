// The program a denied exec must never start: if it runs, it leaves a marker file
// (argv[1]) holding its own argv[0], and says so on stdout.
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc > 1) {
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      ssize_t n = write(fd, argv[0], strlen(argv[0]));
      (void)n;
      close(fd);
    }
  }
  printf("marker ran: %s\n", argc > 0 ? argv[0] : "(no argv)");
  return 0;
}
