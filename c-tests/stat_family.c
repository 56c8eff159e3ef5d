/* Looks at one path with every call of the stat/access family and prints
 * one line per call (tests/stat_family.rs; spec section 8: "stat, lstat, fstatat,
 * statx, access, faccessat (and glibc's older __xstat family where
 * exported) answer for fdset paths"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Programs built against glibc before 2.33 call these instead of stat(). */
extern int __xstat(int ver, const char *path, struct stat *buf);
extern int __xstat64(int ver, const char *path, struct stat64 *buf);
extern int __lxstat(int ver, const char *path, struct stat *buf);
extern int __lxstat64(int ver, const char *path, struct stat64 *buf);
extern int __fxstatat(int ver, int dirfd, const char *path, struct stat *buf, int flags);
extern int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *buf, int flags);

#define STAT_VER 1 /* _STAT_VER_LINUX on x86_64 */

static void report(const char *name, int r, long long size, unsigned long long ino) {
    if (r == 0)
        printf("%s ok size=%lld ino=%llu\n", name, size, ino);
    else
        printf("%s err %s\n", name, strerrorname_np(errno));
}

/* Run `call` on a zeroed `type st` and report it. */
#define LOOK(name, type, call)                                              \
    do {                                                                    \
        type st;                                                            \
        memset(&st, 0, sizeof st);                                          \
        int r = call;                                                       \
        report(name, r, (long long)st.st_size, (unsigned long long)st.st_ino); \
    } while (0)
#define STAT(name, call) LOOK(name, struct stat, call)
#define STAT64(name, call) LOOK(name, struct stat64, call)

static void access_line(const char *name, int r) {
    if (r == 0)
        printf("%s ok\n", name);
    else
        printf("%s err %s\n", name, strerrorname_np(errno));
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: stat_family PATH\n");
        return 2;
    }
    const char *p = argv[1];
    STAT("stat", stat(p, &st));
    STAT64("stat64", stat64(p, &st));
    STAT("lstat", lstat(p, &st));
    STAT64("lstat64", lstat64(p, &st));
    STAT("fstatat", fstatat(AT_FDCWD, p, &st, 0));
    STAT("fstatat-nofollow", fstatat(AT_FDCWD, p, &st, AT_SYMLINK_NOFOLLOW));
    STAT64("fstatat64", fstatat64(AT_FDCWD, p, &st, 0));
    STAT("__xstat", __xstat(STAT_VER, p, &st));
    STAT64("__xstat64", __xstat64(STAT_VER, p, &st));
    STAT("__lxstat", __lxstat(STAT_VER, p, &st));
    STAT64("__lxstat64", __lxstat64(STAT_VER, p, &st));
    STAT("__fxstatat", __fxstatat(STAT_VER, AT_FDCWD, p, &st, 0));
    STAT64("__fxstatat64", __fxstatat64(STAT_VER, AT_FDCWD, p, &st, 0));
    {
        struct statx stx;
        memset(&stx, 0, sizeof stx);
        int r = statx(AT_FDCWD, p, 0, STATX_BASIC_STATS, &stx);
        report("statx", r, (long long)stx.stx_size, (unsigned long long)stx.stx_ino);
    }
    access_line("access-F_OK", access(p, F_OK));
    access_line("access-R_OK", access(p, R_OK));
    access_line("access-W_OK", access(p, W_OK));
    access_line("access-RW", access(p, R_OK | W_OK));
    access_line("access-X_OK", access(p, X_OK));
    access_line("faccessat-W_OK", faccessat(AT_FDCWD, p, W_OK, 0));
    access_line("faccessat-eaccess-R_OK", faccessat(AT_FDCWD, p, R_OK, AT_EACCESS));
    access_line("euidaccess-R_OK", euidaccess(p, R_OK));
    access_line("eaccess-W_OK", eaccess(p, W_OK));
    /* Bits beyond R_OK|W_OK|X_OK: the kernel's EINVAL for access, dropped
     * by glibc's euidaccess/eaccess once the file is found. */
    access_line("badbits-access", access(p, 8));
    access_line("badbits-euidaccess-R_OK", euidaccess(p, 8 | R_OK));
    access_line("badbits-eaccess", eaccess(p, 16));
    /* Flags the kernel refuses (EINVAL before it looks at the path), also
     * through syscall(). */
    STAT("badflags-fstatat", fstatat(AT_FDCWD, p, &st, 0x8000));
    STAT("badflags-__fxstatat", __fxstatat(STAT_VER, AT_FDCWD, p, &st, 0x8000000));
    STAT64("badflags-__fxstatat64", __fxstatat64(STAT_VER, AT_FDCWD, p, &st, 0x8000000));
    {
        struct statx stx;
        int r = statx(AT_FDCWD, p, 0x40000000, STATX_BASIC_STATS, &stx);
        report("badflags-statx", r, 0, 0);
        r = statx(AT_FDCWD, p, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC, STATX_BASIC_STATS, &stx);
        report("badflags-statx-both-syncs", r, 0, 0);
    }
    access_line("badflags-faccessat", faccessat(AT_FDCWD, p, R_OK, 0x1));
    /* statx's sync bits, which newfstatat takes (even both) and statx
     * takes one at a time. */
    STAT("syncflags-fstatat-force", fstatat(AT_FDCWD, p, &st, AT_STATX_FORCE_SYNC));
    STAT("syncflags-fstatat-dont", fstatat(AT_FDCWD, p, &st, AT_STATX_DONT_SYNC));
    STAT("syncflags-fstatat-both",
         fstatat(AT_FDCWD, p, &st, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC));
    STAT("syncflags-__fxstatat-both",
         __fxstatat(STAT_VER, AT_FDCWD, p, &st, AT_STATX_FORCE_SYNC | AT_STATX_DONT_SYNC));
    STAT("syncflags-syscall-newfstatat-dont",
         (int)syscall(SYS_newfstatat, AT_FDCWD, p, &st, AT_STATX_DONT_SYNC));
    {
        struct statx stx;
        memset(&stx, 0, sizeof stx);
        int r = statx(AT_FDCWD, p, AT_STATX_FORCE_SYNC, STATX_BASIC_STATS, &stx);
        report("syncflags-statx-force", r, (long long)stx.stx_size, (unsigned long long)stx.stx_ino);
    }
    STAT("badflags-syscall-newfstatat", (int)syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0x8000));
    access_line("badflags-syscall-faccessat2", (int)syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, 0x1));
    /* What an open of the path sees, to compare with. */
    int fd = open(p, O_RDONLY);
    STAT("fstat-of-open", fd < 0 ? -1 : fstat(fd, &st));
    if (fd >= 0)
        close(fd);
    /* errno is untouched by a successful call. */
    errno = 1234;
    struct stat st;
    if (stat(p, &st) == 0)
        printf("errno-after-success %d\n", errno);
    return 0;
}
