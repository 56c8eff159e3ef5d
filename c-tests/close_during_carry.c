/* Spec section 7, "the new program image sees the same sets, the same
 * recorded dups": a thread that closes its dups of set 1 while another
 * thread execs or spawns (which carries them) must not leave the new
 * program with a state naming a closed descriptor. Run under the preloaded
 * shim with set 1.
 *
 *   close_during_carry exec GEN GENS
 *     A thread opens and closes /dev/fdset/1 (inheritable dups) and an
 *     ordinary file (which may take a just-closed number) in a loop; after
 *     a random pause of up to 1 ms the main thread execs this program again
 *     in place, GENS times. The last generation prints "ok GEN".
 *
 *   close_during_carry spawn N
 *     The same thread; the main thread starts /bin/true N times, in turn by
 *     posix_spawn, system and popen (each carries the sets), and counts
 *     the children that did not exit 0: "ok N" when none, else
 *     "failed posix_spawn P system S popen O".
 *
 *   close_during_carry handlers N
 *     Signal handlers that open and close the set (async-signal-safe, spec
 *     section 6), during system and popen: two threads each run system and
 *     popen N times while a third sends them SIGUSR1 every millisecond (the
 *     handler opens and closes /dev/fdset/1); then N times, a dup that a
 *     SIGALRM handler closes at a random moment of a system("true") of the
 *     same thread. "ok N" when every call returned and every child started
 *     (alarm(120) ends a run that hangs).
 */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *open_and_close(void *arg) {
    (void)arg;
    for (;;) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        if (fd >= 0) close(fd);
        int other = open("/dev/null", O_RDONLY);
        if (other >= 0) close(other);
    }
    return NULL;
}

static void start_closer(void) {
    pthread_t t;
    pthread_create(&t, NULL, open_and_close, NULL);
}

static int mode_exec(const char *self, int gen, int gens) {
    if (gen >= gens) {
        printf("ok %d\n", gen);
        return 0;
    }
    start_closer();
    srand((unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)gen);
    usleep((useconds_t)(rand() % 1000));
    char next[16], last[16];
    snprintf(next, sizeof next, "%d", gen + 1);
    snprintf(last, sizeof last, "%d", gens);
    char *av[] = {(char *)self, "exec", next, last, NULL};
    execve(self, av, environ);
    perror("execve");
    return 1;
}

static int exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

static int mode_spawn(int n) {
    start_closer();
    int bad[3] = {0, 0, 0};
    char *av[] = {"/bin/true", NULL};
    for (int i = 0; i < n; i++) {
        int how = i % 3, status = -1;
        if (how == 0) {
            pid_t p;
            if (posix_spawn(&p, "/bin/true", NULL, NULL, av, environ) == 0) waitpid(p, &status, 0);
        } else if (how == 1) {
            status = system("/bin/true");
        } else {
            FILE *f = popen("/bin/true", "r");
            if (f) status = pclose(f);
        }
        if (!exited_zero(status)) bad[how]++;
    }
    if (bad[0] + bad[1] + bad[2] == 0) printf("ok %d\n", n);
    else printf("failed posix_spawn %d system %d popen %d\n", bad[0], bad[1], bad[2]);
    return 0;
}

static void open_close_in_handler(int sig) {
    (void)sig;
    int fd = open("/dev/fdset/1", O_RDONLY);
    if (fd >= 0) close(fd);
}

static volatile sig_atomic_t to_close = -1;

static void close_in_handler(int sig) {
    (void)sig;
    int fd = to_close;
    to_close = -1;
    if (fd >= 0) close(fd);
}

static int rounds;
static volatile int failed_children;

static void *spawner(void *arg) {
    (void)arg;
    for (int i = 0; i < rounds; i++) {
        if (!exited_zero(system("true"))) failed_children++;
        FILE *f = popen("true", "r");
        if (!f || !exited_zero(pclose(f))) failed_children++;
    }
    return NULL;
}

static volatile int spawning = 1;

static void *signaller(void *arg) {
    pthread_t *targets = arg;
    struct timespec ms = {0, 1000000};
    while (spawning) {
        pthread_kill(targets[0], SIGUSR1);
        pthread_kill(targets[1], SIGUSR1);
        nanosleep(&ms, NULL);
    }
    return NULL;
}

static int mode_handlers(int n) {
    alarm(120);
    rounds = n;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = open_close_in_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    pthread_t t[2], s;
    pthread_create(&t[0], NULL, spawner, NULL);
    pthread_create(&t[1], NULL, spawner, NULL);
    pthread_create(&s, NULL, signaller, t);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    spawning = 0;
    pthread_join(s, NULL);
    sa.sa_handler = close_in_handler;
    sigaction(SIGALRM, &sa, NULL);
    for (int i = 0; i < n; i++) {
        to_close = open("/dev/fdset/1", O_RDONLY);
        struct itimerval soon = {{0, 0}, {0, 1 + rand() % 300}}, off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &soon, NULL);
        if (!exited_zero(system("true"))) failed_children++;
        setitimer(ITIMER_REAL, &off, NULL);
        if (to_close >= 0) close(to_close);
        to_close = -1;
    }
    if (failed_children) printf("failed %d children\n", failed_children);
    else printf("ok %d\n", n);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !strcmp(argv[1], "exec")) return mode_exec(argv[0], atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "spawn")) return mode_spawn(atoi(argv[2]));
    if (argc == 3 && !strcmp(argv[1], "handlers")) return mode_handlers(atoi(argv[2]));
    fprintf(stderr, "usage: see c-tests/close_during_carry.c\n");
    return 2;
}
