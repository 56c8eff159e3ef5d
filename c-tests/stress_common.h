/* Shared by the c-tests/stress_*.c programs: failing loudly, and snapshots of
 * the process's descriptor table to prove that nothing leaked. */
#ifndef STRESS_COMMON_H
#define STRESS_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAIL(...)                                                        \
    do {                                                                 \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                  \
        fprintf(stderr, __VA_ARGS__);                                    \
        fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno));    \
        exit(1);                                                         \
    } while (0)

#define CHECK(cond, ...)                                                 \
    do {                                                                 \
        if (!(cond)) FAIL(__VA_ARGS__);                                  \
    } while (0)

/* Every open descriptor and what it refers to, from /proc/self/fd. */
#define SNAP_MAX 4096
struct fd_snapshot {
    int n;
    int fd[SNAP_MAX];
    char target[SNAP_MAX][96];
};

static inline void snapshot_fds(struct fd_snapshot *s) {
    DIR *d = opendir("/proc/self/fd");
    CHECK(d, "opendir /proc/self/fd");
    int own = dirfd(d);
    s->n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd == own) continue;
        CHECK(s->n < SNAP_MAX, "too many descriptors");
        char link[64];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t len = readlink(link, s->target[s->n], sizeof s->target[0] - 1);
        s->target[s->n][len < 0 ? 0 : len] = 0;
        s->fd[s->n++] = fd;
    }
    closedir(d);
}

/* Same numbers referring to the same things. readdir order is by number. */
static inline int same_fds(const struct fd_snapshot *a, const struct fd_snapshot *b) {
    int ok = a->n == b->n;
    for (int i = 0; ok && i < a->n; i++)
        ok = a->fd[i] == b->fd[i] && !strcmp(a->target[i], b->target[i]);
    return ok;
}

static inline void expect_same_fds(const struct fd_snapshot *a, const struct fd_snapshot *b, const char *when) {
    if (!same_fds(a, b)) {
        fprintf(stderr, "descriptor table changed %s:\n before:", when);
        for (int i = 0; i < a->n; i++) fprintf(stderr, " %d=%s", a->fd[i], a->target[i]);
        fprintf(stderr, "\n after: ");
        for (int i = 0; i < b->n; i++) fprintf(stderr, " %d=%s", b->fd[i], b->target[i]);
        fprintf(stderr, "\n");
        exit(1);
    }
}

/* fd refers to the file st describes (same device and inode). */
static inline int same_file(int fd, const struct stat *st) {
    struct stat now;
    return fstat(fd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

static inline void stat_or_die(const char *path, struct stat *st) {
    CHECK(stat(path, st) == 0, "stat %s", path);
}

/* Read the first bytes at offset 0 of fd and compare with want. */
static inline void expect_content(int fd, const char *want, const char *what) {
    char buf[64] = {0};
    size_t n = strlen(want);
    CHECK(pread(fd, buf, n, 0) == (ssize_t)n && !memcmp(buf, want, n), "%s: wrong content '%s'", what, buf);
}

/* Two threads that open and close set 1 until told to stop, so that the
 * registry lock is often held when the main thread forks. */
#include <pthread.h>
#include <stdatomic.h>

struct set_openers {
    pthread_t threads[2];
    atomic_int stop;
};

static inline void *set_opener(void *arg) {
    struct set_openers *o = arg;
    while (!atomic_load(&o->stop)) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        CHECK(fd >= 0, "busy open");
        CHECK(close(fd) == 0, "busy close");
    }
    return NULL;
}

static inline void start_set_openers(struct set_openers *o) {
    atomic_store(&o->stop, 0);
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&o->threads[i], NULL, set_opener, o) == 0, "pthread_create");
}

static inline void stop_set_openers(struct set_openers *o) {
    atomic_store(&o->stop, 1);
    for (int i = 0; i < 2; i++) pthread_join(o->threads[i], NULL);
}

/* Wait up to SECONDS for child PID; a child still running then is stuck
 * (on a lock the fork copied held): killed, and 1 is returned. Otherwise 0,
 * with its wait status in *status. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static inline int wait_or_kill(pid_t pid, int seconds, int *status) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        CHECK(r >= 0, "waitpid");
        if (r == pid) return 0;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec >= seconds) {
            kill(pid, SIGKILL);
            waitpid(pid, status, 0);
            return 1;
        }
        usleep(200);
    }
}

#endif
