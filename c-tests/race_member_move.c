/* Race: opens of a set by one thread while another takes the member's
 * number with dup2 (the shim moves the member away first, spec section 6),
 * over and over. The shim chooses the member under its lock and duplicates
 * it after releasing the lock: a dup made from the number after a move
 * would be a copy of the program's other file. A timer signal stops the
 * openers for a few microseconds at random points, now and then between
 * that choice and the dup, so that a move can land right there (the window
 * is a few instructions: a round catches a shim that does not check only
 * sometimes, hence several rounds).
 *
 * Checks: every open of /dev/fdset/1 gives a.txt, every dup2 puts b.txt at
 * the number, and at the end of a round the descriptor table is as at its
 * start but for where the member now is.
 *
 *   race_member_move ROUNDS DIR    set 1 is DIR/a.txt (FDSET_ADD_FD fd 3),
 *                                  DIR/b.txt another file; each round (at
 *                                  most a quarter of a second) in a forked
 *                                  child, so that the member starts low again
 *
 * Prints "ok race_member_move".
 */
#include "stress_common.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#define OPENERS 1

static struct stat st_a, st_b;
static atomic_int done;
static atomic_long opens;

static void pause_a_little(int sig) {
    (void)sig;
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 5000);
}

static void *opener(void *arg) {
    (void)arg;
    sigset_t alarm;
    sigemptyset(&alarm);
    sigaddset(&alarm, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &alarm, NULL);
    while (!atomic_load(&done)) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        CHECK(fd >= 0, "open /dev/fdset/1");
        CHECK(same_file(fd, &st_a), "fd %d from /dev/fdset/1 is not a.txt", fd);
        CHECK(close(fd) == 0, "close %d", fd);
        atomic_fetch_add(&opens, 1);
    }
    return NULL;
}

/* The member: the one descriptor at or above `from` that refers to a.txt
 * (the shim keeps its own descriptors at 100 and up; the openers' dups get
 * low numbers). */
static int find_member(int from, int limit) {
    for (int fd = from; fd < limit; fd++)
        if (same_file(fd, &st_a)) return fd;
    return -1;
}

static long ms_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* One round: the openers against the moves, until the numbers run out or
 * a quarter of a second has passed. Returns the number of moves. */
static long round_of(int other, int limit) {
    struct fd_snapshot before, after;
    snapshot_fds(&before);
    sigset_t alarm;
    sigemptyset(&alarm);
    sigaddset(&alarm, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &alarm, NULL); /* the openers unblock it */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = pause_a_little;
    sa.sa_flags = SA_RESTART;
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    struct itimerval every = {{0, 20}, {0, 20}};
    CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0, "setitimer");
    pthread_t t[OPENERS];
    for (int i = 0; i < OPENERS; i++)
        CHECK(pthread_create(&t[i], NULL, opener, NULL) == 0, "pthread_create");
    int first = find_member(100, limit);
    CHECK(first >= 0, "the member of set 1 at 100 or above");
    int member = first;
    long moves = 0;
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (member + 2 < limit && ms_since(&start) < 250) {
        /* Paced by the openers: a move whenever one of them got through. */
        long seen = atomic_load(&opens);
        while (atomic_load(&opens) == seen) {
        }
        CHECK(dup2(other, member) == member, "dup2 onto the member's number %d", member);
        CHECK(same_file(member, &st_b), "after dup2, %d is not b.txt", member);
        CHECK(close(member) == 0, "close %d", member);
        int moved = find_member(member + 1, limit);
        CHECK(moved >= 0, "the member after the move from %d", member);
        member = moved;
        moves++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0, "setitimer off");
    atomic_store(&done, 1);
    for (int i = 0; i < OPENERS; i++) CHECK(pthread_join(t[i], NULL) == 0, "pthread_join");

    snapshot_fds(&after);
    CHECK(after.n == before.n, "%d descriptors before, %d after", before.n, after.n);
    for (int i = 0; i < after.n; i++) {
        int want = after.fd[i] == member ? first : after.fd[i];
        int found = 0;
        for (int j = 0; j < before.n; j++)
            if (before.fd[j] == want && !strcmp(before.target[j], after.target[i])) found = 1;
        CHECK(found, "fd %d (%s) was not there before", after.fd[i], after.target[i]);
    }
    return moves;
}

int main(int argc, char **argv) {
    CHECK(argc == 3, "usage: race_member_move ROUNDS DIR");
    long rounds = atol(argv[1]);
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/a.txt", argv[2]);
    snprintf(b, sizeof b, "%s/b.txt", argv[2]);
    stat_or_die(a, &st_a);
    stat_or_die(b, &st_b);
    /* Each move puts the member one number higher: room for many. */
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
    }
    int limit = rl.rlim_cur > 60000 ? 60000 : (int)rl.rlim_cur;
    CHECK(limit > 300, "RLIMIT_NOFILE %d leaves no room for moves", limit);
    int other = open(b, O_RDONLY);
    CHECK(other >= 0, "open %s", b);
    long moves = 0;
    for (long r = 0; r < rounds; r++) {
        int pipefd[2];
        CHECK(pipe(pipefd) == 0, "pipe");
        fflush(stdout);
        pid_t child = fork();
        CHECK(child >= 0, "fork");
        if (child == 0) {
            close(pipefd[0]);
            long m = round_of(other, limit);
            CHECK(write(pipefd[1], &m, sizeof m) == (ssize_t)sizeof m, "write");
            _exit(0);
        }
        close(pipefd[1]);
        long m = 0;
        CHECK(read(pipefd[0], &m, sizeof m) == (ssize_t)sizeof m || 1, "read");
        close(pipefd[0]);
        int status;
        CHECK(waitpid(child, &status, 0) == child, "waitpid");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "round %ld failed (status %#x)", r, status);
        CHECK(m > 0, "round %ld: no move", r);
        moves += m;
    }
    printf("ok race_member_move %ld rounds, %ld moves\n", rounds, moves);
    return 0;
}
