/* Thread scaling of fdset opens: THREADS threads started together, each
 * making N open+close pairs; prints the process's CPU ns per pair and the
 * wall ns per pair (all threads' pairs counted).
 *   bench_threads fdset THREADS N SETS     thread i opens /dev/fdset/(i%SETS+1)
 *                                          (O_RDONLY) and closes the dup; the
 *                                          sets come from FDSET_ADD_FD
 *   bench_threads syscalls THREADS N SETS  the system calls of such an open
 *                                          and close alone (F_DUPFD, F_GETFL,
 *                                          lseek, close) on fd 3+(i%SETS),
 *                                          inherited; run without the shim:
 *                                          what the kernel's own locks cost
 *                                          when threads share one fd table */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int fdset_mode;
static long n_pairs;
static int n_sets;
static pthread_barrier_t start;

static void die(const char *what) {
    fprintf(stderr, "bench_threads: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double clock_ns(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *worker(void *arg) {
    int i = (int)(long)arg;
    int set = i % n_sets;
    char path[64];
    snprintf(path, sizeof path, "/dev/fdset/%d", set + 1);
    pthread_barrier_wait(&start);
    for (long k = 0; k < n_pairs; k++) {
        int fd;
        if (fdset_mode) {
            fd = open(path, O_RDONLY);
            if (fd < 0) die(path);
        } else {
            fd = fcntl(3 + set, F_DUPFD, 0);
            if (fd < 0) die("F_DUPFD");
            if (fcntl(fd, F_GETFL) < 0) die("F_GETFL");
            if (lseek(fd, 0, SEEK_SET) != 0) die("lseek");
        }
        if (close(fd) != 0) die("close");
    }
    pthread_barrier_wait(&start);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 5 || (strcmp(argv[1], "fdset") && strcmp(argv[1], "syscalls"))) {
        fprintf(stderr, "usage: bench_threads fdset|syscalls THREADS N SETS\n");
        return 2;
    }
    fdset_mode = !strcmp(argv[1], "fdset");
    int threads = atoi(argv[2]);
    n_pairs = atol(argv[3]);
    n_sets = atoi(argv[4]);
    if (threads < 1 || n_pairs < 1 || n_sets < 1) return 2;
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(long)i) != 0) die("pthread_create");
    double c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), w0 = clock_ns(CLOCK_MONOTONIC);
    pthread_barrier_wait(&start);
    pthread_barrier_wait(&start);
    double c1 = clock_ns(CLOCK_PROCESS_CPUTIME_ID), w1 = clock_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    double pairs = (double)threads * (double)n_pairs;
    printf("%.1f %.1f\n", (c1 - c0) / pairs, (w1 - w0) / pairs);
    return 0;
}
