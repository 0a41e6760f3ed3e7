/* hook_open_cwd: relative opens after the current directory changed in every way the
 * hook's cwd cache must notice. Each step prints "<label> <result>" where result is the
 * file's first line, or "ERR <errno name>".
 *   hook_open_cwd chdir  A B       open f in A; chdir B; open f; fchdir(A); open f
 *   hook_open_cwd vfork  A B       cwd A, open f; a vfork child chdirs to B and opens f;
 *                                  the parent opens f again (still in A)
 *   hook_open_cwd rename A NEWNAME cwd A, open f; A renamed (by a child process, with
 *                                  a raw syscall the hook does not see) to NEWNAME;
 *                                  open f again (same directory, new name)
 *   hook_open_cwd nftw   TOP       nftw(TOP, FTW_CHDIR): the callback opens each regular
 *                                  file by its basename; then open "name" in
 *                                  the original cwd
 *   hook_open_cwd fts    TOP       fts_open(TOP) (chdir mode): opens fts_accpath of each
 *                                  regular file
 *   hook_open_cwd unshare A B      a thread unshares CLONE_FS and chdirs to B; the main
 *                                  thread (still in A) opens f */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <fts.h>
#include <ftw.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void show(const char* label, const char* path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) {
    printf("%s ERR %s\n", label, errno == EACCES ? "EACCES" : errno == ENOENT ? "ENOENT" : "OTHER");
    return;
  }
  char buf[256];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n < 0) n = 0;
  buf[n] = '\0';
  char* nl = strchr(buf, '\n');
  if (nl != NULL) *nl = '\0';
  printf("%s %s\n", label, buf);
}

static int nftw_cb(const char* path, const struct stat* st, int type, struct FTW* ftw) {
  (void)st;
  if (type != FTW_F) return 0;
  char label[300];
  snprintf(label, sizeof label, "nftw:%s", path + ftw->base);
  show(label, path + ftw->base); /* relative to the directory nftw changed into */
  return 0;
}

static const char* g_b;
static void* unshare_thread(void* arg) {
  (void)arg;
  if (unshare(CLONE_FS) != 0 || chdir(g_b) != 0) printf("thread setup failed\n");
  show("thread", "f");
  return NULL;
}

static int cmp(const FTSENT** a, const FTSENT** b) {
  return strcmp((*a)->fts_name, (*b)->fts_name);
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const char* mode = argv[1];
  if (strcmp(mode, "chdir") == 0 && argc == 4) {
    if (chdir(argv[2]) != 0) return 3;
    int a = open(".", O_RDONLY | O_DIRECTORY);
    show("A", "f");
    if (chdir(argv[3]) != 0) return 3;
    show("B", "f");
    if (fchdir(a) != 0) return 3;
    show("A-again", "f");
  } else if (strcmp(mode, "vfork") == 0 && argc == 4) {
    if (chdir(argv[2]) != 0) return 3;
    show("parent", "f");
    fflush(stdout);
    pid_t pid = vfork();
    if (pid == 0) {
      if (chdir(argv[3]) != 0) _exit(3);
      int fd = open("f", O_RDONLY);
      char c = 0;
      if (fd >= 0 && read(fd, &c, 1) != 1) c = 0;
      _exit(c == 'B' ? 0 : 4); /* B's file starts with 'B' */
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("child %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "read B" : "wrong");
    show("parent-again", "f");
  } else if (strcmp(mode, "rename") == 0 && argc == 4) {
    if (chdir(argv[2]) != 0) return 3;
    show("before", "f");
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      /* A raw syscall: the hook in this child does not see it either. */
      _exit(syscall(SYS_rename, argv[2], argv[3]) == 0 ? 0 : 1);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return 3;
    show("after", "f");
  } else if (strcmp(mode, "nftw") == 0) {
    if (nftw(argv[2], nftw_cb, 8, FTW_CHDIR | FTW_PHYS) != 0) printf("nftw failed\n");
    show("home", "name");
  } else if (strcmp(mode, "fts") == 0) {
    char* paths[] = {argv[2], NULL};
    FTS* f = fts_open(paths, FTS_PHYSICAL, cmp);
    if (f == NULL) return 3;
    FTSENT* e;
    while ((e = fts_read(f)) != NULL) {
      if (e->fts_info != FTS_F) continue;
      char label[300];
      snprintf(label, sizeof label, "fts:%s", e->fts_name);
      show(label, e->fts_accpath);
    }
    fts_close(f);
    show("home", "name");
  } else if (strcmp(mode, "unshare") == 0 && argc == 4) {
    if (chdir(argv[2]) != 0) return 3;
    show("main", "f");
    g_b = argv[3];
    pthread_t t;
    pthread_create(&t, NULL, unshare_thread, NULL);
    pthread_join(t, NULL);
    show("main-again", "f");
  } else {
    return 2;
  }
  return 0;
}
