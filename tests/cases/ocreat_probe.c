// ocreat_probe MODE PATH: one open() with O_CREAT, for the test that runs the same call
// under the hook alone and under the tracer alone (tests/integration/ocreat_layers_test.cc).
// MODE: creat (O_WRONLY|O_CREAT), excl (+O_EXCL), trunc (+O_TRUNC), rdonly (O_RDONLY|O_CREAT).
// Prints "ok" or "errno=<name>" and exits 0; 2 on bad usage.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char* errno_name(int e) {
  switch (e) {
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case EEXIST:
      return "EEXIST";
    case ENOENT:
      return "ENOENT";
    case ELOOP:
      return "ELOOP";
    default:
      return "other";
  }
}

int main(int argc, char** argv) {
  if (argc != 3) return 2;
  int flags;
  if (strcmp(argv[1], "creat") == 0)
    flags = O_WRONLY | O_CREAT;
  else if (strcmp(argv[1], "excl") == 0)
    flags = O_WRONLY | O_CREAT | O_EXCL;
  else if (strcmp(argv[1], "trunc") == 0)
    flags = O_WRONLY | O_CREAT | O_TRUNC;
  else if (strcmp(argv[1], "rdonly") == 0)
    flags = O_RDONLY | O_CREAT;
  else
    return 2;
  int fd = open(argv[2], flags, 0644);
  if (fd < 0) {
    printf("errno=%s\n", errno_name(errno));
    return 0;
  }
  close(fd);
  printf("ok\n");
  return 0;
}
