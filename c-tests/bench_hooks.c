/* Micro-benchmarks of the hooked calls, run by benches/limits.rs
 * with and without LD_PRELOAD of the release shim. Each mode runs a loop and
 * prints nanoseconds per iteration; the runner takes medians over several
 * processes and divides by a baseline measured in the same run.
 *
 *   bench_hooks open PATH N        open(PATH, O_RDONLY) + close
 *   bench_hooks openat PATH N      openat(AT_FDCWD, PATH, O_RDONLY) + close
 *   bench_hooks close PATH N       close of a plain fd (made with dup(), which is not hooked)
 *   bench_hooks stat PATH N        stat(PATH)
 *   bench_hooks access PATH N      access(PATH, R_OK)
 *   bench_hooks syscalls PATH N    like `fdset`, but the first loop makes only the system calls
 *                                  of an fdset open+close itself (dup, F_GETFL, lseek, close
 *                                  of a descriptor of PATH, as strace shows the shim making
 *                                  them): the floor under the shim
 *   bench_hooks paired KIND PATH N ns of KIND (open, close or stat as above) called as the
 *                                  program calls it, then called through libc's own symbol
 *                                  (dlsym in libc.so.6, which no preload can intercept), in
 *                                  alternating blocks of one process. Run with and without the
 *                                  preload: the first ratio over the second is the hook's cost,
 *                                  free of the +-10% that separate processes differ by here.
 *   bench_hooks fdset SET PATH N   ns of open+close of SET, then of PATH (interleaved), then 1
 *   bench_hooks many-sets SETS SET PATH N
 *                                  adds SETS sets of 4 members over the control socket
 *                                  (FDSET_CONTROL_FD, a socketpair end this program made and
 *                                  re-executed itself with), then measures like `fdset`;
 *                                  third figure: the number of sets (fewer when the hard
 *                                  RLIMIT_NOFILE does not allow SETS*4 descriptors)
 *   bench_hooks qmp SETS - PATH N  after adding the sets like many-sets: the number of sets,
 *                                  ms of query-fdsets (median of 9), add-fd+remove-fd round
 *                                  trips per second over N round trips
 *   bench_hooks dups D SET N       ns of open+close of SET with D dups of it held open, then
 *                                  with 1, in alternating blocks (N in all); third the D used
 *                                  (fewer when the hard RLIMIT_NOFILE does not allow D)
 *   bench_hooks closefrom D SET R  R rounds of: open D dups of SET, then time closefrom(3);
 *                                  then R rounds the same with close_range(3, ~0U, 0): ns per
 *                                  dup of each (medians), and the D used
 *   bench_hooks threads T N SETS   T threads, thread i on the i-th CPU (modulo) opening and
 *                                  closing /dev/fdset/(1 + i % SETS); in alternating blocks
 *                                  thread 0 alone and all T, N open+close in all for each:
 *                                  CPU ns of the whole process per open+close with T threads,
 *                                  then with 1; wall ns per open+close with T, then with 1
 *   bench_hooks threads-syscalls T N PATH
 *                                  the same with the system calls of an fdset open+close
 *                                  alone, each thread on its own descriptor of PATH
 */
// build-flags: -ldl
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this thread: on a shared machine, time spent descheduled
 * would otherwise swamp a 2% difference (the QMP helper thread is left out
 * too). */
static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "bench_hooks: %s: %s\n", what, strerror(errno));
    exit(1);
}

static void open_close(const char *path, long n) {
    for (long i = 0; i < n; i++) {
        int fd = open(path, O_RDONLY);
        if (fd < 0) die(path);
        if (close(fd) != 0) die("close");
    }
}

static void openat_close(const char *path, long n) {
    for (long i = 0; i < n; i++) {
        int fd = openat(AT_FDCWD, path, O_RDONLY);
        if (fd < 0) die(path);
        if (close(fd) != 0) die("close");
    }
}

/* The calls a `paired` loop makes: the program's or libc's own. */
struct calls {
    int (*open)(const char *, int, ...);
    int (*close)(int);
    int (*stat)(const char *, struct stat *);
};

/* One timed loop: what it runs, and on what. */
struct job {
    void (*run)(const struct job *, long n);
    const char *path;          /* opened or stat'ed */
    int fd;                    /* duplicated */
    const struct calls *calls; /* paired: whose open/close/stat */
    char kind;                 /* paired: 'o'pen+close, 'c'lose of a dup, 's'tat */
};

