/* every interposed entry point opens, closes or replaces a dup of
 * an fd set. Set 1: read-only member, content "set one\n"; set 2: write-only
 * member (creat). Prints "ok NAME" per entry point; fails loudly otherwise.
 *   shim_entry_points PATH_OF_SET_2_FILE */
#include "shim_checks.h"
#include <stdio.h>

#define S1 "/dev/fdset/1"
#define CONTENT "set one\n"

static void ok(const char *name) { printf("ok %s\n", name); fflush(stdout); }

static void check_fd(int fd, const char *name) {
    CHECK(fd >= 0, "%s", name);
    expect_reads(fd, CONTENT, name);
    CHECK(close(fd) == 0, "close after %s", name);
    CHECK(!is_open(fd), "%s: closed", name);
    ok(name);
}

static void check_stream(FILE *f, const char *name) {
    CHECK(f, "%s", name);
    char line[64] = {0};
    CHECK(fgets(line, sizeof line, f) && !strcmp(line, CONTENT), "%s: read '%s'", name, line);
    int fd = fileno(f);
    CHECK(fclose(f) == 0, "fclose after %s", name);
    CHECK(!is_open(fd), "%s: fclose closed fd %d", name, fd);
    ok(name);
}

static void check_creat(int fd, const char *file, const char *name) {
    CHECK(fd >= 0, "%s", name);
    CHECK(write(fd, name, strlen(name)) == (ssize_t)strlen(name), "%s: write", name);
    CHECK(close(fd) == 0, "%s: close", name);
    struct stat st;
    CHECK(stat(file, &st) == 0 && st.st_size == (off_t)strlen(name), "%s: creat truncates, then writes", name);
    ok(name);
}

int main(int argc, char **argv) {
    CHECK(argc == 2, "usage: shim_entry_points SET2_FILE");
    check_fd(open(S1, O_RDONLY), "open");
    check_fd(open64(S1, O_RDONLY), "open64");
    check_fd(openat(AT_FDCWD, S1, O_RDONLY), "openat");
    /* An absolute path ignores dirfd, even one that is not open. */
    check_fd(openat(12345, S1, O_RDONLY), "openat-bogus-dirfd");
    check_fd(openat64(-1, S1, O_RDONLY), "openat64");
    check_creat(creat("/dev/fdset/2", 0644), argv[1], "creat");
    check_creat(creat64("/dev/fdset/2", 0644), argv[1], "creat64");
    check_stream(fopen(S1, "r"), "fopen");
    check_stream(fopen64(S1, "re"), "fopen64");

    FILE *f = fopen("/dev/null", "r");
    check_stream(freopen(S1, "r", f), "freopen");
    f = fopen("/dev/null", "r");
    check_stream(freopen64(S1, "r", f), "freopen64");
    /* The common use: a set as stdin, at fd 0. */
    CHECK(freopen(S1, "r", stdin) == stdin && fileno(stdin) == 0, "freopen onto stdin");
    char line[64] = {0};
    CHECK(fgets(line, sizeof line, stdin) && !strcmp(line, CONTENT), "stdin reads the set");
    ok("freopen-stdin");
    /* freopen of a stream that holds a dup onto an ordinary file. */
    CHECK(freopen("/dev/null", "r", stdin) == stdin, "freopen away from the set");
    CHECK(fgetc(stdin) == EOF, "stdin is /dev/null now");
    ok("freopen-from-set");

    /* dup2 and dup3 onto a dup replace it; the number is then the program's. */
    int d = open(S1, O_RDONLY);
    int null = open("/dev/null", O_RDONLY);
    CHECK(d >= 0 && null >= 0, "open for dup2");
    CHECK(dup2(null, d) == d && !strcmp(target_of(d), "/dev/null"), "dup2 onto a dup");
    CHECK(close(d) == 0, "close after dup2");
    ok("dup2");
    d = open(S1, O_RDONLY);
    CHECK(dup3(null, d, O_CLOEXEC) == d && !strcmp(target_of(d), "/dev/null") && cloexec_of(d), "dup3 onto a dup");
    CHECK(close(d) == 0 && close(null) == 0, "close after dup3");
    ok("dup3");

    int a = open(S1, O_RDONLY), b = open(S1, O_RDONLY), c = open(S1, O_RDONLY);
    CHECK(a >= 0 && b == a + 1 && c == b + 1, "three consecutive dups");
    CHECK(close_range(a, c, 0) == 0, "close_range");
    CHECK(!is_open(a) && !is_open(b) && !is_open(c), "close_range closed the dups");
    check_fd(open(S1, O_RDONLY), "close_range");

    a = open(S1, O_RDONLY);
    CHECK(a >= 0, "open before closefrom");
    closefrom(3);
    CHECK(!is_open(a), "closefrom closed the dup");
    /* The members survive: sets still open (stdout is fd 1, still there). */
    check_fd(open(S1, O_RDONLY), "closefrom");
    return 0;
}
