/* Timing loop of the seccomp-mode benchmark (benches/seccomp.rs), linked
 * statically as the programs seccomp mode is for:
 *   bench_seccomp PATH BLOCKS OPS
 * opens PATH read-only and closes it OPS times per block, BLOCKS blocks
 * after a warm-up, and prints each block's nanoseconds per open+close. */
// build-flags: -static
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc != 4) return 2;
    const char *path = argv[1];
    int blocks = atoi(argv[2]), ops = atoi(argv[3]);
    for (int i = 0; i < ops; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) { perror(path); return 1; }
        close(fd);
    }
    for (int b = 0; b < blocks; b++) {
        double t0 = now_ns();
        for (int i = 0; i < ops; i++) close(open(path, O_RDONLY));
        printf("%.1f\n", (now_ns() - t0) / ops);
    }
    return 0;
}
