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
 *   fork_clone CLONES
 *
 * Other modes (each prints "ok" or fails):
 *   fork_clone vfork-exec    a child of clone(CLONE_VM|CLONE_VFORK) and one of
 *                            vfork() exec /bin/true (carrying the sets); then
 *                            another thread opens and closes the set, and the
 *                            main thread closes its own dup: none may wait
 *                            (alarm(10) fails the run)
 *   fork_clone files         a child of clone(CLONE_FILES) shares the table
 *                            and returns at once: the program's descriptors
 *                            (control sockets included) are all still there
 *   fork_clone vfork-nowait  a child of clone(CLONE_VFORK) (no CLONE_VM) lives
 *                            300 ms; meanwhile another thread's open+close of
 *                            the set takes under 150 ms */
#include "stress_common.h"
#include <dirent.h>
#include <pthread.h>
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

static char child_stack[256 * 1024];

static int exec_true(void *arg) {
    (void)arg;
    execl("/bin/true", "true", (char *)NULL);
    _exit(127);
}

static int return_at_once(void *arg) { (void)arg; return 0; }

static int live_300ms(void *arg) {
    (void)arg;
    usleep(300 * 1000);
    _exit(0);
}

static void *open_close_once(void *arg) {
    (void)arg;
    int fd = open("/dev/fdset/1", O_RDONLY);
    CHECK(fd >= 0 && close(fd) == 0, "open and close of the set after the exec");
    return NULL;
}

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static volatile double slowest_ms;
static volatile int stop_timing;

static void *time_opens(void *arg) {
    (void)arg;
    while (!stop_timing) {
        double t0 = now_ms();
        int fd = open("/dev/fdset/1", O_RDONLY);
        CHECK(fd >= 0 && close(fd) == 0, "open and close of the set");
        double took = now_ms() - t0;
        if (took > slowest_ms) slowest_ms = took;
        usleep(1000);
    }
    return NULL;
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    CHECK(d != NULL, "opendir");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static int other_mode(const char *mode) {
    char *top = child_stack + sizeof child_stack;
    int status = 0;
    if (!strcmp(mode, "vfork-exec")) {
        alarm(10);
        int mine = open("/dev/fdset/1", O_RDONLY);
        CHECK(mine >= 0, "open");
        pid_t pid = clone(exec_true, top, CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0, "clone(CLONE_VM|CLONE_VFORK) child");
        pid = vfork();
        if (pid == 0) {
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0, "vfork child");
        pthread_t t;
        pthread_create(&t, NULL, open_close_once, NULL);
        pthread_join(t, NULL);
        CHECK(close(mine) == 0, "close of the main thread's dup");
    } else if (!strcmp(mode, "files")) {
        int before = count_fds();
        pid_t pid = clone(return_at_once, top, CLONE_FILES | SIGCHLD, NULL);
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && status == 0, "clone(CLONE_FILES) child");
        int after = count_fds();
        CHECK(before == after, "%d descriptors before the clone, %d after", before, after);
    } else if (!strcmp(mode, "vfork-nowait")) {
        pthread_t t;
        pthread_create(&t, NULL, time_opens, NULL);
        usleep(20 * 1000);
        pid_t pid = clone(live_300ms, top, CLONE_VFORK | SIGCHLD, NULL);
        CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "clone(CLONE_VFORK) child");
        stop_timing = 1;
        pthread_join(t, NULL);
        CHECK(slowest_ms < 150, "an open took %.0f ms while the child lived", slowest_ms);
    } else {
        fprintf(stderr, "fork_clone: unknown mode %s\n", mode);
        return 2;
    }
    printf("ok %s\n", mode);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && (argv[1][0] < '0' || argv[1][0] > '9')) return other_mode(argv[1]);
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
