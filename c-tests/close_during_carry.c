/* Spec section 7, "the new program image sees the same sets, the same
 * recorded dups": a thread that closes its dups of set 1 while another
 * thread execs or spawns (which carries them) must not leave the new
 * program with a state naming a closed descriptor. Run under the preloaded
 * shim with set 1.
 *
 *   close_during_carry exec GEN GENS
 *     A thread opens and closes /dev/fdset/1 (inheritable dups) and an
 *     ordinary file (which may take a just-closed number) in a loop; after
 *     a random pause of up to 1 ms the main thread execs this program again
 *     in place, GENS times. The last generation prints "ok GEN".
 *
 *   close_during_carry spawn N
 *     The same thread; the main thread starts /bin/true N times, in turn by
 *     posix_spawn, system and popen (each carries the sets), and counts
 *     the children that did not exit 0: "ok N" when none, else
 *     "failed posix_spawn P system S popen O".
 */
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static void *open_and_close(void *arg) {
    (void)arg;
    for (;;) {
        int fd = open("/dev/fdset/1", O_RDONLY);
        if (fd >= 0) close(fd);
        int other = open("/dev/null", O_RDONLY);
        if (other >= 0) close(other);
    }
    return NULL;
}

static void start_closer(void) {
    pthread_t t;
    pthread_create(&t, NULL, open_and_close, NULL);
}

static int mode_exec(const char *self, int gen, int gens) {
    if (gen >= gens) {
        printf("ok %d\n", gen);
        return 0;
    }
    start_closer();
    srand((unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)gen);
    usleep((useconds_t)(rand() % 1000));
    char next[16], last[16];
    snprintf(next, sizeof next, "%d", gen + 1);
    snprintf(last, sizeof last, "%d", gens);
    char *av[] = {(char *)self, "exec", next, last, NULL};
    execve(self, av, environ);
    perror("execve");
    return 1;
}

static int exited_zero(int status) { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }

static int mode_spawn(int n) {
    start_closer();
    int bad[3] = {0, 0, 0};
    char *av[] = {"/bin/true", NULL};
    for (int i = 0; i < n; i++) {
        int how = i % 3, status = -1;
        if (how == 0) {
            pid_t p;
            if (posix_spawn(&p, "/bin/true", NULL, NULL, av, environ) == 0) waitpid(p, &status, 0);
        } else if (how == 1) {
            status = system("/bin/true");
        } else {
            FILE *f = popen("/bin/true", "r");
            if (f) status = pclose(f);
        }
        if (!exited_zero(status)) bad[how]++;
    }
    if (bad[0] + bad[1] + bad[2] == 0) printf("ok %d\n", n);
    else printf("failed posix_spawn %d system %d popen %d\n", bad[0], bad[1], bad[2]);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc == 4 && !strcmp(argv[1], "exec")) return mode_exec(argv[0], atoi(argv[2]), atoi(argv[3]));
    if (argc == 3 && !strcmp(argv[1], "spawn")) return mode_spawn(atoi(argv[2]));
    fprintf(stderr, "usage: see c-tests/close_during_carry.c\n");
    return 2;
}
