/* The statically linked program of the seccomp-mode tests (LD_PRELOAD
 * cannot reach it: fdset-run serves its sets from outside). Stepped through
 * its stdin, one command a line, one reply line each:
 *   ping                 -> "pong"
 *   open PATH MODE       -> "fd N" or "err ERRNO"; MODE is r, w or rw, then
 *                           any of e (O_CLOEXEC) t (O_TRUNC) c (O_CREAT)
 *                           x (O_EXCL) a (O_APPEND) d (O_DIRECTORY) p (O_PATH)
 *                           n (O_NOATIME)
 *   rawopen PATH MODE    -> the same through syscall(SYS_openat, ...)
 *   open2 PATH MODE RES  -> the same through openat2 with resolve flags RES
 *   read FD              -> "data TEXT" (up to 200 bytes, newlines as '|')
 *   pread FD             -> the same from offset 0
 *   write FD TEXT        -> "wrote N"
 *   close FD             -> "ok" or "err ERRNO"
 *   dup2 OLD NEW         -> "ok" or "err ERRNO"
 *   dup3 OLD NEW         -> dup3(OLD, NEW, O_CLOEXEC): "ok" or "err ERRNO"
 *   closerange FIRST LAST -> close_range(FIRST, LAST, 0): "ok" or "err ERRNO"
 *   creat PATH           -> "fd N" or "err ERRNO"
 *   stat|lstat PATH      -> "stat mode=M size=S nlink=L" or "err ERRNO"
 *   statx PATH           -> "statx mode=M size=S" or "err ERRNO"
 *   access PATH r|w|x|f  -> "ok" or "err ERRNO"
 *   readlink PATH        -> "link TEXT" or "err ERRNO"
 *   fdflags FD           -> "flags F" (F_GETFL & O_ACCMODE|O_APPEND) "cloexec C"
 *   statfs PATH          -> "statfs type=T bsize=B" or "err ERRNO"
 *   truncate PATH LEN    -> "ok" or "err ERRNO"
 *   touch PATH SECS      -> utimensat(): both times SECS: "ok" or "err ERRNO"
 *   mtime PATH           -> "mtime SECS" or "err ERRNO"
 *   fork-hold            -> a child that holds every descriptor and waits
 *                           for a signal: "child PID"
 *   forkclose FD         -> a child closes FD and exits: "ok"
 *   forkopen PATH        -> "child PID"; on SIGUSR1 that child opens PATH
 *                           read-only, prints "child fd N" and waits
 *   exec                 -> this program again, in place ("main" anew)
 *   exit                 -> exits 0
 * It prints "main" first thing. With arguments `opens DIR N` it instead
 * makes N ordinary calls with known results and errnos and prints one line
 * each (compared with and without supervision). With `signalled PATH N` it
 * opens, stats and closes PATH N times while a SIGALRM handler installed
 * with SA_RESTART runs every 200 us, and prints the calls that failed. */
// build-flags: -static
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_close_range
#define SYS_close_range 436
#endif

#ifndef STATX_BASIC_STATS
#define STATX_BASIC_STATS 0x7ff
#endif

static int parse_flags(const char *m) {
    int flags;
    if (strncmp(m, "rw", 2) == 0) { flags = O_RDWR; m += 2; }
    else if (*m == 'w') { flags = O_WRONLY; m++; }
    else { flags = O_RDONLY; if (*m == 'r') m++; }
    for (; *m; m++) {
        switch (*m) {
        case 'e': flags |= O_CLOEXEC; break;
        case 't': flags |= O_TRUNC; break;
        case 'c': flags |= O_CREAT; break;
        case 'x': flags |= O_EXCL; break;
        case 'a': flags |= O_APPEND; break;
        case 'd': flags |= O_DIRECTORY; break;
        case 'p': flags |= O_PATH; break;
        case 'n': flags |= O_NOATIME; break;
        }
    }
    return flags;
}

static volatile sig_atomic_t usr1;
static void on_usr1(int sig) { (void)sig; usr1 = 1; }

static void reply_rc(long rc) {
    if (rc < 0) printf("err %d\n", errno);
    else printf("ok\n");
}

