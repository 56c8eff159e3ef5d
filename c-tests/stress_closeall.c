/* Spec section 6 "Set members and control sockets are the shim's":
 * the program closes everything it can think of — closefrom(3),
 * close_range(3, ~0U, 0), close() over 3..1023, dup2/dup3 onto a member's
 * number — and set 1 (launch-time member of FILE, content "set one") keeps
 * working, while the program's own calls behave as if the shim's numbers
 * were free.
 *
 *   stress_closeall FILE */
#include "stress_common.h"
#include <limits.h>

static char member_target[PATH_MAX];

/* Numbers >= 100 that refer to FILE: the shim's members (spec: at >= 100). */
static int members(int *out, int max) {
    struct fd_snapshot *s = malloc(sizeof *s);
    CHECK(s, "malloc");
    snapshot_fds(s);
    int n = 0;
    for (int i = 0; i < s->n; i++)
        if (s->fd[i] >= 100 && !strcmp(s->target[i], member_target) && n < max) out[n++] = s->fd[i];
    free(s);
    return n;
}

static void check_set(const char *when) {
    int fd = open("/dev/fdset/1", O_RDONLY);
    CHECK(fd >= 0, "open /dev/fdset/1 %s", when);
    expect_content(fd, "set one", when);
    CHECK(close(fd) == 0, "close dup %s", when);
    int m[4];
    CHECK(members(m, 4) == 1, "set 1 should have exactly one member %s", when);
}

static void open_own(int *fds, int n) {
    for (int i = 0; i < n; i++) {
        fds[i] = open("/dev/null", O_RDONLY);
        CHECK(fds[i] >= 0, "open /dev/null");
    }
}

static void expect_closed(const int *fds, int n, const char *by) {
    for (int i = 0; i < n; i++)
        CHECK(fcntl(fds[i], F_GETFD) == -1 && errno == EBADF, "fd %d still open after %s", fds[i], by);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: stress_closeall FILE\n"); return 2; }
    CHECK(realpath(argv[1], member_target), "realpath");
    check_set("at start");
    int own[6];

    /* A dup open at closefrom time is closed like any fd of the program. */
    open_own(own, 5);
    own[5] = open("/dev/fdset/1", O_RDONLY);
    CHECK(own[5] >= 0, "open a dup");
    closefrom(3);
    expect_closed(own, 6, "closefrom(3)");
    check_set("after closefrom(3)");

    open_own(own, 6);
    CHECK(close_range(3, ~0U, 0) == 0, "close_range");
    expect_closed(own, 6, "close_range(3, ~0U, 0)");
    check_set("after close_range");

    open_own(own, 6);
    int m[4];
    CHECK(members(m, 4) == 1, "one member");
    for (int fd = 3; fd < 1024; fd++) {
        errno = 0;
        int r = close(fd);
        int is_own = 0;
        for (int i = 0; i < 6; i++) is_own |= own[i] == fd;
        if (is_own)
            CHECK(r == 0, "close(%d) of the program's own fd", fd);
        else
            /* Free numbers and the shim's member alike: EBADF. */
            CHECK(r == -1 && errno == EBADF, "close(%d) = %d of a number that is not the program's", fd, r);
    }
    check_set("after close() over 3..1023");

    /* dup2 onto the member's number: the number becomes the program's, the
     * member moves elsewhere. */
    CHECK(members(m, 4) == 1, "one member");
    int target = m[0];
    int mine = open("/dev/null", O_RDONLY);
    struct stat st_null;
    CHECK(mine >= 0 && fstat(mine, &st_null) == 0, "open /dev/null");
    CHECK(dup2(mine, target) == target, "dup2 onto member %d", target);
    CHECK(same_file(target, &st_null), "fd %d is not the program's after dup2", target);
    CHECK(!(fcntl(target, F_GETFD) & FD_CLOEXEC), "dup2 result must not be close-on-exec");
    check_set("after dup2 onto the member");
    CHECK(members(m, 4) == 1 && m[0] != target, "the member moved");
    CHECK(close(target) == 0, "the program closes what it dup2'ed");

    target = m[0];
    CHECK(dup3(mine, target, O_CLOEXEC) == target, "dup3 onto member %d", target);
    CHECK(same_file(target, &st_null), "fd %d is not the program's after dup3", target);
    CHECK(fcntl(target, F_GETFD) & FD_CLOEXEC, "dup3 O_CLOEXEC");
    check_set("after dup3 onto the member");
    CHECK(close(target) == 0 && close(mine) == 0, "close");

    /* Last, everything at once again: nothing of the program's is left. */
    closefrom(3);
    check_set("at the end");
    printf("ok\n");
    return 0;
}
