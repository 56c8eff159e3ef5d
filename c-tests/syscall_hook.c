/* libc's syscall() under the shim (spec section 8), for
 * tests/syscall_hook.rs. Each mode prints "NAME ok DETAILS" or
 * "NAME err ERRNO" lines.
 *
 *   syscall_hook calls PATH          the served numbers on PATH (a set path
 *                                    or an ordinary file: the lines must agree)
 *   syscall_hook creat PATH          SYS_creat, write "new", SYS_close
 *   syscall_hook members PATH FD     SYS_close, SYS_dup2, SYS_dup3 and
 *                                    SYS_close_range on member number FD: the
 *                                    set keeps working
 *   syscall_hook passthrough FILE    other numbers: result, errno, six words
 *   syscall_hook io_uring            SYS_io_uring_setup
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void err_line(const char *name) { printf("%s err %s\n", name, strerrorname_np(errno)); }

/* Read what fd holds from offset 0 and close it with SYS_close. */
static void read_and_close(const char *name, long fd) {
    if (fd < 0) return err_line(name);
    char buf[64] = {0};
    ssize_t n = pread((int)fd, buf, sizeof buf - 1, 0);
    long c = syscall(SYS_close, fd);
    printf("%s ok read=%.*s close=%ld open-after=%d\n", name, (int)(n < 0 ? 0 : n), buf, c,
           fcntl((int)fd, F_GETFD) >= 0);
}