/* ns per iteration of two loops timed in alternating blocks of one process,
 * so that a slow phase of the machine hits both alike. */
static void alternate(const struct job *a, const struct job *b, long n, double ns[2]) {
    double t_a = 0, t_b = 0;
    long block = n / 20 > 0 ? n / 20 : 1;
    for (long done = 0; done < n; done += block) {
        double t0 = now_ns();
        a->run(a, block);
        double t1 = now_ns();
        b->run(b, block);
        double t2 = now_ns();
        t_a += t1 - t0;
        t_b += t2 - t1;
    }
    long total = ((n + block - 1) / block) * block;
    ns[0] = t_a / (double)total;
    ns[1] = t_b / (double)total;
}

static void open_close_job(const struct job *j, long n) { open_close(j->path, n); }

/* Both figures of `fdset`. */
static void fdset_vs_path(const char *set, const char *path, long n, long sets) {
    struct job a = {.run = open_close_job, .path = set}, b = {.run = open_close_job, .path = path};
    double ns[2];
    alternate(&a, &b, n, ns);
    printf("%.2f %.2f %ld\n", ns[0], ns[1], sets);
}

/* The system calls an fdset open+close of a regular file makes, with
 * nothing around them. */
static void syscalls_job(const struct job *j, long n) {
    for (long i = 0; i < n; i++) {
        int fd = dup(j->fd);
        if (fd < 0) die("dup");
        if (fcntl(fd, F_GETFL) < 0) die("F_GETFL");
        if (lseek(fd, 0, SEEK_SET) != 0) die("lseek");
        if (close(fd) != 0) die("close");
    }
}

static void syscalls_vs_path(const char *path, long n) {
    int member = open(path, O_RDONLY);
    if (member < 0) die(path);
    struct job a = {.run = syscalls_job, .fd = member}, b = {.run = open_close_job, .path = path};
    double ns[2];
    alternate(&a, &b, n, ns);
    printf("%.2f %.2f\n", ns[0], ns[1]);
}

/* ---- paired: the program's call against libc's own, in one process ---- */

/* The functions a call in this program reaches (the shim's when preloaded). */
static struct calls program_calls(void) {
    struct calls c = {open, close, stat};
    return c;
}

/* libc's own: looked up in libc.so.6 itself, so past any preload. */
static struct calls libc_calls(void) {
    void *h = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    if (!h) {
        fprintf(stderr, "bench_hooks: dlopen libc.so.6: %s\n", dlerror());
        exit(1);
    }
    struct calls c;
    *(void **)&c.open = dlsym(h, "open");
    *(void **)&c.close = dlsym(h, "close");
    *(void **)&c.stat = dlsym(h, "stat");
    if (!c.open || !c.close || !c.stat) {
        fprintf(stderr, "bench_hooks: dlsym in libc.so.6: %s\n", dlerror());
        exit(1);
    }
    return c;
}

static void paired_job(const struct job *j, long n) {
    const struct calls *c = j->calls;
    struct stat st;
    for (long i = 0; i < n; i++) {
        if (j->kind == 'o') {
            int fd = c->open(j->path, O_RDONLY);
            if (fd < 0) die(j->path);
            if (c->close(fd) != 0) die("close");
        } else if (j->kind == 'c') {
            if (c->close(dup(j->fd)) != 0) die("close");
        } else if (c->stat(j->path, &st) != 0) {
            die(j->path);
        }
    }
}

static int paired(const char *kind, const char *path, long n) {
    if (strcmp(kind, "open") && strcmp(kind, "close") && strcmp(kind, "stat")) {
        fprintf(stderr, "bench_hooks: paired: unknown kind %s\n", kind);
        return 2;
    }
    struct calls prog = program_calls(), own = libc_calls();
    int base = open(path, O_RDONLY);
    if (base < 0) die(path);
    struct job a = {.run = paired_job, .path = path, .fd = base, .calls = &prog, .kind = kind[0]};
    struct job b = a;
    b.calls = &own;
    double ns[2];
    alternate(&a, &b, n, ns);
    printf("%.2f %.2f\n", ns[0], ns[1]);
    return 0;
}

/* ---- a minimal QMP client for many-sets: one reply line per command ---- */

static char reply[1 << 16];
static char inbuf[1 << 16];
static size_t in_start, in_end;

/* One reply line into `reply` (cut to its size; query-fdsets at 10,000 sets
 * is longer, and only its end matters here). */
