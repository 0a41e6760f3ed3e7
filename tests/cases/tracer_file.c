// Path-based file syscalls, one per run: tracer_file OP PATH [PATH2].
// Prints "<op>=ok" or "<op>=<errno name>".
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static const char* path;
static const char* path2;

static int report(const char* op, long r) {
  printf("%s=%s\n", op, r < 0 ? strerrorname_np(errno) : "ok");
  fflush(stdout);
  return 0;
}

static long write_x(long fd) {
  if (fd < 0) return fd;
  long r = write((int)fd, "x", 1);
  close((int)fd);
  return r < 0 ? r : 0;
}

static void* thread_write(void* unused) {
  (void)unused;
  report("thread-write", write_x(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)));
  return NULL;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s OP PATH [PATH2]\n", argv[0]);
    return 2;
  }
  const char* op = argv[1];
  path = argv[2];
  path2 = argc > 3 ? argv[3] : "";
  if (!strcmp(op, "read")) {
    int fd = open(path, O_RDONLY);
    char c;
    long r = fd < 0 ? -1 : read(fd, &c, 1);
    return report(op, r);
  }
  if (!strcmp(op, "write"))
    return report(op, write_x(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)));
  if (!strcmp(op, "append")) return report(op, write_x(open(path, O_WRONLY | O_APPEND)));
  if (!strcmp(op, "raw-openat"))
    return report(op,
                  write_x(syscall(SYS_openat, AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, 0644)));
  if (!strcmp(op, "raw-open"))
    return report(op, write_x(syscall(SYS_open, path, O_WRONLY | O_CREAT | O_TRUNC, 0644)));
  if (!strcmp(op, "raw-read")) {
    long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY);
    if (fd >= 0) close((int)fd);
    return report(op, fd);
  }
  if (!strcmp(op, "thread-write")) {
    pthread_t t;
    pthread_create(&t, NULL, thread_write, NULL);
    pthread_join(t, NULL);
    return 0;
  }
  if (!strcmp(op, "openat2")) {
    struct open_how how = {.flags = O_WRONLY | O_CREAT | O_TRUNC, .mode = 0644};
    return report(op, write_x(syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how)));
  }
  if (!strcmp(op, "creat")) return report(op, write_x(creat(path, 0644)));
  if (!strcmp(op, "truncate")) return report(op, truncate(path, 0));
  if (!strcmp(op, "rename")) return report(op, renameat2(AT_FDCWD, path, AT_FDCWD, path2, 0));
  if (!strcmp(op, "link")) return report(op, linkat(AT_FDCWD, path, AT_FDCWD, path2, 0));
  if (!strcmp(op, "symlink")) return report(op, symlinkat(path2, AT_FDCWD, path));
  if (!strcmp(op, "chmod")) return report(op, fchmodat(AT_FDCWD, path, 0600, 0));
  if (!strcmp(op, "chown")) return report(op, fchownat(AT_FDCWD, path, getuid(), getgid(), 0));
  if (!strcmp(op, "mknod")) return report(op, mknodat(AT_FDCWD, path, S_IFIFO | 0600, 0));
  if (!strcmp(op, "unlink")) return report(op, unlinkat(AT_FDCWD, path, 0));
  if (!strcmp(op, "mkdir")) return report(op, mkdirat(AT_FDCWD, path, 0755));
  if (!strcmp(op, "rmdir")) return report(op, unlinkat(AT_FDCWD, path, AT_REMOVEDIR));
  if (!strcmp(op, "fchmod")) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return report(op, -1);
    return report(op, fchmod(fd, 0777));
  }
  if (!strcmp(op, "handle")) {
    // open_by_handle_at reaches a file with no path at all: refused outright.
    struct file_handle* fh = malloc(sizeof *fh + MAX_HANDLE_SZ);
    fh->handle_bytes = MAX_HANDLE_SZ;
    int mount_id;
    if (name_to_handle_at(AT_FDCWD, path, fh, &mount_id, 0) != 0)
      return report("name_to_handle", -1);
    int mfd = open("/", O_RDONLY | O_DIRECTORY);
    return report(op, open_by_handle_at(mfd, fh, O_RDONLY));
  }
  if (!strcmp(op, "selfproc")) {
    // /proc/self and /dev/fd mean the caller, never the supervisor that opens for it.
    char buf[4096] = {0};
    int fd = open("/proc/self/status", O_RDONLY);
    if (fd < 0) return report("self-status", -1);
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    const char* pid_line = n > 0 ? strstr(buf, "\nPid:\t") : NULL;
    printf("self-pid-match=%s\n", pid_line && atoi(pid_line + 6) == getpid() ? "yes" : "no");
    fd = open("/dev/stdout", O_WRONLY | O_APPEND);
    if (fd < 0) return report("dev-stdout", -1);
    dprintf(fd, "written-through-dev-stdout\n");
    close(fd);
    fd = open("/dev/fd/1", O_WRONLY | O_APPEND);
    if (fd < 0) return report("dev-fd-1", -1);
    dprintf(fd, "written-through-dev-fd-1\n");
    close(fd);
    fflush(stdout);
    return 0;
  }
  if (!strcmp(op, "i386-open")) {
    // open(2) through the i386 gate: the path must sit below 4 GiB.
    char* low =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    strncpy(low, path, 4000);
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(5L), "b"(low), "c"(0L) : "memory");
    return report(op, r < 0 ? (errno = (int)-r, -1) : 0);
  }
  fprintf(stderr, "unknown op %s\n", op);
  return 2;
}
