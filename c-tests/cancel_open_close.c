/* Spec section 6: "A thread cancelled (pthread_cancel) inside an open or
 * close of a set is cancelled as libc would cancel it: no abort, and the
 * registry stays exact (a dup is recorded if and only if its fd exists)."
 *
 *   cancel_open_close ROUNDS SETFILE FIFO
 *
 * Each round starts a thread that keeps opening and closing set 1 (open,
 * openat with O_CLOEXEC, fopen/fclose) and an ordinary file, and cancels
 * it after a random pause; every few rounds the thread instead blocks in
 * open() of FIFO (an ordinary path) and is cancelled there. pthread_join
 * must report PTHREAD_CANCELED. A cancellation that lands on a close()
 * leaves that dup open, as libc leaves a descriptor whose close was
 * cancelled before it started; every 50 rounds those are closed (each close
 * must succeed). Then the program prints "leaked N" (the dups of set 1 the
 * last rounds left open) and waits for a line on stdin: meanwhile the
 * test removes set 1's member over QMP. Then the program closes the leaked
 * dups one by one: the member must stay until the last one is closed and
 * be gone right after it (the registry counted exactly those). "ok". */
#include "stress_common.h"
#include <pthread.h>
#include <sys/resource.h>
#include <time.h>

static const char *fifo;

static void *worker(void *arg) {
    long kind = (long)arg;
    if (kind == 1) {
        /* Blocks: nobody opens the FIFO for writing. */
        int fd = open(fifo, O_RDONLY);
        fprintf(stderr, "open of the FIFO returned %d\n", fd);
        exit(1);
    }
    for (;;) {
        int a = open("/dev/fdset/1", O_RDONLY);
        CHECK(a >= 0, "open set 1");
        int b = openat(AT_FDCWD, "/dev/fdset/1", O_RDONLY | O_CLOEXEC);
        CHECK(b >= 0, "openat set 1");
        FILE *f = fopen("/dev/fdset/1", "r");
        CHECK(f, "fopen set 1");
        int o = open("/dev/null", O_RDONLY);
        CHECK(o >= 0, "open /dev/null");
        CHECK(close(o) == 0, "close /dev/null");
        CHECK(fclose(f) == 0, "fclose");
        CHECK(close(b) == 0, "close b");
        CHECK(close(a) == 0, "close a");
    }
    return NULL;
}

#define MAX_FD 4096

/* Descriptors other than the member that refer to SETFILE: dups of set 1. */
static int dups_of(const struct stat *st, int member, int *out) {
    int n = 0;
    for (int fd = 0; fd < MAX_FD; fd++)
        if (fd != member && same_file(fd, st)) out[n++] = fd;
    return n;
}

static int member_fd(const struct stat *st) {
    for (int fd = 100; fd < MAX_FD; fd++)
        if (same_file(fd, st)) return fd;
    return -1;
}

/* Close what the cancellations left open: each one a recorded dup. */
static void close_leaked(const struct stat *st, int member) {
    static int dups[MAX_FD];
    int n = dups_of(st, member, dups);
    for (int i = 0; i < n; i++) CHECK(close(dups[i]) == 0, "close leaked dup %d", dups[i]);
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: cancel_open_close ROUNDS SETFILE FIFO\n"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    long rounds = atol(argv[1]);
    fifo = argv[3];
    struct stat st;
    stat_or_die(argv[2], &st);
    int member = member_fd(&st);
    CHECK(member >= 0, "set 1's member not found");
    /* Every cancelled round may leave up to three dups open. */
    struct rlimit rl = {MAX_FD, MAX_FD};
    setrlimit(RLIMIT_NOFILE, &rl);
    unsigned seed = (unsigned)getpid();
    for (long r = 0; r < rounds; r++) {
        long kind = r % 16 == 15 ? 1 : 0;
        pthread_t t;
        CHECK(pthread_create(&t, NULL, worker, (void *)kind) == 0, "pthread_create");
        struct timespec pause = {0, (long)(rand_r(&seed) % 400) * 1000 + (kind ? 2000000 : 0)};
        nanosleep(&pause, NULL);
        CHECK(pthread_cancel(t) == 0, "pthread_cancel");
        void *res;
        CHECK(pthread_join(t, &res) == 0, "pthread_join");
        CHECK(res == PTHREAD_CANCELED, "round %ld: the thread was not cancelled", r);
        /* The last rounds' dups are kept for the check below. */
        if (r % 50 == 49 && r + 50 < rounds) close_leaked(&st, member);
    }
    static int dups[MAX_FD];
    int n = dups_of(&st, member, dups);
    printf("leaked %d\n", n);
    char line[64];
    CHECK(fgets(line, sizeof line, stdin), "wait for the test");
    for (int i = 0; i < n; i++) {
        CHECK(fcntl(member, F_GETFD) >= 0, "the member was closed with %d dups still open", n - i);
        CHECK(close(dups[i]) == 0, "close leaked dup %d", dups[i]);
    }
    CHECK(fcntl(member, F_GETFD) < 0, "the member is still open after its last dup was closed");
    printf("ok %ld rounds\n", rounds);
    return 0;
}
