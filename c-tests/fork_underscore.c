/* Spec section 6: "A child made by any fork (fork, _Fork, vfork, clone
 * through libc) can use the sets at once: no lock held at the fork stays
 * held in the child." `_Fork` (glibc 2.34) runs no atfork handlers, so the
 * shim hooks it itself. Two threads keep opening and closing set 1 (the
 * registry lock is often held); the main thread calls _Fork FORKS times and
 * each child opens set 1, reads it and exits. A child that does not exit
 * within 5 s is stuck on a lock that the fork copied held: killed, counted.
 *
 *   fork_underscore FORKS */
#include "stress_common.h"
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static struct set_openers openers;

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: fork_underscore FORKS\n"); return 2; }
    long forks = atol(argv[1]);
    struct fd_snapshot *before = malloc(sizeof *before), *after = malloc(sizeof *after);
    CHECK(before && after, "malloc");
    snapshot_fds(before);
    start_set_openers(&openers);
    int hung = 0, failed = 0;
    for (long i = 0; i < forks; i++) {
        pid_t pid = _Fork();
        CHECK(pid >= 0, "_Fork");
        if (pid == 0) {
            int fd = open("/dev/fdset/1", O_RDONLY);
            if (fd < 0) _exit(3);
            char buf[8] = {0};
            if (pread(fd, buf, 7, 0) != 7 || memcmp(buf, "set one", 7)) _exit(4);
            if (close(fd) != 0) _exit(5);
            _exit(0);
        }
        int status = 0;
        if (wait_or_kill(pid, 5, &status)) hung++;
        else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) failed++;
        if (hung) break; /* one is enough to fail */
    }
    stop_set_openers(&openers);
    CHECK(hung == 0 && failed == 0, "%d of %ld _Fork children hung, %d failed", hung, forks, failed);
    snapshot_fds(after);
    expect_same_fds(before, after, "by forking");
    printf("ok %ld\n", forks);
    return 0;
}
