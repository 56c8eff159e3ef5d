/* Stress: 8 threads x ITERS mixed opens and closes of set paths and
 * ordinary files. Set 1 is DIR/a.txt (read-only member), set 2 DIR/b.txt
 * (read-write member). Checks: every fd refers to the file it was opened
 * for (st_dev/st_ino), the program's own long-held fds are untouched, and at
 * the end (after stdin reaches EOF: a control client may still be working)
 * the descriptor table is exactly as at the start. Set 3 (DIR/c.txt) exists
 * only while a control client has added it: ENOENT is fine there.
 *
 *   stress_threads ITERS DIR */
#include "stress_common.h"
#include <pthread.h>

#define THREADS 8
#define RING 4
#define HELD 16

static long iters;
static const char *dir;
static struct stat st_a, st_b, st_c, st_own[THREADS];
static char own_path[THREADS][512];
static int held[HELD];
static struct stat st_held[HELD];

struct slot { int fd; const struct stat *st; };

static void release(struct slot *s) {
    if (s->fd < 0) return;
    CHECK(same_file(s->fd, s->st), "fd %d no longer refers to its file", s->fd);
    CHECK(close(s->fd) == 0, "close %d", s->fd);
    s->fd = -1;
}

static void *worker(void *arg) {
    long tid = (long)arg;
    struct slot ring[RING];
    for (int i = 0; i < RING; i++) ring[i].fd = -1;
    unsigned seed = (unsigned)tid * 2654435761u + 1;
    for (long i = 0; i < iters; i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned op = (seed >> 16) % 7;
        struct slot s = {-1, NULL};
        switch (op) {
        case 0: s.fd = open("/dev/fdset/1", O_RDONLY); s.st = &st_a; break;
        case 1: s.fd = open("/dev/fdset/2", O_RDWR); s.st = &st_b; break;
        case 2: s.fd = openat(AT_FDCWD, "/dev/fdset/1", O_RDONLY | O_CLOEXEC); s.st = &st_a; break;
        case 3: s.fd = open(own_path[tid], O_RDONLY); s.st = &st_own[tid]; break;
        case 4: s.fd = openat(AT_FDCWD, own_path[tid], O_RDWR | O_CLOEXEC); s.st = &st_own[tid]; break;
        case 6:
            s.fd = open("/dev/fdset/3", O_RDONLY);
            s.st = &st_c;
            /* The client removes members at any time: no member left, or no set. */
            if (s.fd < 0 && (errno == ENOENT || errno == EACCES)) continue;
            break;
        case 5: {
            FILE *f = fopen("/dev/fdset/1", "r");
            CHECK(f, "fopen /dev/fdset/1");
            CHECK(same_file(fileno(f), &st_a), "fopen fd is not a.txt");
            CHECK(fclose(f) == 0, "fclose");
            continue;
        }
        }
        CHECK(s.fd >= 0, "open op %u", op);
        CHECK(same_file(s.fd, s.st), "fresh fd %d (op %u) is not its file", s.fd, op);
        /* Keep a few open for a while so that closes interleave with opens. */
        int k = (int)((seed >> 8) % RING);
        release(&ring[k]);
        ring[k] = s;
    }
    for (int i = 0; i < RING; i++) release(&ring[i]);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: stress_threads ITERS DIR\n"); return 2; }
    iters = atol(argv[1]);
    dir = argv[2];
    char p[512];
    snprintf(p, sizeof p, "%s/a.txt", dir);
    stat_or_die(p, &st_a);
    snprintf(p, sizeof p, "%s/b.txt", dir);
    stat_or_die(p, &st_b);
    snprintf(p, sizeof p, "%s/c.txt", dir);
    stat_or_die(p, &st_c);
    for (int t = 0; t < THREADS; t++) {
        snprintf(own_path[t], sizeof own_path[t], "%s/own%d", dir, t);
        int fd = open(own_path[t], O_CREAT | O_RDWR, 0600);
        CHECK(fd >= 0, "create %s", own_path[t]);
        close(fd);
        stat_or_die(own_path[t], &st_own[t]);
    }
    /* The program's own long-held descriptors; also one dup per set held
     * throughout, so that a monitor leaving cannot drop the sets. */
    for (int h = 0; h < HELD; h++) {
        snprintf(p, sizeof p, "%s/held%d", dir, h);
        held[h] = open(p, O_CREAT | O_RDWR, 0600);
        CHECK(held[h] >= 0, "create %s", p);
        CHECK(fstat(held[h], &st_held[h]) == 0, "fstat");
    }
    int keep1 = open("/dev/fdset/1", O_RDONLY), keep2 = open("/dev/fdset/2", O_RDWR);
    CHECK(keep1 >= 0 && keep2 >= 0, "open the sets");

    struct fd_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    CHECK(before && after, "malloc");
    snapshot_fds(before);
    /* A control client starts now: the sets are held open (a monitor that
     * leaves while no dup is open would rightly drop them). */
    printf("ready\n");
    fflush(stdout);
    pthread_t th[THREADS];
    for (long t = 0; t < THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, worker, (void *)t) == 0, "pthread_create");
    for (int t = 0; t < THREADS; t++) pthread_join(th[t], NULL);
    printf("threads done\n");
    fflush(stdout);
    /* A control client (if any) finishes its work and closes our stdin. */
    char c;
    while (read(0, &c, 1) > 0) {}
    /* The helper thread notices a client's hang-up in its own time: allow
     * it a few seconds to close that connection. */
    for (int i = 0; i < 500; i++) {
        snapshot_fds(after);
        if (same_fds(before, after)) break;
        usleep(10000);
    }
    expect_same_fds(before, after, "by the threads");
    for (int h = 0; h < HELD; h++)
        CHECK(same_file(held[h], &st_held[h]), "held fd %d was changed", held[h]);
    CHECK(same_file(keep1, &st_a) && same_file(keep2, &st_b), "kept set dups changed");
    printf("ok %ld\n", iters * THREADS);
    return 0;
}
