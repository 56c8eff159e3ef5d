/* A program started without the shim (or one that must get nothing of the
 * shim's): it reports, by appending lines to LOG, every descriptor it
 * inherited beyond 0, 1 and 2 and any FDSET_STATE in its environment, and
 * appends "clean" when there was none. Exit status 0 when clean, 1 when not.
 *
 *   fd_leak_check [ARGS...] LOG   (LOG last: run as a script's interpreter,
 *   the script's path comes first) */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: fd_leak_check [ARGS...] LOG\n"); return 2; }
    char lines[64][160];
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 3;
    struct dirent *e;
    while ((e = readdir(d)) && n < 60) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == dirfd(d)) continue;
        char link[64], target[96] = {0};
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        if (readlink(link, target, sizeof target - 1) < 0) strcpy(target, "?");
        snprintf(lines[n++], sizeof lines[0], "leak fd %d -> %s\n", fd, target);
    }
    closedir(d);
    const char *state = getenv("FDSET_STATE");
    if (state) snprintf(lines[n++], sizeof lines[0], "leak FDSET_STATE=%s\n", state);
    if (n == 0) snprintf(lines[n++], sizeof lines[0], "clean\n");
    int log = open(argv[argc - 1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    if (log < 0) return 4;
    for (int i = 0; i < n; i++)
        if (write(log, lines[i], strlen(lines[i])) < 0) return 5;
    close(log);
    return strcmp(lines[0], "clean\n") == 0 ? 0 : 1;
}
