/* the _FORTIFY_SOURCE entry points. With non-constant flags and no
 * mode, glibc's fcntl2.h turns open/open64/openat/openat64 into calls of
 * __open_2/__open64_2/__openat_2/__openat64_2 (the test checks with nm).
 * Set 1: read-only member, content "set one\n". */
// build-flags: -D_FORTIFY_SOURCE=2 -O2
#include "shim_checks.h"

int main(int argc, char **argv) {
    (void)argv;
    /* Not a compile-time constant, so the fortified wrappers are used. */
    int flags = argc > 5 ? O_RDWR : O_RDONLY;
    const char *names[4] = {"__open_2", "__open64_2", "__openat_2", "__openat64_2"};
    for (int i = 0; i < 4; i++) {
        int fd = i == 0 ? open("/dev/fdset/1", flags)
               : i == 1 ? open64("/dev/fdset/1", flags)
               : i == 2 ? openat(AT_FDCWD, "/dev/fdset/1", flags)
                        : openat64(9999, "/dev/fdset/1", flags);
        CHECK(fd >= 0, "%s", names[i]);
        expect_reads(fd, "set one\n", names[i]);
        CHECK(close(fd) == 0, "close");
        EXPECT_ERRNO(i < 2 ? open("/dev/fdset/7", flags) : openat(AT_FDCWD, "/dev/fdset/7", flags), ENOENT);
        printf("ok %s\n", names[i]);
    }
    return 0;
}