static void read_line(int sock) {
    size_t len = 0;
    for (;;) {
        if (in_start == in_end) {
            ssize_t r = read(sock, inbuf, sizeof inbuf);
            if (r <= 0) die("read QMP reply");
            in_start = 0;
            in_end = (size_t)r;
        }
        char c = inbuf[in_start++];
        if (c == '\n') break;
        if (len + 1 < sizeof reply) reply[len++] = c;
    }
    reply[len] = 0;
}

static void command(int sock, const char *json, int fd) {
    struct msghdr msg;
    struct iovec iov = {(void *)json, strlen(json)};
    char ctl[CMSG_SPACE(sizeof(int))];
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        memset(ctl, 0, sizeof ctl);
        msg.msg_control = ctl;
        msg.msg_controllen = sizeof ctl;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    if (sendmsg(sock, &msg, 0) != (ssize_t)iov.iov_len) die("sendmsg");
    do read_line(sock); while (strstr(reply, "\"event\""));
    if (!strstr(reply, "\"return\"")) {
        fprintf(stderr, "bench_hooks: %s -> %s\n", json, reply);
        exit(1);
    }
}

/* QMP figures at `sets` sets: median ms of query-fdsets, then add-fd +
 * remove-fd round trips per second. */
static double wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void qmp_figures(int sock, int file, long rounds) {
    double q[9];
    for (int i = 0; i < 9; i++) {
        double t0 = wall_ns();
        command(sock, "{\"execute\":\"query-fdsets\"}", -1);
        q[i] = (wall_ns() - t0) / 1e6;
    }
    for (int i = 1; i < 9; i++)
        for (int j = i; j > 0 && q[j] < q[j - 1]; j--) { double t = q[j]; q[j] = q[j - 1]; q[j - 1] = t; }
    char json[160];
    double t0 = wall_ns();
    for (long i = 0; i < rounds; i++) {
        command(sock, "{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":2147483647}}", file);
        const char *f = strstr(reply, "\"fd\":");
        if (!f) { fprintf(stderr, "bench_hooks: add-fd -> %s\n", reply); exit(1); }
        snprintf(json, sizeof json, "{\"execute\":\"remove-fd\",\"arguments\":{\"fdset-id\":2147483647,\"fd\":%d}}",
                 atoi(f + 5));
        command(sock, json, -1);
    }
    printf("%.3f %.0f\n", q[4], (double)rounds / ((wall_ns() - t0) / 1e9));
}

static int many_sets(char **argv) {
    long sets = atol(argv[2]);
    const char *env = getenv("BENCH_HOOKS_PEER");
    if (!env) {
        /* First pass: make the control socket and start again with the shim
         * serving one end of it. */
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) die("socketpair");
        char a[16], b[16];
        snprintf(a, sizeof a, "%d", sv[0]);
        snprintf(b, sizeof b, "%d", sv[1]);
        setenv("FDSET_CONTROL_FD", a, 1);
        setenv("BENCH_HOOKS_PEER", b, 1);
        execv("/proc/self/exe", argv);
        die("execv");
    }
    int sock = atoi(env);
    /* As many of the sets asked for as the hard limit allows (raising it
     * needs CAP_SYS_RESOURCE); the number used is printed third. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
    rlim_t want = (rlim_t)sets * 4 + 1024;
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
        if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
        if ((rlim_t)sets * 4 + 1024 > rl.rlim_max) sets = ((long)rl.rlim_max - 1024) / 4;
    }
    read_line(sock); /* greeting */
    command(sock, "{\"execute\":\"qmp_capabilities\"}", -1);
    int file = open(argv[4], O_RDONLY);
    if (file < 0) die(argv[4]);
    char json[128];
    for (long s = 0; s < sets; s++)
        for (int m = 0; m < 4; m++) {
            snprintf(json, sizeof json, "{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":%ld}}", s);
            command(sock, json, file);
        }
    if (!strcmp(argv[1], "qmp")) {
        printf("%ld ", sets);
        qmp_figures(sock, file, atol(argv[5]));
        return 0;
    }
    close(file);
    fdset_vs_path(argv[3], argv[4], atol(argv[5]), sets);
    return 0;
}

/* ---- dups: the cost of an open+close does not grow with the open dups ---- */

/* Raise the soft RLIMIT_NOFILE to hold `want` more descriptors (as far as the
 * hard limit allows); returns how many of them fit. */
