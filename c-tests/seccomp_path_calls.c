/* The extended-attribute and time calls of the seccomp-mode tests
 * (tests/seccomp_path_calls.rs), linked statically as the programs seccomp
 * mode is for:
 *   seccomp_path_calls PATH
 * makes each call on PATH and prints one line per call: its result, errno
 * and what it read back. The same program on a set path under
 * `fdset-run --seccomp` and on the member's file unsupervised must print
 * the same lines. The utime family goes through syscall() with the old
 * numbers (utime, utimes, futimesat: Go's syscall.Utime and Utimes make
 * them) and through glibc (which makes utimensat); the stat calls with
 * statx's sync bits, through syscall() as a static Go or musl program
 * makes them. */
// build-flags: -static
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

static const char *path;
/* An unmapped address, out of the compiler's sight. */
static char *volatile bad_pointer = (char *)8;

static void times_after(const char *what, long rc) {
    struct stat st;
    int e = errno;
    if (stat(path, &st) < 0) {
        printf("%s rc=%ld errno=%d stat-errno=%d\n", what, rc, e, errno);
        return;
    }
    printf("%s rc=%ld errno=%d atime=%lld.%09ld mtime=%lld.%09ld\n", what, rc, rc < 0 ? e : 0,
           (long long)st.st_atim.tv_sec, st.st_atim.tv_nsec,
           (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

static void show_bytes(const char *what, ssize_t rc, const char *buf) {
    printf("%s rc=%zd errno=%d", what, rc, rc < 0 ? errno : 0);
    if (rc > 0) {
        printf(" bytes=");
        for (ssize_t i = 0; i < rc; i++) putchar(buf[i] ? buf[i] : '|');
    }
    printf("\n");
}

static void xattrs(void) {
    char buf[1000], long_name[300];
    memset(long_name, 'a', sizeof long_name - 1);
    memcpy(long_name, "user.", 5);
    long_name[sizeof long_name - 1] = 0;
    errno = 0;
    show_bytes("getxattr", getxattr(path, "user.fdset", buf, sizeof buf), buf);
    show_bytes("getxattr-size0", getxattr(path, "user.fdset", NULL, 0), buf);
    show_bytes("getxattr-small", getxattr(path, "user.fdset", buf, 2), buf);
    show_bytes("getxattr-missing", getxattr(path, "user.missing", buf, sizeof buf), buf);
    show_bytes("getxattr-empty-value", getxattr(path, "user.empty", buf, sizeof buf), buf);
    show_bytes("getxattr-bad-buffer", getxattr(path, "user.fdset", bad_pointer, 100), buf);
    show_bytes("getxattr-bad-name", getxattr(path, bad_pointer, buf, sizeof buf), buf);
    show_bytes("getxattr-long-name", getxattr(path, long_name, buf, sizeof buf), buf);
    show_bytes("getxattr-no-name", getxattr(path, "", buf, sizeof buf), buf);
    show_bytes("lgetxattr", lgetxattr(path, "user.other", buf, sizeof buf), buf);
    show_bytes("listxattr", listxattr(path, buf, sizeof buf), buf);
    show_bytes("listxattr-size0", listxattr(path, NULL, 0), buf);
    show_bytes("listxattr-small", listxattr(path, buf, 1), buf);
    show_bytes("listxattr-bad-buffer", listxattr(path, bad_pointer, 100), buf);
    show_bytes("llistxattr", llistxattr(path, buf, sizeof buf), buf);
}

static void utimes_calls(void) {
    struct utimbuf ub = {1000000, 2000000};
    struct timeval tv[2] = {{3000000, 5}, {4000000, 7}};
    struct timeval bad[2] = {{3000000, 2000000}, {4000000, 7}};
    struct timespec ts[2] = {{5000000, 11}, {6000000, 13}};
    struct timespec omit[2] = {{0, UTIME_OMIT}, {7000000, 17}};
    struct timespec badns[2] = {{0, 1000000000}, {0, 0}};
    errno = 0;
    times_after("sys-utime", syscall(SYS_utime, path, &ub));
    times_after("sys-utimes", syscall(SYS_utimes, path, tv));
    times_after("sys-utimes-bad-usec", syscall(SYS_utimes, path, bad));
    times_after("sys-utimes-bad-pointer", syscall(SYS_utimes, path, bad_pointer));
    tv[0].tv_sec += 10;
    times_after("sys-futimesat", syscall(SYS_futimesat, AT_FDCWD, path, tv));
    times_after("utimensat", utimensat(AT_FDCWD, path, ts, 0));
    times_after("utimensat-omit", utimensat(AT_FDCWD, path, omit, 0));
    times_after("utimensat-bad-nsec", utimensat(AT_FDCWD, path, badns, 0));
    ub.modtime += 10;
    times_after("utime", utime(path, &ub));
    tv[1].tv_sec += 10;
    times_after("utimes", utimes(path, tv));
    /* Now: only whether it moved to the present is compared. */
    time_t before = time(NULL);
    long rc = syscall(SYS_utime, path, NULL);
    int e = errno;
    struct stat st;
    int now = stat(path, &st) == 0 && st.st_mtime >= before - 1 && st.st_mtime <= time(NULL) + 1;
    printf("sys-utime-now rc=%ld errno=%d now=%d\n", rc, rc < 0 ? e : 0, now);
    rc = syscall(SYS_utimes, path, NULL);
    e = errno;
    now = stat(path, &st) == 0 && st.st_mtime >= before - 1 && st.st_mtime <= time(NULL) + 1;
    printf("sys-utimes-now rc=%ld errno=%d now=%d\n", rc, rc < 0 ? e : 0, now);
}

/* statx's sync bits: newfstatat takes them (both at once too), statx one
 * at a time. */
static void sync_flags(void) {
    struct stat st;
    const int flags[] = {AT_STATX_FORCE_SYNC, AT_STATX_DONT_SYNC,
                         AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC};
    const char *names[] = {"force", "dont", "both"};
    for (int i = 0; i < 3; i++) {
        memset(&st, 0, sizeof st);
        errno = 0;
        long rc = syscall(SYS_newfstatat, AT_FDCWD, path, &st, flags[i]);
        printf("newfstatat-sync-%s rc=%ld errno=%d size=%lld\n", names[i], rc, rc < 0 ? errno : 0,
               (long long)st.st_size);
        struct statx stx;
        memset(&stx, 0, sizeof stx);
        errno = 0;
        rc = syscall(SYS_statx, AT_FDCWD, path, flags[i], STATX_BASIC_STATS, &stx);
        printf("statx-sync-%s rc=%ld errno=%d size=%lld\n", names[i], rc, rc < 0 ? errno : 0,
               (long long)stx.stx_size);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    path = argv[1];
    sync_flags();
    xattrs();
    utimes_calls();
    return 0;
}
