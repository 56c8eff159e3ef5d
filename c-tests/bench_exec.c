/* What carrying the sets across an exec costs, run by benches/limits.rs.
 *
 *   bench_exec PATH N K   opens PATH N times (N separate open file
 *                         descriptions), names each one set in FDSET_ADD_FD
 *                         and execs itself; that image (the sets taken at
 *                         launch) then execs itself K times in a row, each
 *                         exec carrying the N sets (spec section 7), and the
 *                         last image prints the mean nanoseconds per exec:
 *                         wall-clock time, then the process's CPU time
 *                         (user + system, which an exec does not reset: the
 *                         figure that the machine's other load leaves alone).
 *                         With the shim preloaded the last image checks that
 *                         set N is still there; without it the descriptors
 *                         are merely inherited (the same exec, no shim).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static double cpu_ns(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3;
}

static void die(const char *what) {
    perror(what);
    exit(1);
}

/* The first image: N descriptors of PATH, each a set of its own. */
static void setup(const char *path, long n) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
    rlim_t want = (rlim_t)n * 2 + 256;
    if (rl.rlim_cur < want) {
        if (rl.rlim_max < want) {
            fprintf(stderr, "bench_exec: the hard RLIMIT_NOFILE does not allow %ld sets\n", n);
            exit(1);
        }
        rl.rlim_cur = want;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
    }
    char *spec = malloc((size_t)n * 32 + 1);
    if (!spec) die("malloc");
    size_t len = 0;
    for (long i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) die(path);
        len += (size_t)sprintf(spec + len, "%sfd=%d,set=%ld", i ? ";" : "", fd, i + 1);
    }
    spec[len] = 0;
    if (setenv("FDSET_ADD_FD", spec, 1) != 0) die("setenv");
    free(spec);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: bench_exec PATH N K\n");
        return 2;
    }
    long n = atol(argv[2]), k = atol(argv[3]);
    const char *left_s = getenv("BENCH_EXEC_LEFT");
    char buf[64];
    if (!left_s) {
        setup(argv[1], n);
        snprintf(buf, sizeof buf, "%ld", k);
        setenv("BENCH_EXEC_LEFT", buf, 1);
        setenv("BENCH_EXEC_T0", "0", 1);
        setenv("BENCH_EXEC_C0", "0", 1);
        execv("/proc/self/exe", argv);
        die("execv");
    }
    long left = atol(left_s);
    double t0 = atof(getenv("BENCH_EXEC_T0"));
    double c0 = atof(getenv("BENCH_EXEC_C0"));
    if (t0 == 0) {
        t0 = now_ns();
        c0 = cpu_ns();
    }
    if (left == 0) {
        double t = now_ns(), c = cpu_ns();
        const char *pre = getenv("LD_PRELOAD");
        if (pre && strstr(pre, "fdset")) {
            snprintf(buf, sizeof buf, "/dev/fdset/%ld", n);
            int fd = open(buf, O_RDONLY);
            if (fd < 0) die(buf);
            close(fd);
        }
        printf("%.0f %.0f\n", (t - t0) / (double)k, (c - c0) / (double)k);
        return 0;
    }
    snprintf(buf, sizeof buf, "%ld", left - 1);
    setenv("BENCH_EXEC_LEFT", buf, 1);
    snprintf(buf, sizeof buf, "%.0f", t0);
    setenv("BENCH_EXEC_T0", buf, 1);
    snprintf(buf, sizeof buf, "%.0f", c0);
    setenv("BENCH_EXEC_C0", buf, 1);
    execv("/proc/self/exe", argv);
    die("execv");
}
