/* A program a test steps through its stdin, one command a line, one reply
 * line each (so the test can look at /proc/PID/fd between steps):
 *   ping                 -> "pong" (main is running)
 *   open PATH r|w|rw     -> "fd N" or "err ERRNO"
 *   read FD              -> "data TEXT" (up to 200 bytes, newlines as '|')
 *   close FD             -> "ok" or "err ERRNO"
 *   dup2 OLD NEW         -> "ok" or "err ERRNO"
 *   closefrom N          -> "ok"
 *   env NAME             -> "env VALUE" or "unset"
 *   fopen PATH           -> "fp N" (a stdio stream kept as number N) or "err ERRNO"
 *   fclose N             -> "ok" or "err ERRNO"
 *   closerange LO HI     -> close_range(LO, HI, 0): "ok" or "err ERRNO"
 *   vforkclose FD        -> a vfork child closes FD and exits: "ok"
 *   rawclose FD          -> close(2) as a bare system call instruction, which no
 *                           hook sees (x86-64): "ok" or "err ERRNO"
 *   exec                 -> this program again, in place (prints "main" anew)
 *   execfail             -> an exec that fails: "err ERRNO"
 *   execfail PATH        -> execv(PATH), which should fail: "err ERRNO"
 *   spawn PATH           -> posix_spawn(PATH) and wait: "exit N" or "err ERRNO"
 *   system CMD           -> system(CMD): "exit N" or "err ERRNO"
 *   popen CMD            -> popen(CMD, "r"), its output drained, pclose:
 *                           "exit N" or "err ERRNO"
 *   popen2 CMD           -> two popen(CMD, "w") streams open at once, then
 *                           pclose of the first, then of the second (a
 *                           child holding the other's pipe would make the
 *                           first wait for ever; alarm(10) ends that):
 *                           "exit A B" or "err ERRNO"
 *   nofile N             -> setrlimit(RLIMIT_NOFILE, N soft and hard): "ok" or "err ERRNO"
 *   listdir PATH         -> opendir, readdir to the end, closedir: "entries N" or "err ERRNO"
 *   exit                 -> exits 0
 * It prints "main" first thing in main (FDSET_WAIT tests wait for it). */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static FILE *streams[64];

#if defined(__x86_64__)
static long raw_close(long fd) {
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(3L /* SYS_close */), "D"(fd) : "rcx", "r11", "memory");
    if (r < 0) { errno = (int)-r; return -1; }
    return r;
}
#else
static long raw_close(long fd) { (void)fd; errno = ENOSYS; return -1; }
#endif

static void reply_rc(int rc) {
    if (rc < 0) printf("err %d\n", errno);
    else printf("ok\n");
}

