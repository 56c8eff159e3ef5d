/* Spec sections 2 "Close" and 6: closing what is not a dup is
 * untouched; members are the shim's and survive every way a program closes
 * descriptors; fclose/dup2/dup3/close_range/closefrom over dups leave the
 * descriptor table as it was. Without a control socket the launch-time set
 * stays in use, so its member must never close here (spec section 2 "In use").
 * Set 1: one O_RDONLY member of SET1_FILE, content "set one\n".
 *   shim_close_semantics SET1_FILE */
#include "shim_checks.h"
#include <limits.h>

static void ok(const char *name) { printf("ok %s\n", name); fflush(stdout); }

/* The member of set 1: the one descriptor >= 100 referring to the file. */
static int member_fd(const char *file) {
    struct fd_snapshot s;
    snapshot_fds(&s);
    int found = -1;
    for (int i = 0; i < s.n; i++) {
        if (s.fd[i] >= 100 && !strcmp(s.target[i], file)) {
            CHECK(found < 0, "two members found (%d, %d)", found, s.fd[i]);
            found = s.fd[i];
        }
    }
    CHECK(found >= 0, "no member of %s at >= 100", file);
    return found;
}

static void set_still_opens(const char *when) {
    int fd = open("/dev/fdset/1", O_RDONLY);
    CHECK(fd >= 0, "open after %s", when);
    expect_reads(fd, "set one\n", when);
    CHECK(close(fd) == 0, "close after %s", when);
}

int main(int argc, char **argv) {
    CHECK(argc == 2, "usage: shim_close_semantics SET1_FILE");
    char file[PATH_MAX];
    CHECK(realpath(argv[1], file), "realpath");
    int m = member_fd(file);
    CHECK(cloexec_of(m), "members are close-on-exec");

    /* Not a dup: exactly libc's result and errno. */
    EXPECT_ERRNO(close(-1), EBADF);
    EXPECT_ERRNO(close(77), EBADF);
    int own = open("/dev/null", O_RDONLY);
    errno = 4242;
    CHECK(close(own) == 0 && errno == 4242, "close of the program's own fd");
    EXPECT_ERRNO(close(own), EBADF); /* already closed */
    ok("not-a-dup");

    /* A member's number is not the program's: EBADF, and the set still works. */
    EXPECT_ERRNO(close(m), EBADF);
    CHECK(is_open(m) && !strcmp(target_of(m), file), "member survives close()");
    CHECK(close_range(m, m, 0) == 0 && is_open(m), "member survives close_range over it alone");
    set_still_opens("close of a member");
    ok("member-close");

    /* Dups closed by close, fclose, dup2, dup3, close_range: each number is
     * the program's again and the table is as before. */
    struct fd_snapshot before, after;
    snapshot_fds(&before);
    for (int round = 0; round < 3; round++) {
        FILE *f = fopen("/dev/fdset/1", "r");
        CHECK(f, "fopen");
        int fd = fileno(f);
        CHECK(fclose(f) == 0 && !is_open(fd), "fclose closes the dup");
        /* The number, reused for an ordinary file, closes like one. */
        int again = open("/dev/null", O_RDONLY);
        CHECK(again == fd, "number %d reused (got %d)", fd, again);
        CHECK(close(again) == 0, "close of the reused number");
        EXPECT_ERRNO(close(again), EBADF);

        int d = open("/dev/fdset/1", O_RDONLY), null = open("/dev/null", O_RDONLY);
        CHECK(dup2(null, d) == d && !strcmp(target_of(d), "/dev/null"), "dup2 onto a dup");
        CHECK(close(d) == 0 && close(null) == 0, "close after dup2");
        EXPECT_ERRNO(close(d), EBADF);

        d = open("/dev/fdset/1", O_RDONLY);
        null = open("/dev/null", O_RDONLY);
        CHECK(dup3(null, d, 0) == d && close(d) == 0 && close(null) == 0, "dup3 onto a dup");

        /* dup2 of a dup onto the program's fd: the copy is not a dup (closing
         * it is libc's business), the original still is. */
        d = open("/dev/fdset/1", O_RDONLY);
        int copy = dup(d);
        CHECK(copy >= 0 && close(copy) == 0, "close of dup(dup)");
        CHECK(close(d) == 0, "close of the dup");

        int fds[5];
        for (int i = 0; i < 5; i++) fds[i] = open("/dev/fdset/1", O_RDONLY);
        CHECK(close_range(fds[0], fds[4], 0) == 0, "close_range over dups");
        for (int i = 0; i < 5; i++) CHECK(!is_open(fds[i]), "close_range closed %d", fds[i]);
        CHECK(is_open(m), "member survives close_range");
        set_still_opens("close_range");
    }
    snapshot_fds(&after);
    expect_same_fds(&before, &after, "after closing dups every way");
    ok("dup-closes");

    /* dup2 onto the member's number: the program gets the number, the shim
     * keeps the member elsewhere. */
    int null = open("/dev/null", O_RDONLY);
    CHECK(dup2(null, m) == m && !strcmp(target_of(m), "/dev/null"), "dup2 onto a member");
    CHECK(close(null) == 0, "close");
    int moved = member_fd(file);
    CHECK(moved != m && cloexec_of(moved), "member moved to %d", moved);
    set_still_opens("dup2 onto a member");
    CHECK(close(m) == 0, "the number is the program's now");
    ok("dup2-onto-member");

    /* closefrom(3): everything of the program's goes, the member stays. */
    int x = open("/dev/fdset/1", O_RDONLY), y = open("/dev/null", O_RDONLY);
    closefrom(3);
    CHECK(!is_open(x) && !is_open(y), "closefrom closed the program's fds");
    CHECK(is_open(moved), "member survives closefrom");
    set_still_opens("closefrom");
    CHECK(count_fds_from(3) == 1, "only the member is left above stdio (%d fds)", count_fds_from(3));
    ok("closefrom");
    return 0;
}
