/* README "Threads, signals and fork": a child made by a raw fork system
 * call (syscall(SYS_fork), which runs no fork handlers) is outside what the
 * shim sees. If another thread held the registry lock at that moment, the
 * child's copy of it is held by a thread that does not exist there: its
 * opens of sets fail with EAGAIN instead of waiting for ever, and its
 * closes of dups still close. Two threads keep opening and closing set 1
 * while the main thread makes FORKS raw forks; each child opens set 1
 * (success or EAGAIN), closes what it got and an inherited dup, and exits.
 * A child still running after 10 s is stuck: counted, fails the run.
 *
 *   raw_fork FORKS */
#include "stress_common.h"
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static struct set_openers openers;

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: raw_fork FORKS\n"); return 2; }
    long forks = atol(argv[1]);
    start_set_openers(&openers);
    int hung = 0, failed = 0, eagain = 0;
    for (long i = 0; i < forks && !hung; i++) {
        int mine = open("/dev/fdset/1", O_RDONLY);
        CHECK(mine >= 0, "open before the fork");
        pid_t pid = (pid_t)syscall(SYS_fork);
        CHECK(pid >= 0, "raw fork");
        if (pid == 0) {
            int fd = open("/dev/fdset/1", O_RDONLY);
            if (fd < 0 && errno != EAGAIN) _exit(3);
            if (fd >= 0 && close(fd) != 0) _exit(4);
            if (close(mine) != 0) _exit(5);
            _exit(fd < 0 ? 10 : 0);
        }
        CHECK(close(mine) == 0, "close after the fork");
        int status = 0;
        if (wait_or_kill(pid, 10, &status)) hung++;
        else if (WIFEXITED(status) && WEXITSTATUS(status) == 10) eagain++;
        else if (!hung && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) failed++;
    }
    stop_set_openers(&openers);
    CHECK(hung == 0 && failed == 0, "raw fork children: %d hung, %d failed", hung, failed);
    printf("ok %ld (%d got EAGAIN)\n", forks, eagain);
    return 0;
}
