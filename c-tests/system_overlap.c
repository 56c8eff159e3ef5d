/* system() as glibc runs it, when two overlap: SIGINT and SIGQUIT are
 * ignored while either runs, and once both have ended the program's own
 * SIGINT handler is back (the second to start, which ends last here, must
 * not save the first's ignoring and put it back last). The second command
 * prints its SigIgn mask.
 * Prints "SIGINT after: handler" (or "SIG_IGN"/"default"). */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void on_int(int sig) { (void)sig; }

static void *second(void *arg) {
    (void)arg;
    usleep(100 * 1000);
    if (system("grep SigIgn /proc/self/status; sleep 0.3") < 0) perror("system");
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGINT, on_int);
    pthread_t t;
    pthread_create(&t, NULL, second, NULL);
    if (system("sleep 0.2") < 0) perror("system");
    pthread_join(t, NULL);
    struct sigaction now;
    sigaction(SIGINT, NULL, &now);
    printf("SIGINT after: %s\n", now.sa_handler == on_int    ? "handler"
                                 : now.sa_handler == SIG_IGN ? "SIG_IGN"
                                                             : "default");
    return 0;
}
