/* Spec section 7, "Nothing of this leaks to a program started without the
 * shim ... This holds in a multi-threaded process too". Each mode runs
 * under the preloaded shim with set 1 (content "set one").
 *
 *   exec_race spawn GEN GENS CHECKER LOG
 *     Each generation, thread B keeps starting CHECKER (fd_leak_check LOG)
 *     without the shim: posix_spawn, fork+execve and vfork+execve with an
 *     environment that does not preload it, and system/popen through
 *     `env -u LD_PRELOAD`; meanwhile thread A, after a random pause, execs
 *     this program again in place (which carries the sets, making the
 *     members inheritable for that exec). CHECKER appends what it inherited
 *     to LOG. After GENS generations: "ok GEN CHILDREN".
 *
 *   exec_race double GEN GENS CHECKER LOG FDS
 *     Each generation, two threads exec this program in place at the same
 *     moment (one wins). Every generation checks that it holds exactly FDS
 *     descriptors (the count of generation 0) and no stray "fdset-state"
 *     memfd; the last one starts CHECKER without the shim. "ok GEN".
 *
 *   exec_race failexec ITERS CHECKER LOG NOTEXEC
 *     Like spawn (two spawning threads), but thread A's execs fail: ITERS
 *     times execve of NOTEXEC
 *     (a file without execute permission; the state is carried, so the
 *     members are made inheritable, then the exec fails with EACCES).
 *     Every failed exec must leave everything close-on-exec again before
 *     thread B's next program starts. "ok ITERS".
 *
 *   exec_race exec METHOD TARGET LOG
 *     Start TARGET LOG with the sets in reach, by METHOD: execve, execvp,
 *     posix_spawn, posix_spawnp (TARGET a name found in PATH for the p
 *     variants), and wait for it. Prints "ok STATUS" for the spawns.
 *
 *   exec_race actions KIND SETFILE CHILD
 *     posix_spawn CHILD /dev/fdset/1 (a preloaded reader) with file actions
 *     that put another file at the number of set 1's member (KIND: dup2 of
 *     a pipe holding "PIPE", or open of SETFILE.other); prints what the
 *     child printed, then "status N".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FAIL(...)                                                                  \
    do {                                                                           \
        fprintf(stderr, "exec_race: " __VA_ARGS__);                               \
        fprintf(stderr, " (errno %d: %s)\n", errno, strerror(errno));              \
        exit(1);                                                                   \
    } while (0)

static char *self_path;
static const char *checker, *logfile;
static atomic_int stop;
static atomic_long children;

/* This program's environment without LD_PRELOAD. */
static char **clean_env(void) {
    size_t n = 0;
    while (environ[n]) n++;
    char **env = calloc(n + 1, sizeof *env);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11)) env[k++] = environ[i];
    env[k] = NULL;
    return env;
}

static void reap(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
}

static void *spawner(void *arg) {
    char **env = arg;
    char *argv[] = {(char *)checker, (char *)logfile, NULL};
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "exec env -u LD_PRELOAD %s %s", checker, logfile);
    for (long i = 0; !atomic_load(&stop); i++) {
        pid_t pid = -1;
        switch (i % 5) {
        case 0:
            if (posix_spawn(&pid, checker, NULL, NULL, argv, env) != 0) pid = -1;
            break;
        case 1:
            pid = fork();
            if (pid == 0) {
                execve(checker, argv, env);
                _exit(127);
            }
            break;
        case 2:
            pid = vfork();
            if (pid == 0) {
                execve(checker, argv, env);
                _exit(127);
            }
            break;
        case 3:
            if (system(cmd) < 0) FAIL("system");
            break;
        case 4: {
            /* "e": without it the stream's pipe is inheritable (as glibc
             * makes it), and the other spawner's children would get this
             * program's own pipe, which is not what is checked here. */
            FILE *p = popen(cmd, "re");
            if (!p) FAIL("popen");
            pclose(p);
            break;
        }
        }
        if (pid > 0) reap(pid);
        atomic_fetch_add(&children, 1);
    }
    return NULL;
}

