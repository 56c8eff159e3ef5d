/* Stress: fork FORKS times from a thread while two other threads
 * keep opening and closing set 1 (DIR content "set one"), and the forking
 * thread itself opens it between forks. Each child opens set 1, checks what
 * it reads, and exits; a child stuck on a lock inherited from the fork is
 * killed by its alarm and counted as a failure.
 *
 *   stress_fork FORKS */
#include "stress_common.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

static struct set_openers openers;

static void *forker(void *arg) {
    long forks = (long)arg;
    for (long i = 0; i < forks; i++) {
        int mine = open("/dev/fdset/1", O_RDONLY);
        CHECK(mine >= 0, "forker open");
        pid_t pid = fork();
        CHECK(pid >= 0, "fork");
        if (pid == 0) {
            alarm(10);
            int fd = open("/dev/fdset/1", O_RDONLY);
            if (fd < 0) _exit(3);
            char buf[8] = {0};
            if (pread(fd, buf, 7, 0) != 7 || memcmp(buf, "set one", 7)) _exit(4);
            if (close(fd) != 0 || close(mine) != 0) _exit(5);
            _exit(0);
        }
        CHECK(close(mine) == 0, "forker close");
        int status;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            fprintf(stderr, "child %ld: %s %d\n", i, WIFEXITED(status) ? "exit" : "signal",
                    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            exit(1);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: stress_fork FORKS\n"); return 2; }
    struct fd_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    CHECK(before && after, "malloc");
    snapshot_fds(before);
    pthread_t f;
    start_set_openers(&openers);
    CHECK(pthread_create(&f, NULL, forker, (void *)atol(argv[1])) == 0, "pthread_create");
    pthread_join(f, NULL);
    stop_set_openers(&openers);
    snapshot_fds(after);
    expect_same_fds(before, after, "by forking");
    printf("ok %s\n", argv[1]);
    return 0;
}
