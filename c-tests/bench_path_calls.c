/* Loops over one call on an ordinary path, for benches/path_calls.rs, which
 * runs it under callgrind with and without the shim (loops of 1,000 and
 * 11,000 calls: start-up cancels out, the difference is the hook's cost).
 *
 *   bench_path_calls CALL PATH N
 *
 * CALL: getxattr lgetxattr listxattr llistxattr readlink readlinkat realpath
 * truncate utimensat statfs statvfs stat lstat statx access
 * syscall-getpid syscall-newfstatat syscall-close. PATH must be a regular
 * file the caller may write (truncate keeps its size, utimensat sets now). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bench_path_calls CALL PATH N\n");
        return 2;
    }
    const char *call = argv[1], *p = argv[2];
    long n = atol(argv[3]);
    struct stat st;
    if (stat(p, &st) < 0) {
        perror(p);
        return 1;
    }
    char buf[PATH_MAX];
    struct statfs sf;
    struct statvfs sv;
    struct statx sx;
    int plain = dup(0);
    long bad = 0;
#define LOOP(expr, ok)                          \
    for (long i = 0; i < n; i++) {              \
        long r_ = (long)(expr);                 \
        bad += !(ok);                           \
        (void)r_;                               \
    }
    if (!strcmp(call, "getxattr")) LOOP(getxattr(p, "user.none", buf, sizeof buf), r_ < 0 && errno == ENODATA)
    else if (!strcmp(call, "lgetxattr")) LOOP(lgetxattr(p, "user.none", buf, sizeof buf), r_ < 0 && errno == ENODATA)
    else if (!strcmp(call, "listxattr")) LOOP(listxattr(p, buf, sizeof buf), r_ >= 0)
    else if (!strcmp(call, "llistxattr")) LOOP(llistxattr(p, buf, sizeof buf), r_ >= 0)
    else if (!strcmp(call, "readlink")) LOOP(readlink(p, buf, sizeof buf), r_ < 0 && errno == EINVAL)
    else if (!strcmp(call, "readlinkat")) LOOP(readlinkat(AT_FDCWD, p, buf, sizeof buf), r_ < 0 && errno == EINVAL)
    else if (!strcmp(call, "realpath")) LOOP(realpath(p, buf), r_ != 0)
    else if (!strcmp(call, "truncate")) LOOP(truncate(p, st.st_size), r_ == 0)
    else if (!strcmp(call, "utimensat")) LOOP(utimensat(AT_FDCWD, p, NULL, 0), r_ == 0)
    else if (!strcmp(call, "statfs")) LOOP(statfs(p, &sf), r_ == 0)
    else if (!strcmp(call, "statvfs")) LOOP(statvfs(p, &sv), r_ == 0)
    else if (!strcmp(call, "stat")) LOOP(stat(p, &st), r_ == 0)
    else if (!strcmp(call, "lstat")) LOOP(lstat(p, &st), r_ == 0)
    else if (!strcmp(call, "statx")) LOOP(statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &sx), r_ == 0)
    else if (!strcmp(call, "access")) LOOP(access(p, R_OK), r_ == 0)
    else if (!strcmp(call, "syscall-getpid")) LOOP(syscall(SYS_getpid), r_ > 0)
    else if (!strcmp(call, "syscall-newfstatat")) LOOP(syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0), r_ == 0)
    else if (!strcmp(call, "syscall-close")) LOOP(syscall(SYS_close, -1), r_ < 0 && errno == EBADF)
    else {
        fprintf(stderr, "bench_path_calls: unknown call %s\n", call);
        return 2;
    }
    close(plain);
    if (bad) {
        fprintf(stderr, "bench_path_calls: %s failed %ld times\n", call, bad);
        return 1;
    }
    return 0;
}