static void exec_next(const char *mode, int gen, int gens, const char *extra) {
    char g[16], n[16];
    snprintf(g, sizeof g, "%d", gen + 1);
    snprintf(n, sizeof n, "%d", gens);
    char *argv[] = {self_path, (char *)mode, g, n, (char *)checker, (char *)logfile,
                    (char *)extra, NULL};
    execve(self_path, argv, environ);
    FAIL("execve self");
}

static int count_fds(int *stray_state) {
    DIR *d = opendir("/proc/self/fd");
    if (!d) FAIL("opendir");
    int n = 0;
    *stray_state = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d)) continue;
        char link[64], target[96] = {0};
        snprintf(link, sizeof link, "/proc/self/fd/%d", atoi(e->d_name));
        if (readlink(link, target, sizeof target - 1) > 0 && strstr(target, "fdset-state"))
            (*stray_state)++;
        n++;
    }
    closedir(d);
    return n;
}

static void wait_all_children(void) {
    while (wait(NULL) > 0 || errno == EINTR) {}
}

static int run_checker_clean(char **env) {
    char *argv[] = {(char *)checker, (char *)logfile, NULL};
    pid_t pid;
    if (posix_spawn(&pid, checker, NULL, NULL, argv, env) != 0) FAIL("posix_spawn checker");
    int st;
    if (waitpid(pid, &st, 0) != pid) FAIL("waitpid");
    return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static void mode_spawn(int gen, int gens) {
    char **env = clean_env();
    if (gen >= gens) {
        wait_all_children();
        printf("ok %d\n", gen);
        return;
    }
    pthread_t b;
    if (pthread_create(&b, NULL, spawner, env)) FAIL("pthread_create");
    struct timespec t = {0, (long)(rand_r(&(unsigned){(unsigned)(gen * 7919 + getpid())}) % 3000) * 1000};
    nanosleep(&t, NULL);
    /* At least one program started in each generation, however loaded the
     * machine (so that the test always meets the exec with some). */
    while (atomic_load(&children) == 0) usleep(100);
    /* Children started so far in this generation go with the exec. */
    exec_next("spawn", gen, gens, NULL);
}

static void mode_failexec(int iters, const char *notexec) {
    pthread_t b, b2;
    if (pthread_create(&b, NULL, spawner, clean_env())) FAIL("pthread_create");
    if (pthread_create(&b2, NULL, spawner, clean_env())) FAIL("pthread_create");
    char *argv[] = {(char *)notexec, NULL};
    for (int i = 0; i < iters; i++) {
        execve(notexec, argv, environ);
        if (errno != EACCES) FAIL("execve %s", notexec);
        /* In bursts of 20, then a pause: two threads start programs all
         * along, so some of its starts meet the bursts, and the pauses let
         * it have its turns while the exec gate keeps it out of a burst. */
        if (i % 20 == 19) usleep(2000);
    }
    atomic_store(&stop, 1);
    pthread_join(b, NULL);
    pthread_join(b2, NULL);
    wait_all_children();
    printf("ok %d\n", iters);
}

static pthread_barrier_t both;
static int double_gen, double_gens;
static const char *double_fds;

static void *execer(void *arg) {
    (void)arg;
    pthread_barrier_wait(&both);
    exec_next("double", double_gen, double_gens, double_fds);
    return NULL;
}

static void mode_double(int gen, int gens, const char *fds_text) {
    int stray;
    int fds = count_fds(&stray);
    char own[16];
    if (!fds_text || !*fds_text) {
        snprintf(own, sizeof own, "%d", fds);
        fds_text = own;
    }
    if (stray) FAIL("generation %d holds %d fdset-state memfd(s)", gen, stray);
    if (fds != atoi(fds_text)) FAIL("generation %d holds %d descriptors, generation 0 had %s", gen, fds, fds_text);
    if (gen >= gens) {
        if (!run_checker_clean(clean_env())) FAIL("a program started without the shim got something");
        printf("ok %d\n", gen);
        return;
    }
    double_gen = gen;
    double_gens = gens;
    double_fds = fds_text;
    pthread_barrier_init(&both, NULL, 2);
    pthread_t a, b;
    if (pthread_create(&a, NULL, execer, NULL) || pthread_create(&b, NULL, execer, NULL))
        FAIL("pthread_create");
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    FAIL("both execs returned");
}

static void mode_exec(const char *method, const char *target, const char *log) {
    char *argv[] = {(char *)target, (char *)log, NULL};
    pid_t pid;
    int r;
    if (!strcmp(method, "execve")) {
        execve(target, argv, environ);
        FAIL("execve %s", target);
    } else if (!strcmp(method, "execvp")) {
        execvp(target, argv);
        FAIL("execvp %s", target);
    } else if (!strcmp(method, "posix_spawn")) {
        r = posix_spawn(&pid, target, NULL, NULL, argv, environ);
    } else if (!strcmp(method, "posix_spawnp")) {
        r = posix_spawnp(&pid, target, NULL, NULL, argv, environ);
    } else {
        fprintf(stderr, "exec_race: unknown method %s\n", method);
        exit(2);
    }
    if (r != 0) {
        errno = r;
        FAIL("%s %s", method, target);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) FAIL("waitpid");
    printf("ok %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
}

/* The number of set 1's member: the descriptor at or above 100 on SETFILE. */
static int member_of(const char *setfile) {
    struct stat want, st;
    if (stat(setfile, &want)) FAIL("stat %s", setfile);
    for (int fd = 100; fd < 1024; fd++)
        if (fstat(fd, &st) == 0 && st.st_dev == want.st_dev && st.st_ino == want.st_ino) return fd;
    FAIL("no member of set 1 found");
}

static void mode_actions(const char *kind, const char *setfile, const char *child) {
    int member = member_of(setfile);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int target = member;
    if (!strcmp(kind, "dup2")) {
        int p[2];
        if (pipe(p)) FAIL("pipe");
        if (write(p[1], "PIPE", 4) != 4) FAIL("write");
        close(p[1]);
        posix_spawn_file_actions_adddup2(&fa, p[0], target);
    } else if (!strcmp(kind, "open")) {
        char other[4096];
        snprintf(other, sizeof other, "%s.other", setfile);
        posix_spawn_file_actions_addopen(&fa, target, other, O_RDONLY, 0);
    } else {
        fprintf(stderr, "exec_race: unknown kind %s\n", kind);
        exit(2);
    }
    int out[2];
    if (pipe(out)) FAIL("pipe");
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    char *argv[] = {(char *)child, "/dev/fdset/1", NULL};
    pid_t pid;
    int r = posix_spawn(&pid, child, &fa, NULL, argv, environ);
    if (r) {
        errno = r;
        FAIL("posix_spawn");
    }
    close(out[1]);
    char buf[256];
    ssize_t n;
    while ((n = read(out[0], buf, sizeof buf)) > 0) fwrite(buf, 1, (size_t)n, stdout);
    int st;
    if (waitpid(pid, &st, 0) != pid) FAIL("waitpid");
    printf("status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    posix_spawn_file_actions_destroy(&fa);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    self_path = argv[0];
    if (argc >= 6 && !strcmp(argv[1], "spawn")) {
        checker = argv[4];
        logfile = argv[5];
        mode_spawn(atoi(argv[2]), atoi(argv[3]));
    } else if (argc >= 6 && !strcmp(argv[1], "double")) {
        checker = argv[4];
        logfile = argv[5];
        mode_double(atoi(argv[2]), atoi(argv[3]), argc > 6 ? argv[6] : NULL);
    } else if (argc == 6 && !strcmp(argv[1], "failexec")) {
        checker = argv[3];
        logfile = argv[4];
        mode_failexec(atoi(argv[2]), argv[5]);
    } else if (argc == 5 && !strcmp(argv[1], "exec")) {
        mode_exec(argv[2], argv[3], argv[4]);
    } else if (argc == 5 && !strcmp(argv[1], "actions")) {
        mode_actions(argv[2], argv[3], argv[4]);
    } else {
        fprintf(stderr, "usage: see c-tests/exec_race.c\n");
        return 2;
    }
    return 0;
}
