/* hook_fileops: runs a list of file operations and prints one line per operation,
 * "<op> OK [detail]" or "<op> ERR <ERRNO-NAME>", so a test can assert the exact errno
 * the hook returned. Usage: hook_fileops OP ARGS... [OP ARGS...]...
 *
 *   open PATH MODE        MODE: r w rw a c(create excl) wc(create+trunc) dir path nofollow
 *   openat DIR REL MODE   DIR is opened O_DIRECTORY and used as dirfd
 *   creat PATH            fopen PATH MODESTR        opendir PATH
 *   read PATH             (prints the content after OK)
 *   write PATH TEXT       (O_WRONLY|O_CREAT|O_TRUNC, then write)
 *   stat PATH  lstat PATH  statx PATH  access PATH  readlink PATH
 *   unlink PATH  rmdir PATH  remove PATH  mkdir PATH  mkfifo PATH  truncate PATH LEN
 *   rename A B  link A B  symlink TARGET LINK  chmod PATH OCTAL
 *   chdir PATH
 *   fill                  lowers RLIMIT_NOFILE to 64 and opens /dev/null until EMFILE
 *   errno PATH            sets errno to 4242, opens/stats/accesses PATH (allowed), and
 *                         reports whether errno is still 4242 afterwards
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static const char* ename(int e) {
  switch (e) {
    case EACCES:
      return "EACCES";
    case EPERM:
      return "EPERM";
    case ENOENT:
      return "ENOENT";
    case ENOTDIR:
      return "ENOTDIR";
    case EISDIR:
      return "EISDIR";
    case EEXIST:
      return "EEXIST";
    case ELOOP:
      return "ELOOP";
    case ENOTEMPTY:
      return "ENOTEMPTY";
    case EINVAL:
      return "EINVAL";
    case EBADF:
      return "EBADF";
    case ENAMETOOLONG:
      return "ENAMETOOLONG";
    case EXDEV:
      return "EXDEV";
    case EBUSY:
      return "EBUSY";
    case EOPNOTSUPP:
      return "EOPNOTSUPP";
    default:
      return "OTHER";
  }
}

static void report(const char* op, int ok, int err) {
  if (ok)
    printf("%s OK\n", op);
  else
    printf("%s ERR %s\n", op, ename(err));
  fflush(stdout);
}

static int mode_flags(const char* m) {
  if (!strcmp(m, "r")) return O_RDONLY;
  if (!strcmp(m, "w")) return O_WRONLY;
  if (!strcmp(m, "rw")) return O_RDWR;
  if (!strcmp(m, "a")) return O_WRONLY | O_APPEND;
  if (!strcmp(m, "c")) return O_WRONLY | O_CREAT | O_EXCL;
  if (!strcmp(m, "wc")) return O_WRONLY | O_CREAT | O_TRUNC;
  if (!strcmp(m, "dir")) return O_RDONLY | O_DIRECTORY;
  if (!strcmp(m, "path")) return O_PATH;
  if (!strcmp(m, "nofollow")) return O_RDONLY | O_NOFOLLOW;
  fprintf(stderr, "bad mode %s\n", m);
  exit(2);
}

int main(int argc, char** argv) {
  int i = 1;
#define NEED(n)                                                \
  do {                                                         \
    if (i + (n) > argc) {                                      \
      fprintf(stderr, "%s: missing arguments\n", argv[i - 1]); \
      return 2;                                                \
    }                                                          \
  } while (0)
  while (i < argc) {
    const char* op = argv[i++];
    int r;
    struct stat st;
    if (!strcmp(op, "open")) {
      NEED(2);
      r = open(argv[i], mode_flags(argv[i + 1]), 0644);
      report(op, r >= 0, errno);
      if (r >= 0) close(r);
      i += 2;
    } else if (!strcmp(op, "openat")) {
      NEED(3);
      int d = open(argv[i], O_RDONLY | O_DIRECTORY);
      if (d < 0) {
        report("openat-dir", 0, errno);
        return 1;
      }
      r = openat(d, argv[i + 1], mode_flags(argv[i + 2]), 0644);
      report(op, r >= 0, errno);
      if (r >= 0) close(r);
      close(d);
      i += 3;
    } else if (!strcmp(op, "creat")) {
      NEED(1);
      r = creat(argv[i++], 0644);
      report(op, r >= 0, errno);
      if (r >= 0) close(r);
    } else if (!strcmp(op, "fopen")) {
      NEED(2);
      FILE* f = fopen(argv[i], argv[i + 1]);
      report(op, f != NULL, errno);
      if (f) fclose(f);
      i += 2;
    } else if (!strcmp(op, "opendir")) {
      NEED(1);
      DIR* d = opendir(argv[i++]);
      report(op, d != NULL, errno);
      if (d) closedir(d);
    } else if (!strcmp(op, "read")) {
      NEED(1);
      r = open(argv[i++], O_RDONLY);
      if (r < 0) {
        report(op, 0, errno);
        continue;
      }
      char buf[4096];
      ssize_t n = read(r, buf, sizeof buf - 1);
      close(r);
      buf[n > 0 ? n : 0] = '\0';
      printf("read OK %s\n", buf);
      fflush(stdout);
    } else if (!strcmp(op, "write")) {
      NEED(2);
      r = open(argv[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (r >= 0) {
        ssize_t n = write(r, argv[i + 1], strlen(argv[i + 1]));
        (void)n;
        close(r);
      }
      report(op, r >= 0, errno);
      i += 2;
    } else if (!strcmp(op, "stat")) {
      NEED(1);
      r = stat(argv[i++], &st);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "lstat")) {
      NEED(1);
      r = lstat(argv[i++], &st);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "statx")) {
      NEED(1);
      struct statx sx;
      r = statx(AT_FDCWD, argv[i++], 0, STATX_BASIC_STATS, &sx);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "access")) {
      NEED(1);
      r = access(argv[i++], F_OK);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "readlink")) {
      NEED(1);
      char buf[4096];
      ssize_t n = readlink(argv[i++], buf, sizeof buf - 1);
      if (n >= 0) {
        buf[n] = '\0';
        printf("readlink OK %s\n", buf);
        fflush(stdout);
      } else {
        report(op, 0, errno);
      }
    } else if (!strcmp(op, "unlink")) {
      NEED(1);
      r = unlink(argv[i++]);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "rmdir")) {
      NEED(1);
      r = rmdir(argv[i++]);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "remove")) {
      NEED(1);
      r = remove(argv[i++]);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "mkdir")) {
      NEED(1);
      r = mkdir(argv[i++], 0755);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "mkfifo")) {
      NEED(1);
      r = mkfifo(argv[i++], 0644);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "truncate")) {
      NEED(2);
      r = truncate(argv[i], atol(argv[i + 1]));
      report(op, r == 0, errno);
      i += 2;
    } else if (!strcmp(op, "rename")) {
      NEED(2);
      r = rename(argv[i], argv[i + 1]);
      report(op, r == 0, errno);
      i += 2;
    } else if (!strcmp(op, "link")) {
      NEED(2);
      r = link(argv[i], argv[i + 1]);
      report(op, r == 0, errno);
      i += 2;
    } else if (!strcmp(op, "symlink")) {
      NEED(2);
      r = symlink(argv[i], argv[i + 1]);
      report(op, r == 0, errno);
      i += 2;
    } else if (!strcmp(op, "chmod")) {
      NEED(2);
      r = chmod(argv[i], (mode_t)strtol(argv[i + 1], NULL, 8));
      report(op, r == 0, errno);
      i += 2;
    } else if (!strcmp(op, "chdir")) {
      NEED(1);
      r = chdir(argv[i++]);
      report(op, r == 0, errno);
    } else if (!strcmp(op, "fill")) {
      /* Lower the fd limit and use every fd up: later operations run with none free. */
      struct rlimit rl = {64, 64};
      setrlimit(RLIMIT_NOFILE, &rl);
      int n = 0;
      while (open("/dev/null", O_RDONLY) >= 0) ++n;
      printf("fill %s\n", errno == EMFILE ? "EMFILE" : "OTHER");
      fflush(stdout);
    } else if (!strcmp(op, "errno")) {
      NEED(1);
      const char* p = argv[i++];
      int kept = 1;
      errno = 4242;
      int fd = open(p, O_RDONLY);
      kept &= fd >= 0 && errno == 4242;
      if (fd >= 0) close(fd);
      errno = 4242;
      kept &= stat(p, &st) == 0 && errno == 4242;
      errno = 4242;
      kept &= access(p, R_OK) == 0 && errno == 4242;
      errno = 4242;
      FILE* f = fopen(p, "r");
      kept &= f != NULL && errno == 4242;
      if (f) fclose(f);
      printf("errno %s\n", kept ? "kept" : "clobbered");
      fflush(stdout);
    } else {
      fprintf(stderr, "hook_fileops: unknown op %s\n", op);
      return 2;
    }
  }
  return 0;
}
