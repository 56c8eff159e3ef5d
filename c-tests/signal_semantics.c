/* The program's signal handlers behave as without the shim, which runs them
 * behind its own trampoline (README "Threads, signals and fork"):
 * sigaction reports the program's own handler, flags and mask; signal()
 * returns the previous handler; SA_RESETHAND resets after one delivery;
 * SA_SIGINFO handlers get the sender's siginfo (si_code, si_value), also
 * for signals held back while their thread was inside the shim: another
 * thread queues COUNT real-time signals with values 1..COUNT at a thread
 * that keeps opening and closing set 1, and each value arrives exactly
 * once. "ok".
 *
 *   signal_semantics COUNT */
#include "stress_common.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

static void h1(int s) { (void)s; }
static void h2(int s) { (void)s; }

static volatile sig_atomic_t got_code, got_value, resets;
static void info_handler(int s, siginfo_t *si, void *ctx) {
    (void)s;
    (void)ctx;
    got_code = si->si_code;
    got_value = si->si_value.sival_int;
}
static void once(int s) { (void)s; resets++; }

#define MAXN 100000
static atomic_int seen[MAXN + 1];
static atomic_int stop;
static void rt_handler(int s, siginfo_t *si, void *ctx) {
    (void)s;
    (void)ctx;
    int v = si->si_value.sival_int;
    if (si->si_code == SI_QUEUE && v > 0 && v <= MAXN) atomic_fetch_add(&seen[v], 1);
}

static void *busy(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        CHECK(fd >= 0 || errno == EINTR, "open set 1");
        if (fd >= 0) CHECK(close(fd) == 0, "close");
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: signal_semantics COUNT\n"); return 2; }
    int count = atoi(argv[1]);
    CHECK(count > 0 && count <= MAXN, "COUNT");

    /* signal() returns the previous handler. */
    CHECK(signal(SIGUSR2, h1) == SIG_DFL, "first signal()");
    CHECK(signal(SIGUSR2, h2) == h1, "signal() did not return the previous handler");
    CHECK(signal(SIGUSR2, SIG_IGN) == h2, "signal() did not return the previous handler");

    /* sigaction reports what the program installed. */
    struct sigaction sa, back;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = info_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGTERM);
    CHECK(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
    CHECK(sigaction(SIGUSR1, NULL, &back) == 0, "sigaction query");
    CHECK(back.sa_sigaction == info_handler, "the handler reported is not the program's");
    CHECK((back.sa_flags & (SA_SIGINFO | SA_RESTART | SA_RESETHAND)) == (SA_SIGINFO | SA_RESTART),
          "flags reported %#x", back.sa_flags);
    CHECK(sigismember(&back.sa_mask, SIGTERM) == 1 && sigismember(&back.sa_mask, SIGINT) == 0,
          "mask reported");

    /* siginfo reaches an SA_SIGINFO handler. */
    union sigval v = {.sival_int = 42};
    CHECK(sigqueue(getpid(), SIGUSR1, v) == 0, "sigqueue");
    CHECK(got_code == SI_QUEUE && got_value == 42, "siginfo: code %d value %d", (int)got_code, (int)got_value);

    /* SA_RESETHAND: one delivery, then the default again. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = once;
    sa.sa_flags = SA_RESETHAND;
    CHECK(sigaction(SIGWINCH, &sa, NULL) == 0, "sigaction SIGWINCH");
    raise(SIGWINCH);
    CHECK(resets == 1, "SA_RESETHAND handler did not run");
    CHECK(sigaction(SIGWINCH, NULL, &back) == 0 && back.sa_handler == SIG_DFL,
          "SA_RESETHAND did not reset the disposition");

    /* Queued signals held back inside the shim still arrive, each once,
     * with their values. */
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = rt_handler;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    int rt = SIGRTMIN + 1;
    CHECK(sigaction(rt, &sa, NULL) == 0, "sigaction rt");
    pthread_t t;
    CHECK(pthread_create(&t, NULL, busy, NULL) == 0, "pthread_create");
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, rt);
    pthread_sigmask(SIG_BLOCK, &only, NULL); /* only the busy thread takes them */
    for (int i = 1; i <= count; i++) {
        union sigval val = {.sival_int = i};
        int r;
        while ((r = pthread_sigqueue(t, rt, val)) == EAGAIN) usleep(50);
        CHECK(r == 0, "pthread_sigqueue");
        if (i % 8 == 0) usleep(20);
    }
    for (int tries = 0; tries < 2000; tries++) {
        int missing = 0;
        for (int i = 1; i <= count; i++) missing += atomic_load(&seen[i]) == 0;
        if (!missing) break;
        usleep(1000);
    }
    atomic_store(&stop, 1);
    pthread_join(t, NULL);
    for (int i = 1; i <= count; i++)
        CHECK(atomic_load(&seen[i]) == 1, "value %d arrived %d times", i, atomic_load(&seen[i]));
    printf("ok %d\n", count);
    return 0;
}
