/* Calls that reach the shim before its constructor has run (another
 * library's constructor, here an executable's .preinit_array, which runs
 * before every shared object's initializer): the hooks find libc's
 * functions by themselves, and the constructor, which runs after, still
 * sets everything up.
 *
 *   early_calls FILE CONTENT   FILE holds CONTENT; FDSET_ADD_FD names set 1
 *
 * Prints "ok before-constructor" and "ok after-constructor".
 */
#include "shim_checks.h"

#include <stdio.h>

/* What the early calls saw, checked in main (stdio before main is best left alone). */
static int env_seen, open_fd = -2, read_n = -2, close_r = -2, close_again_r = -2, close_again_errno;
static int stat_r = -2, access_r = -2, openat_fd = -2, missing_errno, set_errno_early;
static int fopen_ok, dup2_r = -2;
static char read_buf[64];

static void early(int argc, char **argv, char **envp) {
    if (argc < 3) return;
    const char *path = argv[1];
    /* The constructor removes FDSET_ADD_FD from the environment: still
     * there, so it has not run yet. (libc's own initializer has not run
     * either: getenv would not see the environment yet.) */
    for (char **e = envp; *e; e++)
        if (!strncmp(*e, "FDSET_ADD_FD=", 13)) env_seen = 1;
    open_fd = open(path, O_RDONLY);
    if (open_fd >= 0) read_n = (int)read(open_fd, read_buf, sizeof read_buf - 1);
    close_r = close(open_fd);
    errno = 0;
    close_again_r = close(open_fd);
    close_again_errno = errno;
    struct stat st;
    stat_r = stat(path, &st);
    access_r = access(path, R_OK);
    openat_fd = openat(AT_FDCWD, path, O_RDONLY);
    if (openat_fd >= 0) {
        dup2_r = dup2(openat_fd, openat_fd + 1);
        close(openat_fd + 1);
        close(openat_fd);
    }
    errno = 0;
    if (open("/nonexistent/early_calls", O_RDONLY) < 0) missing_errno = errno;
    /* No set exists yet: the launch-time sets come with the constructor. */
    errno = 0;
    if (open("/dev/fdset/1", O_RDONLY) < 0) set_errno_early = errno;
    FILE *f = fopen(path, "r");
    if (f) fopen_ok = fclose(f) == 0;
}

__attribute__((section(".preinit_array"), used)) static void (*const run_early)(int, char **, char **) = early;

int main(int argc, char **argv) {
    CHECK(argc == 3, "usage: early_calls FILE CONTENT");
    const char *content = argv[2];
    CHECK(env_seen, "the early calls ran after the shim's constructor (FDSET_ADD_FD was gone)");
    CHECK(open_fd >= 0, "early open: %d", open_fd);
    CHECK(read_n == (int)strlen(content) && !memcmp(read_buf, content, strlen(content)),
          "early read: %d bytes", read_n);
    CHECK(close_r == 0, "early close: %d", close_r);
    CHECK(close_again_r == -1 && close_again_errno == EBADF, "early second close: %d errno %d",
          close_again_r, close_again_errno);
    CHECK(stat_r == 0 && access_r == 0, "early stat %d, access %d", stat_r, access_r);
    CHECK(openat_fd >= 0 && dup2_r == openat_fd + 1, "early openat %d, dup2 %d", openat_fd, dup2_r);
    CHECK(missing_errno == ENOENT, "early open of a missing file: errno %d", missing_errno);
    CHECK(set_errno_early == ENOENT, "early open of a set: errno %d", set_errno_early);
    CHECK(fopen_ok, "early fopen+fclose");
    printf("ok before-constructor\n");

    CHECK(getenv("FDSET_ADD_FD") == NULL, "the constructor ran and consumed FDSET_ADD_FD");
    int fd = open("/dev/fdset/1", O_RDONLY);
    CHECK(fd >= 0, "open of set 1 after the constructor");
    expect_reads(fd, content, "set 1");
    CHECK(close(fd) == 0, "close of the dup");
    EXPECT_ERRNO(close(fd), EBADF);
    printf("ok after-constructor\n");
    return 0;
}
