// Credential calls and what the tracer's emulation does with them:
//   tracer_perf_creds MODE PATH
// noop            setresuid/setresgid/setuid/setfsuid to the ids the process already has
//                 (what make's children do before every recipe), then open PATH
// drop            become nobody (65534) in every id, then open PATH
// noop-then-drop  the first, then the second
// fsuid           setfsuid(65534) only, then open PATH
// Prints "open=ok" or "open=<errno name>". Raw syscalls: each call is exactly one.
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int noop(void) {
  long uid = syscall(SYS_geteuid), gid = syscall(SYS_getegid);
  if (syscall(SYS_setresuid, -1, uid, -1) != 0 || syscall(SYS_setresgid, -1, gid, -1) != 0 ||
      syscall(SYS_setresuid, uid, uid, uid) != 0 || syscall(SYS_setuid, uid) != 0)
    return -1;
  syscall(SYS_setfsuid, uid);
  syscall(SYS_setfsgid, gid);
  return 0;
}

static int drop(void) {
  if (syscall(SYS_setgroups, 0, NULL) != 0 || syscall(SYS_setresgid, 65534, 65534, 65534) != 0 ||
      syscall(SYS_setresuid, 65534, 65534, 65534) != 0)
    return -1;
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s MODE PATH\n", argv[0]);
    return 2;
  }
  const char* mode = argv[1];
  int r = 0;
  if (!strcmp(mode, "noop")) {
    r = noop();
  } else if (!strcmp(mode, "drop")) {
    r = drop();
  } else if (!strcmp(mode, "noop-then-drop")) {
    r = noop();
    if (r == 0) r = drop();
  } else if (!strcmp(mode, "fsuid")) {
    syscall(SYS_setfsuid, 65534);
  } else {
    return 2;
  }
  if (r != 0) {
    printf("setup=%s\n", strerrorname_np(errno));
    return 1;
  }
  long fd = syscall(SYS_openat, AT_FDCWD, argv[2], O_RDONLY);
  printf("open=%s\n", fd < 0 ? strerrorname_np(errno) : "ok");
  return 0;
}
