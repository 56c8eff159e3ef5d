/* Spec section 6 (a handler sees what it would without the shim): a
 * SIGALRM handler siglongjmps out of stat() of set 1 (whose slow path runs
 * handlers inside it) a few thousand times; then another thread queues
 * SIGRTMIN to this thread while it opens and closes set 1 (where signals
 * are held back and their handlers run at the call's end). Every queued
 * signal must arrive: jumps out of earlier calls must not leave the thread
 * unable to receive the ones held back later.
 *
 *   signals_after_jumps JUMPS QUEUED */
#include "stress_common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>

static sigjmp_buf env;
static volatile sig_atomic_t armed, jumps;
static atomic_long received;
static atomic_int done_sending;

static void on_alarm(int sig) {
    (void)sig;
    if (armed) {
        armed = 0;
        jumps++;
        siglongjmp(env, 1);
    }
}

static void on_rt(int sig) {
    (void)sig;
    atomic_fetch_add(&received, 1);
}

struct target { pthread_t thread; long count; };

static void *sender(void *arg) {
    struct target *t = arg;
    union sigval v = {0};
    for (long i = 0; i < t->count; i++) {
        while (pthread_sigqueue(t->thread, SIGRTMIN, v) != 0) usleep(10); /* EAGAIN: queue full */
        if (i % 16 == 0) usleep(20);
    }
    atomic_store(&done_sending, 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: signals_after_jumps JUMPS QUEUED\n"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    long want = atol(argv[1]), queued = atol(argv[2]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction SIGALRM");
    sa.sa_handler = on_rt;
    CHECK(sigaction(SIGRTMIN, &sa, NULL) == 0, "sigaction SIGRTMIN");
    struct itimerval it = {{0, 30}, {0, 30}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
    struct stat st;
    while (jumps < want) {
        if (sigsetjmp(env, 1)) continue;
        armed = 1;
        stat("/dev/fdset/1", &st);
        armed = 0;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    struct target t = {pthread_self(), queued};
    pthread_t snd;
    CHECK(pthread_create(&snd, NULL, sender, &t) == 0, "pthread_create");
    while (!atomic_load(&done_sending)) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        CHECK(fd >= 0 || errno == EINTR, "open set 1");
        if (fd >= 0) close(fd);
    }
    pthread_join(snd, NULL);
    for (int i = 0; i < 200 && atomic_load(&received) < queued; i++) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        if (fd >= 0) close(fd);
        usleep(1000);
    }
    CHECK(atomic_load(&received) == queued, "received %ld of %ld queued signals after %ld jumps",
          atomic_load(&received), queued, (long)jumps);
    printf("ok\n");
    return 0;
}
