/* Fault: a SIGALRM handler (setitimer, every 20 us) closes a dup of
 * set 1 that it owns, often while the interrupted main loop is inside the
 * shim opening or closing set paths (src/shim.rs defers that close to the
 * next unlock). No deadlock (the test's timeout), every close reports
 * success, and at the end the descriptor table is as at the start.
 *
 *   stress_signal ITERS */
#include "stress_common.h"
#include <signal.h>
#include <sys/time.h>

static volatile sig_atomic_t handler_fd = -1;
static volatile sig_atomic_t handler_closes, handler_failures;

static void on_alarm(int sig) {
    (void)sig;
    int saved = errno;
    int fd = handler_fd;
    if (fd >= 0) {
        handler_fd = -1;
        if (close(fd) == 0) handler_closes++;
        else handler_failures++;
    }
    errno = saved;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: stress_signal ITERS\n"); return 2; }
    long iters = atol(argv[1]);
    struct stat st_a;
    int probe = open("/dev/fdset/1", O_RDONLY);
    CHECK(probe >= 0 && fstat(probe, &st_a) == 0, "open set 1");
    close(probe);
    struct fd_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    CHECK(before && after, "malloc");
    snapshot_fds(before);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    struct itimerval it = {{0, 20}, {0, 20}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
    sigset_t alrm;
    sigemptyset(&alrm);
    sigaddset(&alrm, SIGALRM);

    for (long i = 0; i < iters; i++) {
        if (handler_fd < 0) {
            /* A new dup for the handler; published with the signal blocked
             * so that the handler never sees a half-made hand-over. */
            int fd = open("/dev/fdset/1", O_RDONLY);
            CHECK(fd >= 0, "open for the handler");
            sigprocmask(SIG_BLOCK, &alrm, NULL);
            handler_fd = fd;
            sigprocmask(SIG_UNBLOCK, &alrm, NULL);
        }
        int a = open("/dev/fdset/1", O_RDONLY);
        int b = openat(AT_FDCWD, "/dev/fdset/1", O_RDONLY | O_CLOEXEC);
        CHECK(a >= 0 && b >= 0, "open set 1");
        CHECK(same_file(a, &st_a) && same_file(b, &st_a), "dup is not set 1's file");
        CHECK(close(a) == 0 && close(b) == 0, "close");
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    sigprocmask(SIG_BLOCK, &alrm, NULL);
    if (handler_fd >= 0) CHECK(close(handler_fd) == 0, "close the handler's last dup");
    /* One more trip through the shim drains any close still deferred. */
    int last = open("/dev/fdset/1", O_RDONLY);
    CHECK(last >= 0 && close(last) == 0, "open after the storm");
    snapshot_fds(after);
    expect_same_fds(before, after, "after the signal storm");
    CHECK(handler_failures == 0, "%d closes in the handler failed", (int)handler_failures);
    CHECK(handler_closes > 0, "the handler never ran");
    printf("ok %ld handler closes %d\n", iters, (int)handler_closes);
    return 0;
}