static void reply_stat(int rc, const struct stat *st) {
    if (rc < 0) printf("err %d\n", errno);
    else printf("stat mode=%o size=%lld nlink=%ld\n", (unsigned)st->st_mode, (long long)st->st_size, (long)st->st_nlink);
}

/* statx through syscall(): older musl has no wrapper. The buffer is
 * laid out as the kernel's struct statx: stx_mode at 28, stx_size at 40. */
static void do_statx(const char *path) {
    unsigned char buf[256];
    memset(buf, 0, sizeof buf);
    long rc = syscall(SYS_statx, AT_FDCWD, path, 0, STATX_BASIC_STATS, buf);
    if (rc < 0) { printf("err %d\n", errno); return; }
    unsigned short mode; unsigned long long size;
    memcpy(&mode, buf + 28, 2);
    memcpy(&size, buf + 40, 8);
    printf("statx mode=%o size=%llu\n", mode, size);
}

static volatile sig_atomic_t alarms;
static void on_alarm(int sig) { (void)sig; alarms++; }

static void signalled(const char *path, int n) {
    struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval every = {{0, 200}, {0, 200}}, stop = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &every, NULL);
    int failed_open = 0, failed_stat = 0, failed_close = 0;
    for (int i = 0; i < n; i++) {
        struct stat st;
        int fd = open(path, O_RDONLY);
        if (fd < 0) { failed_open++; continue; }
        if (stat(path, &st) < 0) failed_stat++;
        if (close(fd) < 0) failed_close++;
    }
    setitimer(ITIMER_REAL, &stop, NULL);
    printf("alarms %s failed open %d stat %d close %d\n", alarms > 0 ? "yes" : "no", failed_open,
           failed_stat, failed_close);
}

static void opens(const char *dir, int n) {
    char p[4096], long_name[400];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = 0;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < n; i++) {
        int fd; long rc; struct stat st; char c = '?';
        errno = 0;
        switch (i % 10) {
        case 0:
            snprintf(p, sizeof p, "%s/file_%d", dir, i % 50);
            fd = open(p, O_RDONLY);
            if (fd >= 0 && read(fd, &c, 1) != 1) c = '!';
            printf("%d open fd=%d errno=%d byte=%c close=%d\n", i, fd, errno, c, fd >= 0 ? close(fd) : -2);
            break;
        case 1:
            snprintf(p, sizeof p, "%s/missing_%d", dir, i);
            fd = open(p, O_RDONLY);
            printf("%d missing fd=%d errno=%d\n", i, fd, errno);
            break;
        case 2:
            fd = open(dir, O_WRONLY);
            printf("%d dir-for-writing fd=%d errno=%d\n", i, fd, errno);
            break;
        case 3:
            snprintf(p, sizeof p, "%s/file_0", dir);
            fd = open(p, O_CREAT | O_EXCL | O_WRONLY, 0600);
            printf("%d excl fd=%d errno=%d\n", i, fd, errno);
            break;
        case 4:
            snprintf(p, sizeof p, "%s/file_0/below", dir);
            fd = open(p, O_RDONLY);
            printf("%d below-a-file fd=%d errno=%d\n", i, fd, errno);
            break;
        case 5:
            snprintf(p, sizeof p, "file_%d", i % 50);
            fd = openat(dfd, p, O_RDONLY | O_CLOEXEC);
            printf("%d relative fd=%d errno=%d close=%d\n", i, fd, errno, fd >= 0 ? close(fd) : -2);
            break;
        case 6:
            snprintf(p, sizeof p, "%s/new_%d", dir, i);
            fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
            rc = fd >= 0 ? write(fd, "x", 1) : -2;
            printf("%d create fd=%d errno=%d wrote=%ld close=%d unlink=%d\n", i, fd, errno, rc, fd >= 0 ? close(fd) : -2, unlink(p));
            break;
        case 7:
            snprintf(p, sizeof p, "%s/file_%d", dir, i % 50);
            rc = stat(p, &st);
            printf("%d stat rc=%ld size=%lld", i, rc, rc == 0 ? (long long)st.st_size : -1LL);
            snprintf(p, sizeof p, "%s/missing_%d", dir, i);
            errno = 0;
            rc = lstat(p, &st);
            printf(" missing rc=%ld errno=%d\n", rc, errno);
            break;
        case 8:
            snprintf(p, sizeof p, "%s/file_%d", dir, i % 50);
            rc = access(p, W_OK);
            printf("%d access rc=%ld errno=%d", i, rc, errno);
            snprintf(p, sizeof p, "%s/link", dir);
            char t[100];
            errno = 0;
            rc = readlink(p, t, sizeof t - 1);
            if (rc >= 0) t[rc] = 0; else t[0] = 0;
            printf(" readlink rc=%ld text=%s", rc, t);
            snprintf(p, sizeof p, "%s/file_0", dir);
            errno = 0;
            rc = readlink(p, t, sizeof t);
            printf(" of-a-file rc=%ld errno=%d\n", rc, errno);
            break;
        case 9:
            rc = close(1000 + i);
            printf("%d close-unopened rc=%ld errno=%d", i, rc, errno);
            errno = 0;
            rc = syscall(SYS_openat, AT_FDCWD, (const char *)8, O_RDONLY);
            printf(" bad-pointer rc=%ld errno=%d", rc, errno);
            snprintf(p, sizeof p, "%s/%s", dir, long_name);
            errno = 0;
            fd = open(p, O_RDONLY);
            printf(" too-long fd=%d errno=%d\n", fd, errno);
            break;
        }
    }
}

