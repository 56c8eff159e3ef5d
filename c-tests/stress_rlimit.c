/* Fault: RLIMIT_NOFILE exhausted. Opening a set path fails with
 * EMFILE (before a mismatched O_SYNC is looked at), nothing leaks, and after one close the next open of the set works.
 *
 *   stress_rlimit */
#include "stress_common.h"
#include <sys/resource.h>

#define LIMIT 200

static int fill[LIMIT];

/* Open /dev/null until the table is full; returns how many. */
static int exhaust(void) {
    int n = 0;
    for (;;) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) {
            CHECK(errno == EMFILE, "filling the table");
            return n;
        }
        CHECK(n < LIMIT, "RLIMIT_NOFILE not in effect");
        fill[n++] = fd;
    }
}

int main(void) {
    struct rlimit rl = {LIMIT, LIMIT};
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
    struct fd_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    CHECK(before && after, "malloc");
    snapshot_fds(before);

    int n = exhaust();
    CHECK(n > 0, "nothing could be opened");
    for (int round = 0; round < 3; round++) {
        errno = 0;
        CHECK(open("/dev/fdset/1", O_RDONLY) == -1 && errno == EMFILE, "open of a set with a full table");
        CHECK(openat(AT_FDCWD, "/dev/fdset/1", O_RDONLY | O_CLOEXEC) == -1 && errno == EMFILE, "openat");
        CHECK(fopen("/dev/fdset/1", "r") == NULL && errno == EMFILE, "fopen");
        /* The dup comes before the O_SYNC check (spec section 2, Open,
         * step 4, as QEMU): a mismatched O_SYNC with a full table is EMFILE. */
        errno = 0;
        CHECK(open("/dev/fdset/1", O_RDONLY | O_SYNC) == -1 && errno == EMFILE, "O_SYNC mismatch with a full table");
    }
    /* One number free: the set opens into it. */
    CHECK(close(fill[--n]) == 0, "close");
    int fd = open("/dev/fdset/1", O_RDONLY);
    CHECK(fd >= 0, "open after a close");
    expect_content(fd, "set one", "set 1");
    errno = 0;
    CHECK(open("/dev/fdset/1", O_RDONLY) == -1 && errno == EMFILE, "full again");
    CHECK(close(fd) == 0, "close the dup");
    while (n > 0) CHECK(close(fill[--n]) == 0, "close");

    snapshot_fds(after);
    expect_same_fds(before, after, "after EMFILE");
    printf("ok\n");
    return 0;
}
