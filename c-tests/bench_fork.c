/* What starting a program costs the parent, with and without the shim
 * (benches/limits.rs): N times fork() + _exit in the child + waitpid; prints
 * the parent thread's CPU nanoseconds per fork (the fork handlers, the
 * exec gate's share and the registry lock included; the wait for the child
 * is not CPU time). With PATH given, PATH is opened first (a set path under
 * the shim, so the registry is not empty).
 *
 *   bench_fork N [PATH] */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: bench_fork N [PATH]\n"); return 2; }
    long n = atol(argv[1]);
    if (argc > 2 && open(argv[2], O_RDONLY) < 0) { perror(argv[2]); return 1; }
    double spent = 0;
    for (long i = 0; i < n; i++) {
        double t0 = now_ns();
        pid_t pid = fork();
        if (pid == 0) _exit(0);
        spent += now_ns() - t0;
        if (pid < 0 || waitpid(pid, NULL, 0) != pid) { perror("fork"); return 1; }
    }
    printf("%.0f\n", spent / (double)n);
    return 0;
}