int main(int argc, char **argv) {
    char line[4096];
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && strcmp(argv[1], "opens") == 0) {
        opens(argv[2], atoi(argv[3]));
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "signalled") == 0) {
        signalled(argv[2], atoi(argv[3]));
        return 0;
    }
    printf("main\n");
    while (fgets(line, sizeof line, stdin)) {
        char a[4000], b[64];
        int x, y;
        struct stat st;
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, "ping") == 0) {
            printf("pong\n");
        } else if (/* before "open", which reads "open2 P" as the path "2" */
                   sscanf(line, "open2 %3999s %63s %d", a, b, &x) == 3) {
            /* struct open_how: flags, mode, resolve (u64 each). */
            unsigned long long how[3] = {(unsigned long long)parse_flags(b), 0, (unsigned long long)x};
            long fd = syscall(SYS_openat2, AT_FDCWD, a, how, sizeof how);
            if (fd < 0) printf("err %d\n", errno);
            else printf("fd %ld\n", fd);
        } else if (sscanf(line, "open %3999s %63s", a, b) == 2) {
            int fd = open(a, parse_flags(b), 0644);
            if (fd < 0) printf("err %d\n", errno);
            else printf("fd %d\n", fd);
        } else if (sscanf(line, "rawopen %3999s %63s", a, b) == 2) {
            long fd = syscall(SYS_openat, AT_FDCWD, a, parse_flags(b), 0644);
            if (fd < 0) printf("err %d\n", errno);
            else printf("fd %ld\n", fd);
        } else if (sscanf(line, "read %d", &x) == 1 || sscanf(line, "pread %d", &x) == 1) {
            char buf[201];
            ssize_t n = line[0] == 'p' ? pread(x, buf, 200, 0) : read(x, buf, 200);
            if (n < 0) { printf("err %d\n", errno); continue; }
            buf[n] = 0;
            for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = '|';
            printf("data %s\n", buf);
        } else if (sscanf(line, "write %d %3999s", &x, a) == 2) {
            ssize_t n = write(x, a, strlen(a));
            if (n < 0) printf("err %d\n", errno);
            else printf("wrote %zd\n", n);
        } else if (sscanf(line, "close %d", &x) == 1) {
            reply_rc(close(x));
        } else if (sscanf(line, "dup2 %d %d", &x, &y) == 2) {
            reply_rc(dup2(x, y));
        } else if (sscanf(line, "dup3 %d %d", &x, &y) == 2) {
            reply_rc(dup3(x, y, O_CLOEXEC));
        } else if (sscanf(line, "closerange %d %d", &x, &y) == 2) {
            reply_rc(syscall(SYS_close_range, (unsigned)x, (unsigned)y, 0));
        } else if (sscanf(line, "creat %3999s", a) == 1) {
            int fd = creat(a, 0644);
            if (fd < 0) printf("err %d\n", errno);
            else printf("fd %d\n", fd);
        } else if (sscanf(line, "lstat %3999s", a) == 1) {
            int rc = lstat(a, &st);
            reply_stat(rc, &st);
        } else if (strncmp(line, "statx ", 6) == 0 && sscanf(line, "statx %3999s", a) == 1) {
            do_statx(a);
        } else if (sscanf(line, "access %3999s %63s", a, b) == 2) {
            int mode = 0;
            for (char *m = b; *m; m++)
                mode |= *m == 'r' ? R_OK : *m == 'w' ? W_OK : *m == 'x' ? X_OK : 0;
            reply_rc(access(a, mode));
        } else if (sscanf(line, "readlink %3999s", a) == 1) {
            char t[4096];
            ssize_t n = readlink(a, t, sizeof t - 1);
            if (n < 0) printf("err %d\n", errno);
            else { t[n] = 0; printf("link %s\n", t); }
        } else if (sscanf(line, "fdflags %d", &x) == 1) {
            int fl = fcntl(x, F_GETFL), fd = fcntl(x, F_GETFD);
            if (fl < 0 || fd < 0) printf("err %d\n", errno);
            else printf("flags %d cloexec %d\n", fl & (O_ACCMODE | O_APPEND), fd & FD_CLOEXEC);
        } else if (strncmp(line, "statfs ", 7) == 0 && sscanf(line, "statfs %3999s", a) == 1) {
            struct statfs sf;
            if (statfs(a, &sf) < 0) printf("err %d\n", errno);
            else printf("statfs type=%lx bsize=%ld\n", (unsigned long)sf.f_type, (long)sf.f_bsize);
        } else if (strncmp(line, "stat ", 5) == 0 && sscanf(line, "stat %3999s", a) == 1) {
            int rc = stat(a, &st);
            reply_stat(rc, &st);
        } else if (sscanf(line, "truncate %3999s %d", a, &x) == 2) {
            reply_rc(truncate(a, x));
        } else if (sscanf(line, "touch %3999s %d", a, &x) == 2) {
            struct timespec ts[2] = {{x, 0}, {x, 0}};
            reply_rc(utimensat(AT_FDCWD, a, ts, 0));
        } else if (sscanf(line, "mtime %3999s", a) == 1) {
            if (stat(a, &st) < 0) printf("err %d\n", errno);
            else printf("mtime %lld\n", (long long)st.st_mtime);
        } else if (strcmp(line, "fork-hold") == 0) {
            pid_t pid = fork();
            if (pid == 0) {
                for (;;) pause();
            }
            printf("child %d\n", (int)pid);
        } else if (sscanf(line, "forkopen %3999s", a) == 1) {
            sigset_t block, old;
            sigemptyset(&block);
            sigaddset(&block, SIGUSR1);
            sigprocmask(SIG_BLOCK, &block, &old);
            signal(SIGUSR1, on_usr1);
            pid_t pid = fork();
            if (pid == 0) {
                while (!usr1) sigsuspend(&old);
                int fd = open(a, O_RDONLY);
                printf("child fd %d\n", fd < 0 ? -errno : fd);
                for (;;) pause();
            }
            sigprocmask(SIG_SETMASK, &old, NULL);
            printf("child %d\n", (int)pid);
        } else if (sscanf(line, "forkclose %d", &x) == 1) {
            pid_t pid = fork();
            if (pid == 0) _exit(close(x) == 0 ? 0 : 1);
            int status;
            waitpid(pid, &status, 0);
            printf(WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "ok\n" : "err child\n");
        } else if (strcmp(line, "exec") == 0) {
            char *args[] = {argv[0], NULL};
            execv("/proc/self/exe", args);
            printf("err %d\n", errno);
        } else if (strcmp(line, "exit") == 0) {
            return 0;
        } else {
            printf("unknown command\n");
        }
    }
    return 0;
}
