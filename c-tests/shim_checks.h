/* Shared by the c-tests/shim_*.c programs: expectations on errno,
 * content and descriptor state, on top of stress_common.h's CHECK. */
#ifndef SHIM_CHECKS_H
#define SHIM_CHECKS_H

#include "stress_common.h"

/* `call` fails with exactly `want`. */
#define EXPECT_ERRNO(call, want)                                                   \
    do {                                                                           \
        errno = 0;                                                                 \
        long r_ = (long)(call);                                                    \
        int e_ = errno;                                                            \
        CHECK(r_ == -1 && e_ == (want), "%s: want -1 with %s, got %ld with %s",   \
              #call, strerror(want), r_, strerror(e_));                            \
    } while (0)

/* Read from fd's current offset and compare with want (exactly, to EOF). */
static inline void expect_reads(int fd, const char *want, const char *what) {
    char buf[256];
    size_t got = 0;
    ssize_t n;
    while ((n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    CHECK(n == 0, "%s: read", what);
    buf[got] = 0;
    CHECK(got == strlen(want) && !memcmp(buf, want, got), "%s: read '%s', want '%s'", what, buf, want);
}

static inline int is_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

static inline int cloexec_of(int fd) {
    int f = fcntl(fd, F_GETFD);
    CHECK(f >= 0, "F_GETFD %d", fd);
    return (f & FD_CLOEXEC) != 0;
}

/* What /proc/self/fd says fd refers to ("" when not open). */
static inline const char *target_of(int fd) {
    static char buf[512];
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, buf, sizeof buf - 1);
    buf[n < 0 ? 0 : n] = 0;
    return buf;
}

/* Number of open descriptors at or above `low`. */
static inline int count_fds_from(int low) {
    struct fd_snapshot s;
    snapshot_fds(&s);
    int n = 0;
    for (int i = 0; i < s.n; i++) n += s.fd[i] >= low;
    return n;
}

#endif