static long room_for(long want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
    rlim_t need = (rlim_t)want + 256;
    if (need > rl.rlim_max) need = rl.rlim_max;
    if (need > rl.rlim_cur) {
        rl.rlim_cur = need;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
    }
    return (long)need - 256 < want ? (long)need - 256 : want;
}

static int *hold_dups(const char *set, long d) {
    int *fds = malloc(sizeof(int) * (size_t)(d > 0 ? d : 1));
    if (!fds) die("malloc");
    for (long i = 0; i < d; i++) {
        fds[i] = open(set, O_RDONLY);
        if (fds[i] < 0) die(set);
    }
    return fds;
}

/* ns per open+close of SET with D dups of it held open, then with 1, in
 * alternating blocks of one process (the other D - 1 opened and closed
 * between blocks, untimed). */
static int dups_bench(char **argv) {
    const char *set = argv[3];
    long d = room_for(atol(argv[2]));
    if (d < 1) d = 1;
    long n = atol(argv[4]);
    long block = n / 20 > 0 ? n / 20 : 1;
    int *fds = hold_dups(set, 1);
    int *more = malloc(sizeof(int) * (size_t)d);
    if (!more) die("malloc");
    double t_many = 0, t_one = 0;
    long done_many = 0, done_one = 0;
    for (int b = 0; b < 20; b++) {
        int many = b % 2 == 0;
        if (many)
            for (long i = 1; i < d; i++) {
                more[i] = open(set, O_RDONLY);
                if (more[i] < 0) die(set);
            }
        double t0 = now_ns();
        open_close(set, block);
        double t = now_ns() - t0;
        if (many) {
            t_many += t;
            done_many += block;
            for (long i = 1; i < d; i++)
                if (close(more[i]) != 0) die("close");
        } else {
            t_one += t;
            done_one += block;
        }
    }
    if (close(fds[0]) != 0) die("close");
    free(fds);
    free(more);
    printf("%.2f %.2f %ld\n", t_many / (double)done_many, t_one / (double)done_one, d);
    return 0;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* closefrom / close_range over D dups: ns per dup, median of R rounds each. */
static int closefrom_bench(char **argv) {
    long d = room_for(atol(argv[2]));
    long rounds = atol(argv[4]);
    if (rounds < 1) rounds = 1;
    double *t = malloc(sizeof(double) * (size_t)rounds * 2);
    if (!t) die("malloc");
    for (int how = 0; how < 2; how++) {
        for (long r = 0; r < rounds; r++) {
            free(hold_dups(argv[3], d));
            double t0 = now_ns();
            if (how == 0)
                closefrom(3);
            else if (close_range(3, ~0U, 0) != 0)
                die("close_range");
            t[how * rounds + r] = (now_ns() - t0) / (double)d;
            /* Every dup is gone: the next open gets the lowest number again. */
            int probe = open(argv[3], O_RDONLY);
            if (probe != 3) {
                fprintf(stderr, "bench_hooks: after closing, an open got fd %d, not 3\n", probe);
                return 1;
            }
            close(probe);
        }
        qsort(t + how * rounds, (size_t)rounds, sizeof(double), cmp_double);
    }
    printf("%.2f %.2f %ld\n", t[rounds / 2], t[rounds + rounds / 2], d);
    free(t);
    return 0;
}

/* ---- threads: CPU per open+close with 1 thread against many ---- */

/* Blocks of `threads`: even ones thread 0 alone, odd ones every thread,
 * each block the same number of operations in all; the other threads wait
 * at a barrier (asleep, no CPU). */
#define THREAD_BLOCKS 20

struct worker {
    pthread_t id;
    char path[64];
    int fd; /* threads-syscalls: this thread's descriptor */
    long index;
};

static pthread_barrier_t go, finished;
static long block_ops, thread_count;
static int all_threads; /* the current block's kind, set before `go` */
static int syscalls_only;

/* Thread i runs on the i-th allowed CPU (modulo their number), so that the
 * threads contend from every CPU even while the machine is busy elsewhere
 * (the scheduler would otherwise often keep them on one). */
static void spread(long i) {
    cpu_set_t allowed, one;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) die("sched_getaffinity");
    int n = CPU_COUNT(&allowed);
    if (n < 2) return;
    long want = i % n;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed)) continue;
        if (want-- == 0) {
            CPU_ZERO(&one);
            CPU_SET(cpu, &one);
            if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0) die("setaffinity");
            return;
        }
    }
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    spread(w->index);
    for (int b = 0; b < THREAD_BLOCKS; b++) {
        pthread_barrier_wait(&go);
        long n = all_threads ? block_ops / thread_count : (w->index == 0 ? block_ops : 0);
        if (syscalls_only) {
            struct job j = {.fd = w->fd};
            syscalls_job(&j, n);
        } else {
            open_close(w->path, n);
        }
        pthread_barrier_wait(&finished);
    }
    return NULL;
}

