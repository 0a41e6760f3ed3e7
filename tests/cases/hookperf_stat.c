/* hookperf_stat: the stat family on one name relative to a directory fd or the cwd (the
 * hook's one-name fast path, preload/file_guard.cc one_name). Usage:
 *   hookperf_stat DIR NAME [DIR NAME]...
 * DIR "-" means the cwd (AT_FDCWD); any other DIR is opened O_DIRECTORY (it may itself
 * go through /proc/self/root or a symlink). For each pair prints five lines:
 *   fstatat <r>   fstatat-nofollow <r>   statx <r>   statx-nofollow <r>   stat <r>
 * where <r> is "OK <inode>" or "ERR <ERRNO-NAME>" ("stat" is plain stat() when DIR is
 * "-", fstatat through the dirfd otherwise). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char* ename(int e) {
  switch (e) {
    case EACCES:
      return "EACCES";
    case ENOENT:
      return "ENOENT";
    case ENOTDIR:
      return "ENOTDIR";
    case ELOOP:
      return "ELOOP";
    case EBADF:
      return "EBADF";
    default:
      return "OTHER";
  }
}

static void show(const char* api, int r, unsigned long long ino) {
  if (r == 0) {
    printf("%s OK %llu\n", api, ino);
  } else {
    printf("%s ERR %s\n", api, ename(errno));
  }
}

int main(int argc, char** argv) {
  if (argc < 3 || argc % 2 != 1) {
    fprintf(stderr, "usage: hookperf_stat DIR NAME [DIR NAME]...\n");
    return 2;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    int dfd = AT_FDCWD;
    if (strcmp(argv[i], "-") != 0) {
      dfd = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (dfd < 0) {
        printf("opendir ERR %s\n", ename(errno));
        continue;
      }
    }
    const char* name = argv[i + 1];
    struct stat st;
    struct statx sx;
    int r = fstatat(dfd, name, &st, 0);
    show("fstatat", r, (unsigned long long)st.st_ino);
    r = fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW);
    show("fstatat-nofollow", r, (unsigned long long)st.st_ino);
    r = statx(dfd, name, 0, STATX_BASIC_STATS, &sx);
    show("statx", r, (unsigned long long)sx.stx_ino);
    r = statx(dfd, name, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
    show("statx-nofollow", r, (unsigned long long)sx.stx_ino);
    r = dfd == AT_FDCWD ? stat(name, &st) : fstatat(dfd, name, &st, 0);
    show("stat", r, (unsigned long long)st.st_ino);
    if (dfd != AT_FDCWD) close(dfd);
  }
  return 0;
}