int main(void) {
    char line[4096];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("main\n");
    while (fgets(line, sizeof line, stdin)) {
        char a[4000], b[64];
        int x, y;
        line[strcspn(line, "\n")] = 0;
        if (strcmp(line, "ping") == 0) {
            printf("pong\n");
        } else if (sscanf(line, "open %3999s %63s", a, b) == 2) {
            int flags = strcmp(b, "w") == 0 ? O_WRONLY : strcmp(b, "rw") == 0 ? O_RDWR : O_RDONLY;
            int fd = open(a, flags);
            if (fd < 0) printf("err %d\n", errno);
            else printf("fd %d\n", fd);
        } else if (sscanf(line, "read %d", &x) == 1) {
            char buf[201];
            ssize_t n = read(x, buf, 200);
            if (n < 0) { printf("err %d\n", errno); continue; }
            buf[n] = 0;
            for (ssize_t i = 0; i < n; i++) if (buf[i] == '\n') buf[i] = '|';
            printf("data %s\n", buf);
        } else if (sscanf(line, "close %d", &x) == 1) {
            reply_rc(close(x));
        } else if (sscanf(line, "dup2 %d %d", &x, &y) == 2) {
            reply_rc(dup2(x, y));
        } else if (sscanf(line, "closefrom %d", &x) == 1) {
            closefrom(x);
            printf("ok\n");
        } else if (sscanf(line, "env %63s", b) == 1) {
            const char *v = getenv(b);
            if (v) printf("env %s\n", v);
            else printf("unset\n");
        } else if (sscanf(line, "fopen %3999s", a) == 1) {
            static int nstreams;
            FILE *f = nstreams < 64 ? fopen(a, "r") : NULL;
            if (!f) printf("err %d\n", errno);
            else { streams[nstreams] = f; printf("fp %d\n", nstreams++); }
        } else if (sscanf(line, "fclose %d", &x) == 1) {
            reply_rc(x >= 0 && x < 64 && streams[x] ? fclose(streams[x]) : -1);
        } else if (sscanf(line, "closerange %d %d", &x, &y) == 2) {
            reply_rc(close_range((unsigned)x, (unsigned)y, 0));
        } else if (sscanf(line, "vforkclose %d", &x) == 1) {
            pid_t pid = vfork();
            if (pid == 0) {
                close(x);
                _exit(0);
            }
            int st;
            reply_rc(pid < 0 ? -1 : waitpid(pid, &st, 0));
        } else if (sscanf(line, "rawclose %d", &x) == 1) {
            reply_rc((int)raw_close(x));
        } else if (strcmp(line, "exec") == 0) {
            char *argv[] = {"qmp_step", NULL};
            fflush(stdout);
            execv("/proc/self/exe", argv);
            printf("err %d\n", errno);
        } else if (sscanf(line, "execfail %3999s", a) == 1) {
            char *argv[] = {a, NULL};
            execv(a, argv);
            printf("err %d\n", errno);
        } else if (strcmp(line, "execfail") == 0) {
            char *argv[] = {"none", NULL};
            execv("/nonexistent/program", argv);
            printf("err %d\n", errno);
        } else if (sscanf(line, "spawn %3999s", a) == 1) {
            char *argv[] = {a, NULL};
            pid_t pid;
            int st, e = posix_spawn(&pid, a, NULL, NULL, argv, environ);
            if (e != 0) printf("err %d\n", e);
            else if (waitpid(pid, &st, 0) < 0) printf("err %d\n", errno);
            else printf("exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        } else if (strncmp(line, "system ", 7) == 0) {
            int st = system(line + 7);
            if (st < 0) printf("err %d\n", errno);
            else printf("exit %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
        } else if (strncmp(line, "popen2 ", 7) == 0) {
            FILE *first = popen(line + 7, "w");
            FILE *second = first ? popen(line + 7, "w") : NULL;
            if (!second) {
                printf("err %d\n", errno);
            } else {
                alarm(10);
                int a = pclose(first), b = pclose(second);
                alarm(0);
                printf("exit %d %d\n", a >= 0 && WIFEXITED(a) ? WEXITSTATUS(a) : -1,
                       b >= 0 && WIFEXITED(b) ? WEXITSTATUS(b) : -1);
            }
        } else if (strncmp(line, "popen ", 6) == 0) {
            FILE *f = popen(line + 6, "r");
            if (!f) {
                printf("err %d\n", errno);
            } else {
                while (fgetc(f) != EOF) {
                }
                int st = pclose(f);
                printf("exit %d\n", st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1);
            }
        } else if (sscanf(line, "listdir %3999s", a) == 1) {
            DIR *d = opendir(a);
            if (!d) {
                printf("err %d\n", errno);
            } else {
                int n = 0;
                while (readdir(d)) n++;
                if (closedir(d) != 0) printf("err %d\n", errno);
                else printf("entries %d\n", n);
            }
        } else if (sscanf(line, "nofile %d", &x) == 1) {
            struct rlimit rl = {(rlim_t)x, (rlim_t)x};
            reply_rc(setrlimit(RLIMIT_NOFILE, &rl));
        } else if (strcmp(line, "exit") == 0) {
            return 0;
        } else {
            printf("bad command\n");
        }
    }
    return 0;
}
