/* Spec section 2 ("the refcount is the number of dups handed out that are
 * still open") and 6 (the registry stays exact): a SIGALRM handler (every
 * 30 us) siglongjmps out of a loop of opens and closes of set 1 (open,
 * openat and close: async-signal-safe calls, which POSIX lets a handler
 * jump out of), so many dups are left open by jumps that came between the
 * dup and the call's return. Then the
 * program counts the descriptors open on set 1's file that are not the
 * member (the member is close-on-exec, the dups are not), prints
 * "leaked N", and waits for its stdin to close: the test compares N with
 * the set's open dups (`x-query-fdset-members`).
 *
 *   siglongjmp_count JUMPS */
#include "stress_common.h"
#include <setjmp.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>

static sigjmp_buf env;
static volatile sig_atomic_t armed, jumps;

static void on_alarm(int sig) {
    (void)sig;
    if (armed) {
        armed = 0;
        jumps++;
        siglongjmp(env, 1);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: siglongjmp_count JUMPS\n"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    long want = atol(argv[1]);
    struct stat st_a;
    int probe = open("/dev/fdset/1", O_RDONLY);
    CHECK(probe >= 0 && fstat(probe, &st_a) == 0, "open set 1");
    close(probe);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    struct itimerval it = {{0, 30}, {0, 30}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
    /* The dups left open fill the low numbers: stop while half the
     * descriptor limit is still free (the control thread needs some to
     * answer the test). */
    struct rlimit lim;
    CHECK(getrlimit(RLIMIT_NOFILE, &lim) == 0, "getrlimit");
    long room = lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > 65536 ? 32768 : (long)lim.rlim_cur / 2;
    long round = 0;
    volatile int highest = 0;
    while (jumps < want && highest < room) {
        if (sigsetjmp(env, 1)) continue;
        armed = 1;
        int fd = ++round % 2 ? open("/dev/fdset/1", O_RDONLY)
                             : openat(AT_FDCWD, "/dev/fdset/1", O_RDONLY);
        armed = 0;
        if (fd >= 0) {
            highest = fd;
            close(fd);
        }
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    long leaked = 0;
    for (int fd = 3; fd < 65536; fd++)
        if (same_file(fd, &st_a) && fcntl(fd, F_GETFD) == 0) leaked++;
    printf("leaked %ld\n", leaked);
    char c;
    while (read(0, &c, 1) > 0) {}
    return 0;
}