static void calls(const char *p) {
#ifdef SYS_open /* x86_64; other ABIs have only openat */
    read_and_close("SYS_open", syscall(SYS_open, p, O_RDONLY));
    read_and_close("SYS_open-creat-mode", syscall(SYS_open, p, O_RDONLY | O_CLOEXEC, 0644));
#endif
    read_and_close("SYS_openat", syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
    struct open_how how = {.flags = O_RDONLY};
    read_and_close("SYS_openat2", syscall(SYS_openat2, AT_FDCWD, p, &how, sizeof how));
    struct open_how beneath = {.flags = O_RDONLY, .resolve = RESOLVE_BENEATH};
    read_and_close("SYS_openat2-beneath", syscall(SYS_openat2, AT_FDCWD, p, &beneath, sizeof beneath));
    struct open_how bad = {.flags = O_RDONLY, .mode = 0600};
    read_and_close("SYS_openat2-mode-without-creat", syscall(SYS_openat2, AT_FDCWD, p, &bad, sizeof bad));
    read_and_close("SYS_openat2-small", syscall(SYS_openat2, AT_FDCWD, p, &how, 8));
    /* Refused by the kernel before any lookup (unknown bit, O_PATH with an
     * access mode, O_DIRECTORY|O_CREAT, RESOLVE_CACHED with O_TRUNC). */
    struct open_how unknown = {.flags = O_RDONLY | 040000000};
    read_and_close("SYS_openat2-unknown-bit", syscall(SYS_openat2, AT_FDCWD, p, &unknown, sizeof unknown));
    struct open_how path_rw = {.flags = O_PATH | O_RDWR};
    read_and_close("SYS_openat2-path-rdwr", syscall(SYS_openat2, AT_FDCWD, p, &path_rw, sizeof path_rw));
    struct open_how dir_creat = {.flags = O_DIRECTORY | O_CREAT, .mode = 0600};
    read_and_close("SYS_openat2-dir-creat", syscall(SYS_openat2, AT_FDCWD, p, &dir_creat, sizeof dir_creat));
    struct open_how cached = {.flags = O_RDWR | O_TRUNC, .resolve = RESOLVE_CACHED};
    read_and_close("SYS_openat2-cached-trunc", syscall(SYS_openat2, AT_FDCWD, p, &cached, sizeof cached));

    struct stat st;
    if (syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0) < 0) err_line("SYS_newfstatat");
    else printf("SYS_newfstatat ok size=%ld ino=%lu\n", (long)st.st_size, (unsigned long)st.st_ino);
    struct statx sx;
    if (syscall(SYS_statx, AT_FDCWD, p, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0) err_line("SYS_statx");
    else printf("SYS_statx ok size=%llu ino=%llu\n", (unsigned long long)sx.stx_size,
                (unsigned long long)sx.stx_ino);
    if (syscall(SYS_faccessat, AT_FDCWD, p, R_OK) < 0) err_line("SYS_faccessat-R_OK");
    else printf("SYS_faccessat-R_OK ok\n");
    if (syscall(SYS_faccessat2, AT_FDCWD, p, R_OK, AT_EACCESS) < 0) err_line("SYS_faccessat2-R_OK");
    else printf("SYS_faccessat2-R_OK ok\n");
    char buf[256];
    if (syscall(SYS_readlinkat, AT_FDCWD, p, buf, sizeof buf) < 0) err_line("SYS_readlinkat");
    else printf("SYS_readlinkat ok\n");

    long fd = syscall(SYS_openat, AT_FDCWD, p, O_RDONLY);
#ifdef SYS_dup2
    long d2 = syscall(SYS_dup2, fd, 40);
#else
    long d2 = syscall(SYS_dup3, fd, 40, 0);
#endif
    long d3 = syscall(SYS_dup3, fd, 41, O_CLOEXEC);
    printf("SYS_dup2 %s %ld\n", d2 == 40 ? "ok" : "err", d2);
    printf("SYS_dup3 %s %ld cloexec=%d\n", d3 == 41 ? "ok" : "err", d3,
           (fcntl(41, F_GETFD) & FD_CLOEXEC) != 0);
    long cr = syscall(SYS_close_range, 40, 41, 0);
    printf("SYS_close_range %s %ld open-after=%d\n", cr == 0 ? "ok" : "err", cr,
           fcntl(40, F_GETFD) >= 0 || fcntl(41, F_GETFD) >= 0);
    printf("SYS_close-of-open ok %ld\n", syscall(SYS_close, fd));
    errno = 0;
    long again = syscall(SYS_close, fd);
    if (again < 0) err_line("SYS_close-again");
    else printf("SYS_close-again ok\n");

    /* Success leaves errno alone. */
    errno = 1234;
    long r = syscall(SYS_newfstatat, AT_FDCWD, p, &st, 0);
    printf("errno-after-success %s %d\n", r == 0 ? "ok" : "err", errno);
}

static void creat_call(const char *p) {
#ifdef SYS_creat
    long fd = syscall(SYS_creat, p, 0644);
#else
    long fd = syscall(SYS_openat, AT_FDCWD, p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
#endif
    if (fd < 0) return err_line("SYS_creat");
    ssize_t n = write((int)fd, "new", 3);
    printf("SYS_creat ok wrote=%zd close=%ld\n", n, syscall(SYS_close, fd));
}

/* A member's number is not the program's: the shim's rules hold for
 * system calls made through libc's syscall() too (spec section 6). */
static void members(const char *p, int member) {
    errno = 0;
    long r = syscall(SYS_close, member);
    if (r < 0) err_line("SYS_close-member");
    else printf("SYS_close-member ok\n");
    long fd = syscall(SYS_openat, AT_FDCWD, p, O_RDONLY);
    printf("open-after-close %s\n", fd >= 0 ? "ok" : strerrorname_np(errno));
    long sp = syscall(SYS_openat, AT_FDCWD, "/dev/null", O_RDONLY);
#ifdef SYS_dup2
    r = syscall(SYS_dup2, sp, member);
#else
    r = syscall(SYS_dup3, sp, member, 0);
#endif
    printf("SYS_dup2-onto-member %s %ld\n", r == member ? "ok" : "err", r);
    long fd2 = syscall(SYS_openat, AT_FDCWD, p, O_RDONLY);
    read_and_close("open-after-dup2", fd2);
    r = syscall(SYS_dup3, sp, member, 0);
    printf("SYS_dup3-onto-own %s %ld\n", r == member ? "ok" : "err", r);
    r = syscall(SYS_close_range, 3, ~0U, 0);
    printf("SYS_close_range-all %s %ld\n", r == 0 ? "ok" : "err", r);
    read_and_close("open-after-close_range", syscall(SYS_openat, AT_FDCWD, p, O_RDONLY));
    (void)fd;
}

static void passthrough(const char *file) {
    long pid = syscall(SYS_getpid);
    printf("SYS_getpid %s\n", pid == getpid() ? "ok" : "differs");
    errno = 1234;
    syscall(SYS_getpid);
    printf("errno-after-getpid %d\n", errno);
    char c;
    errno = 0;
    long r = syscall(SYS_read, -1, &c, 1);
    printf("SYS_read-bad-fd %ld %s\n", r, strerrorname_np(errno));
    errno = 0;
    r = syscall(99999);
    printf("unknown-number %ld %s\n", r, strerrorname_np(errno));
    /* The sixth word: mmap's offset. The file's second page starts 'B'. */
    int fd = open(file, O_RDONLY);
    void *m = (void *)syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    if (m == MAP_FAILED) err_line("SYS_mmap-offset");
    else printf("SYS_mmap-offset ok %c\n", *(char *)m);
    close(fd);
}

static void io_uring(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    errno = 0;
    long fd = syscall(SYS_io_uring_setup, 4, &params);
    if (fd < 0) return err_line("SYS_io_uring_setup");
    printf("SYS_io_uring_setup ok\n");
    close((int)fd);
}

int main(int argc, char **argv) {
    if (argc == 3 && !strcmp(argv[1], "calls")) calls(argv[2]);
    else if (argc == 3 && !strcmp(argv[1], "creat")) creat_call(argv[2]);
    else if (argc == 4 && !strcmp(argv[1], "members")) members(argv[2], atoi(argv[3]));
    else if (argc == 3 && !strcmp(argv[1], "passthrough")) passthrough(argv[2]);
    else if (argc == 2 && !strcmp(argv[1], "io_uring")) io_uring();
    else {
        fprintf(stderr, "usage: syscall_hook calls|creat|members|passthrough|io_uring ...\n");
        return 2;
    }
    return 0;
}
