/* Spec section 6: "A child made by any fork (fork, _Fork, vfork, clone
 * through libc) can use the sets at once: no lock held at the fork stays
 * held in the child." libc's clone without CLONE_VM (the way bwrap and
 * container runtimes make children) runs no atfork handlers, so the shim
 * hooks it. Two threads keep opening and closing set 1 (the registry lock
 * is often held); the main thread calls clone(fn, stack, SIGCHLD, arg)
 * CLONES times and each child opens set 1, reads it and exits. A child
 * that does not exit within 5 s is stuck: killed, counted; one whose open
 * failed (EAGAIN: the lock was copied held) is counted as failed.
 *
 *   fork_clone CLONES */
#include "stress_common.h"
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

static struct set_openers openers;

static int child(void *arg) {
    (void)arg;
    int fd = open("/dev/fdset/1", O_RDONLY);
    if (fd < 0) return 3;
    char buf[8] = {0};
    if (pread(fd, buf, 7, 0) != 7 || memcmp(buf, "set one", 7)) return 4;
    if (close(fd) != 0) return 5;
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: fork_clone CLONES\n"); return 2; }
    long clones = atol(argv[1]);
    size_t stack_size = 256 * 1024;
    char *stack = malloc(stack_size);
    CHECK(stack != NULL, "malloc");
    start_set_openers(&openers);
    int hung = 0, failed = 0;
    for (long i = 0; i < clones; i++) {
        pid_t pid = clone(child, stack + stack_size, SIGCHLD, NULL);
        CHECK(pid >= 0, "clone");
        int status = 0;
        if (wait_or_kill(pid, 5, &status)) hung++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
        if (hung) break;
    }
    stop_set_openers(&openers);
    CHECK(hung == 0 && failed == 0, "%d of %ld clone children hung, %d failed", hung, clones, failed);
    printf("ok %ld\n", clones);
    return 0;
}
