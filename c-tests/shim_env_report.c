/* Spec sections 4 and 5: a program that proves its main ran, says
 * which FDSET_ variables it sees, then runs `env` as a child, whose output
 * shows what a program it starts would see. The child gets this program's
 * environment without LD_PRELOAD: a preloaded shim in it would hide a leak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(void) {
    printf("main ran\n");
    const char *names[] = {"FDSET_ADD_FD", "FDSET_PREFIX", "FDSET_ALIAS"};
    for (unsigned i = 0; i < sizeof names / sizeof *names; i++)
        if (getenv(names[i])) printf("main sees %s=%s\n", names[i], getenv(names[i]));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        char *env[512];
        int n = 0;
        for (char **e = environ; *e && n < 511; e++)
            if (strncmp(*e, "LD_PRELOAD=", 11)) env[n++] = *e;
        env[n] = NULL;
        execle("/usr/bin/env", "env", (char *)NULL, env);
        _exit(127);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "env failed\n");
        return 1;
    }
    return 0;
}
