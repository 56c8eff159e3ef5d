/* Spec section 6: open and close of sets are async-signal-safe: they take
 * no lock a signal handler could wait on for ever, and allocate nothing
 * from malloc. A SIGALRM handler (every 50 us) opens and closes a set path
 * while the interrupted main loop spends its time inside malloc and free
 * (sizes that take glibc's arena lock). The handler cycles over NSETS sets,
 * so that many of its opens are a set's first (whose record the shim must
 * make without malloc). No hang (the test's deadline), every open and close
 * in the handler succeeds, and the descriptor table ends as it started.
 *
 *   signal_malloc ITERS NSETS */
#include "stress_common.h"
#include <signal.h>
#include <stdint.h>
#include <sys/time.h>

static long nsets;
static volatile sig_atomic_t runs, failures;

static void on_alarm(int sig) {
    (void)sig;
    int saved = errno;
    char path[32] = "/dev/fdset/";
    long set = 1 + runs % nsets;
    /* No snprintf in a handler: the number by hand. */
    char digits[24];
    int n = 0;
    do { digits[n++] = (char)('0' + set % 10); set /= 10; } while (set);
    int at = 11;
    while (n) path[at++] = digits[--n];
    path[at] = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0 || close(fd) != 0) failures++;
    runs++;
    errno = saved;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: signal_malloc ITERS NSETS\n"); return 2; }
    long iters = atol(argv[1]);
    nsets = atol(argv[2]);
    struct fd_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    CHECK(before && after, "malloc");
    snapshot_fds(before);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    struct itimerval it = {{0, 50}, {0, 50}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");

    void *keep[64] = {0};
    uint32_t x = 12345;
    for (long i = 0; i < iters; i++) {
        x = x * 1103515245u + 12345u;
        size_t size = 2048 + (x >> 8) % 65536;
        int slot = (int)((x >> 4) % 64);
        free(keep[slot]);
        keep[slot] = malloc(size);
        CHECK(keep[slot], "malloc");
        ((volatile char *)keep[slot])[0] = 1;
        void *r = realloc(keep[(slot + 1) % 64], size / 2 + 1);
        CHECK(r, "realloc");
        keep[(slot + 1) % 64] = r;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    for (int i = 0; i < 64; i++) free(keep[i]);
    snapshot_fds(after);
    expect_same_fds(before, after, "after the handler's opens and closes");
    CHECK(failures == 0, "%d opens or closes in the handler failed", (int)failures);
    CHECK(runs > 0, "the handler never ran");
    printf("ok %ld handler runs %d\n", iters, (int)runs);
    return 0;
}
