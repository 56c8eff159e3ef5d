/* Spec section 2 "Open": access-mode choice, errno of each
 * refusal, O_CLOEXEC, O_TRUNC, O_APPEND, offsets, errno preserved, and no
 * descriptor left behind by a failure.
 * Set 1: an O_RDONLY and an O_RDWR member of the same file, "set one\n".
 * Set 3: an O_RDWR member of a scratch file.
 * Set 4: an O_WRONLY and an O_RDWR member of the same scratch file.
 *   shim_open_semantics SET3_FILE */
#include "shim_checks.h"

static void ok(const char *name) { printf("ok %s\n", name); fflush(stdout); }

static off_t size_of(const char *path) {
    struct stat st;
    CHECK(stat(path, &st) == 0, "stat %s", path);
    return st.st_size;
}

int main(int argc, char **argv) {
    CHECK(argc == 2, "usage: shim_open_semantics SET3_FILE");
    struct fd_snapshot before, after;
    snapshot_fds(&before);

    /* Step 3: the member with the request's access mode serves it. */
    int r = open("/dev/fdset/1", O_RDONLY);
    CHECK(r >= 0 && (fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY, "O_RDONLY served by the O_RDONLY member");
    int w = open("/dev/fdset/1", O_RDWR);
    CHECK(w >= 0 && (fcntl(w, F_GETFL) & O_ACCMODE) == O_RDWR, "O_RDWR served by the O_RDWR member");
    EXPECT_ERRNO(write(r, "x", 1), EBADF);
    CHECK(close(r) == 0 && close(w) == 0, "close");
    EXPECT_ERRNO(open("/dev/fdset/1", O_WRONLY), EACCES);
    ok("access-modes");

    /* Step 2 and step 1: ENOENT for a missing set, EINVAL for a bad number. */
    EXPECT_ERRNO(open("/dev/fdset/9", O_RDONLY), ENOENT);
    EXPECT_ERRNO(open("/dev/fdset/-0", O_RDONLY), ENOENT); /* set 0, which does not exist */
    EXPECT_ERRNO(open("/dev/fdset/2147483647", O_RDONLY), ENOENT);
    const char *bad[] = {"/dev/fdset/", "/dev/fdset/-1", "/dev/fdset/x", "/dev/fdset/1x",
                         "/dev/fdset/1 ", "/dev/fdset/2147483648", "/dev/fdset/0x1", "/dev/fdset/1/"};
    for (unsigned i = 0; i < sizeof bad / sizeof *bad; i++) {
        EXPECT_ERRNO(open(bad[i], O_RDONLY), EINVAL);
        EXPECT_ERRNO(openat(AT_FDCWD, bad[i], O_RDONLY), EINVAL);
        errno = 0;
        CHECK(fopen(bad[i], "r") == NULL && errno == EINVAL, "fopen %s", bad[i]);
    }
    const char *good[] = {"/dev/fdset/ 1", "/dev/fdset/+1", "/dev/fdset/0001", "/dev/fdset/\t1"};
    for (unsigned i = 0; i < sizeof good / sizeof *good; i++) {
        int fd = open(good[i], O_RDONLY);
        CHECK(fd >= 0, "open %s", good[i]);
        CHECK(close(fd) == 0, "close");
    }
    /* Other paths are none of the shim's business. */
    EXPECT_ERRNO(open("/dev/fdset", O_RDONLY), ENOENT);
    EXPECT_ERRNO(open("/nonexistent/fdset/1", O_RDONLY), ENOENT);
    ok("errors");

    /* Step 6: refusals leave no descriptor behind. */
    snapshot_fds(&after);
    expect_same_fds(&before, &after, "after failed opens");
    ok("no-leak");

    /* Step 4: O_CLOEXEC honoured, and absent when not asked. */
    int c = open("/dev/fdset/1", O_RDONLY | O_CLOEXEC);
    int n = open("/dev/fdset/1", O_RDONLY);
    CHECK(c >= 0 && n >= 0, "open");
    CHECK(cloexec_of(c) == 1, "O_CLOEXEC set");
    CHECK(cloexec_of(n) == 0, "a plain open() result survives exec");
    CHECK(close(c) == 0 && close(n) == 0, "close");
    FILE *fe = fopen("/dev/fdset/1", "re"), *fr = fopen("/dev/fdset/1", "r");
    CHECK(fe && fr && cloexec_of(fileno(fe)) == 1 && cloexec_of(fileno(fr)) == 0, "fopen 'e' is O_CLOEXEC");
    CHECK(fclose(fe) == 0 && fclose(fr) == 0, "fclose");
    ok("cloexec");

    /* Step 4: two opens in a row each start at offset 0. */
    int a = open("/dev/fdset/1", O_RDONLY);
    char buf[4];
    CHECK(a >= 0 && read(a, buf, 4) == 4 && !memcmp(buf, "set ", 4), "first read");
    int b = open("/dev/fdset/1", O_RDONLY);
    CHECK(b >= 0, "second open");
    expect_reads(b, "set one\n", "second open starts at 0");
    CHECK(close(a) == 0 && close(b) == 0, "close");
    ok("offset-zero");

    /* O_SYNC must match the member (QEMU's check). */
    EXPECT_ERRNO(open("/dev/fdset/1", O_RDONLY | O_SYNC), EINVAL);
    ok("o-sync");

    /* errno is preserved by successful opens and closes. */
    errno = 4242;
    int e = open("/dev/fdset/1", O_RDONLY);
    CHECK(e >= 0 && errno == 4242, "errno after open");
    CHECK(close(e) == 0 && errno == 4242, "errno after close");
    FILE *f = fopen("/dev/fdset/1", "r");
    CHECK(f && errno == 4242, "errno after fopen");
    CHECK(fclose(f) == 0 && errno == 4242, "errno after fclose");
    ok("errno-preserved");

    /* O_TRUNC truncates the file behind the set. */
    CHECK(size_of(argv[1]) > 0, "scratch file has content");
    int t = open("/dev/fdset/3", O_RDWR | O_TRUNC);
    CHECK(t >= 0, "O_TRUNC open");
    CHECK(size_of(argv[1]) == 0, "truncated");
    CHECK(write(t, "abc", 3) == 3, "write");
    CHECK(close(t) == 0, "close");
    ok("o-trunc");

    /* O_APPEND appends; a later open without it writes at 0 again (F_SETFL
     * on the shared description both ways). */
    EXPECT_ERRNO(open("/dev/fdset/3", O_WRONLY | O_APPEND), EACCES); /* only an O_RDWR member */
    t = open("/dev/fdset/3", O_RDWR | O_APPEND);
    CHECK(t >= 0 && write(t, "d", 1) == 1, "append");
    CHECK(close(t) == 0, "close");
    t = open("/dev/fdset/3", O_RDWR);
    CHECK(t >= 0 && write(t, "X", 1) == 1, "write at 0");
    expect_reads(t, "bcd", "rest of file");
    CHECK(pread(t, buf, 4, 0) == 4 && !memcmp(buf, "Xbcd", 4), "file is Xbcd");
    CHECK(close(t) == 0, "close");
    ok("o-append");

    /* fopen's append modes start where glibc's own fopen does on a plain
     * file, whatever an earlier dup did to the member's shared offset: "a"
     * at the end (ftell tells the size), "a+" at 0 for its reads. Set 4:
     * an O_WRONLY and an O_RDWR member of the scratch file, now "Xbcd". */
    t = open("/dev/fdset/4", O_WRONLY);
    CHECK(t >= 0 && lseek(t, 1, SEEK_SET) == 1 && close(t) == 0, "move the O_WRONLY member's offset to 1");
    FILE *fa = fopen("/dev/fdset/4", "a");
    CHECK(fa && ftell(fa) == 4, "fopen a: ftell is the size (4), got %ld", fa ? ftell(fa) : -1L);
    CHECK(fputc('e', fa) == 'e' && fclose(fa) == 0, "fopen a: append");
    fa = freopen("/dev/fdset/4", "a", fopen("/dev/null", "r"));
    CHECK(fa && ftell(fa) == 5, "freopen a: ftell is the size (5), got %ld", fa ? ftell(fa) : -1L);
    CHECK(fclose(fa) == 0, "fclose");
    t = open("/dev/fdset/4", O_RDWR);
    CHECK(t >= 0 && read(t, buf, 2) == 2 && close(t) == 0, "move the O_RDWR member's offset to 2");
    FILE *fp = fopen("/dev/fdset/4", "a+");
    CHECK(fp && fgetc(fp) == 'X', "fopen a+: reads start at 0");
    CHECK(fclose(fp) == 0, "fclose a+");
    ok("fopen-append");

    /* freopen onto a stream whose descriptor was closed (a daemon closes
     * 0 first): the set's dup takes the stream's number, as glibc's own
     * freopen of a file would (README "Open"). */
    int saved_stdin = dup(0);
    CHECK(saved_stdin >= 0 && close(0) == 0, "close stdin");
    errno = 777;
    FILE *in = freopen("/dev/fdset/1", "r", stdin);
    CHECK(in && fileno(in) == 0 && errno == 777, "freopen onto a closed stdin: fileno %d errno %d",
          in ? fileno(in) : -1, errno);
    char line[32] = {0};
    CHECK(fgets(line, sizeof line, in) && !strcmp(line, "set one\n"), "read through it: %s", line);
    CHECK(fclose(in) == 0, "fclose");
    CHECK(dup2(saved_stdin, 0) == 0 && close(saved_stdin) == 0, "stdin back");
    ok("freopen-closed-stream");

    /* Every dup was closed: the table is as it was. */
    snapshot_fds(&after);
    expect_same_fds(&before, &after, "at the end");
    ok("end");
    return 0;
}
