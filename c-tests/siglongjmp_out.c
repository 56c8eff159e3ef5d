/* Spec section 6: "No allocation and no lock that a signal handler could
 * wait on for ever". A SIGALRM handler (every 30 us) siglongjmps back to the
 * top of a loop that opens and closes set 1 (open, openat, close: calls
 * that are async-signal-safe, which is when POSIX lets a handler jump out
 * of them), so the jump often leaves an interrupted call behind. The handlers here
 * are installed through libc (sigaction, and signal for SIGUSR1, which
 * another thread sends now and then). After JUMPS jumps: another thread
 * opens set 1 (a lock left held by the jumped-out call would make it wait
 * for ever), this thread does (it would get EAGAIN, its own lock), a forked
 * child does, and every dup the jumps left open closes fine.
 *
 *   siglongjmp_out JUMPS */
#include "stress_common.h"
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <sys/wait.h>

static sigjmp_buf env;
static volatile sig_atomic_t armed, jumps, usr1;
static atomic_int stop;

static void on_alarm(int sig) {
    (void)sig;
    if (armed) {
        jumps++;
        siglongjmp(env, 1);
    }
}

static void on_usr1(int sig) {
    (void)sig;
    usr1++;
    if (armed) siglongjmp(env, 2);
}

static struct stat st_a;

static void close_leaked(int member) {
    for (int fd = 3; fd < 4096; fd++)
        if (fd != member && same_file(fd, &st_a)) CHECK(close(fd) == 0, "close leaked dup %d", fd);
}

static void *opener(void *arg) {
    (void)arg;
    int fd = open("/dev/fdset/1", O_RDONLY);
    CHECK(fd >= 0, "another thread's open of set 1");
    CHECK(same_file(fd, &st_a) && close(fd) == 0, "another thread's dup");
    return NULL;
}

static void *sender(void *arg) {
    pthread_t main_thread = *(pthread_t *)arg;
    while (!atomic_load(&stop)) {
        pthread_kill(main_thread, SIGUSR1);
        usleep(300);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: siglongjmp_out JUMPS\n"); return 2; }
    setvbuf(stdout, NULL, _IOLBF, 0);
    long want = atol(argv[1]);
    int probe = open("/dev/fdset/1", O_RDONLY);
    CHECK(probe >= 0 && fstat(probe, &st_a) == 0, "open set 1");
    close(probe);
    int member = -1;
    for (int fd = 100; fd < 4096 && member < 0; fd++)
        if (same_file(fd, &st_a)) member = fd;
    CHECK(member >= 0, "set 1's member not found");

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    CHECK(signal(SIGUSR1, on_usr1) != SIG_ERR, "signal");
    struct sigaction back;
    CHECK(sigaction(SIGALRM, NULL, &back) == 0 && back.sa_handler == on_alarm,
          "sigaction does not report the program's own handler");
    /* The handlers jump into the main thread's loop: only it may run
     * them, so the sender starts (and stays) with both signals blocked. */
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGALRM);
    sigaddset(&both, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &both, NULL);
    pthread_t self = pthread_self(), snd;
    CHECK(pthread_create(&snd, NULL, sender, &self) == 0, "pthread_create");
    pthread_sigmask(SIG_UNBLOCK, &both, NULL);
    struct itimerval it = {{0, 30}, {0, 30}};
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");

    long rounds = 0;
    sigsetjmp(env, 1);
    while (jumps < want) {
        armed = 1;
        if (++rounds % 256 == 0) {
            armed = 0;
            close_leaked(member);
            armed = 1;
        }
        int a = open("/dev/fdset/1", O_RDONLY);
        CHECK(a >= 0 || errno == EINTR, "open set 1 (errno %d)", errno);
        int b = openat(AT_FDCWD, "/dev/fdset/1", O_RDONLY | O_CLOEXEC);
        CHECK(b >= 0 || errno == EINTR, "openat set 1");
        if (b >= 0) close(b);
        if (a >= 0) close(a);
    }
    armed = 0;
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    atomic_store(&stop, 1);
    pthread_join(snd, NULL);

    pthread_t t;
    CHECK(pthread_create(&t, NULL, opener, NULL) == 0, "pthread_create");
    pthread_join(t, NULL);
    opener(NULL);
    /* The thread's own next open gets no EAGAIN (its own lock, left held). */
    int again = open("/dev/fdset/1", O_RDONLY);
    CHECK(again >= 0, "this thread's open of set 1");
    close(again);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        _exit(fd >= 0 && same_file(fd, &st_a) ? 0 : 3);
    }
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the child of a fork could not open set 1");
    close_leaked(member);
    CHECK(usr1 > 0, "SIGUSR1 was never handled");
    printf("ok %d jumps (%d SIGUSR1)\n", (int)jumps, (int)usr1);
    return 0;
}
