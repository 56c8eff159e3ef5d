/* fork safety: 8 threads open and close set paths concurrently;
 * one of them forks repeatedly while the others are busy, and each child
 * opens the set, checks what it reads and exits. A child stuck on a lock
 * copied from the parent is killed by its alarm and reported.
 * Set 1: read-only member, content "set one\n".
 *   shim_threads_fork ITERS FORKS */
#include "shim_checks.h"
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/wait.h>

#define THREADS 8
static long iters, forks;
static atomic_long opened;

static void open_check_close(const char *who) {
    int fd = open("/dev/fdset/1", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0, "%s: open", who);
    char buf[8];
    CHECK(pread(fd, buf, 8, 0) == 8 && !memcmp(buf, "set one\n", 8), "%s: content", who);
    CHECK(close(fd) == 0, "%s: close", who);
}

static void fork_child(void) {
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        alarm(10);
        open_check_close("child");
        FILE *f = fopen("/dev/fdset/1", "r");
        char line[16] = {0};
        if (!f || !fgets(line, sizeof line, f) || strcmp(line, "set one\n")) _exit(3);
        _exit(fclose(f) == 0 ? 0 : 4);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x%s", st,
          WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? " (deadlocked: killed by its alarm)" : "");
}

static void *worker(void *arg) {
    long id = (long)arg;
    for (long i = 0; i < iters; i++) {
        open_check_close("thread");
        atomic_fetch_add(&opened, 1);
        if (id == 0 && i % (iters / forks + 1) == 0) fork_child();
    }
    return NULL;
}

int main(int argc, char **argv) {
    CHECK(argc == 3, "usage: shim_threads_fork ITERS FORKS");
    iters = atol(argv[1]);
    forks = atol(argv[2]);
    struct fd_snapshot before, after;
    snapshot_fds(&before);
    pthread_t t[THREADS];
    for (long i = 0; i < THREADS; i++) CHECK(pthread_create(&t[i], NULL, worker, (void *)i) == 0, "pthread_create");
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    snapshot_fds(&after);
    expect_same_fds(&before, &after, "after the threads");
    printf("opened %ld\n", atomic_load(&opened));
    return 0;
}