static double process_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int threads_bench(char **argv, int only_syscalls) {
    long threads = atol(argv[2]), n = atol(argv[3]);
    if (threads < 1 || threads > 64) return 2;
    syscalls_only = only_syscalls;
    thread_count = threads;
    block_ops = n / (THREAD_BLOCKS / 2);
    block_ops -= block_ops % threads;
    if (block_ops < threads) block_ops = threads;
    struct worker w[64];
    if (pthread_barrier_init(&go, NULL, (unsigned)threads + 1) != 0) die("barrier");
    if (pthread_barrier_init(&finished, NULL, (unsigned)threads + 1) != 0) die("barrier");
    for (long i = 0; i < threads; i++) {
        w[i].fd = -1;
        w[i].index = i;
        if (syscalls_only) {
            w[i].fd = open(argv[4], O_RDONLY);
            if (w[i].fd < 0) die(argv[4]);
        } else {
            snprintf(w[i].path, sizeof w[i].path, "/dev/fdset/%ld", 1 + i % atol(argv[4]));
        }
        if (pthread_create(&w[i].id, NULL, worker_main, &w[i]) != 0) die("pthread_create");
    }
    double cpu[2] = {0, 0}, wall[2] = {0, 0};
    for (int b = 0; b < THREAD_BLOCKS; b++) {
        all_threads = b % 2;
        double c0 = process_cpu_ns(), t0 = wall_ns();
        pthread_barrier_wait(&go);
        pthread_barrier_wait(&finished);
        cpu[all_threads] += process_cpu_ns() - c0;
        wall[all_threads] += wall_ns() - t0;
    }
    for (long i = 0; i < threads; i++) pthread_join(w[i].id, NULL);
    double ops = (double)block_ops * (THREAD_BLOCKS / 2);
    printf("%.2f %.2f %.2f %.2f\n", cpu[1] / ops, cpu[0] / ops, wall[1] / ops, wall[0] / ops);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    const char *mode = argv[1];
    if ((!strcmp(mode, "many-sets") || !strcmp(mode, "qmp")) && argc == 6) return many_sets(argv);
    if (!strcmp(mode, "syscalls") && argc == 4) {
        syscalls_vs_path(argv[2], atol(argv[3]));
        return 0;
    }
    if (!strcmp(mode, "paired") && argc == 5) return paired(argv[2], argv[3], atol(argv[4]));
    if (!strcmp(mode, "dups") && argc == 5) return dups_bench(argv);
    if (!strcmp(mode, "closefrom") && argc == 5) return closefrom_bench(argv);
    if (!strcmp(mode, "threads") && argc == 5) return threads_bench(argv, 0);
    if (!strcmp(mode, "threads-syscalls") && argc == 5) return threads_bench(argv, 1);
    if (!strcmp(mode, "fdset") && argc == 5) {
        fdset_vs_path(argv[2], argv[3], atol(argv[4]), 1);
        return 0;
    }
    if (argc != 4) {
        fprintf(stderr, "usage: see the comment at the top of bench_hooks.c\n");
        return 2;
    }
    const char *path = argv[2];
    long n = atol(argv[3]);
    double t0 = now_ns();
    if (!strcmp(mode, "open")) {
        open_close(path, n);
    } else if (!strcmp(mode, "openat")) {
        openat_close(path, n);
    } else if (!strcmp(mode, "close")) {
        int base = open(path, O_RDONLY);
        if (base < 0) die(path);
        t0 = now_ns();
        for (long i = 0; i < n; i++)
            if (close(dup(base)) != 0) die("close");
    } else if (!strcmp(mode, "stat")) {
        struct stat st;
        for (long i = 0; i < n; i++)
            if (stat(path, &st) != 0) die(path);
    } else if (!strcmp(mode, "access")) {
        for (long i = 0; i < n; i++)
            if (access(path, R_OK) != 0) die(path);
    } else {
        fprintf(stderr, "bench_hooks: unknown mode %s\n", mode);
        return 2;
    }
    printf("%.2f\n", (now_ns() - t0) / (double)n);
    return 0;
}
