/* spec section 7, fork: the child sees the sets as they were at the fork
 * (its copies of the members and dups) and can open them; nothing it does
 * changes the parent's sets.
 * usage: fork_isolation PATH  (PATH names a set with one O_RDONLY member) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *what) {
    fprintf(stderr, "fork_isolation: %s: %s\n", what, strerror(errno));
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 2) return 2;
    const char *path = argv[1];
    int dup_fd = open(path, O_RDONLY);
    if (dup_fd < 0) return fail("open before fork");
    pid_t pid = fork();
    if (pid < 0) return fail("fork");
    if (pid == 0) {
        /* the child's copy of the dup works, closing it is a dup close */
        char c;
        if (pread(dup_fd, &c, 1, 0) != 1) _exit(10);
        if (close(dup_fd) != 0) _exit(11);
        /* opens of its own work, twice */
        for (int i = 0; i < 2; i++) {
            int fd = open(path, O_RDONLY);
            if (fd < 0) _exit(12);
            if (close(fd) != 0) _exit(13);
        }
        /* it cannot close the members either */
        for (int fd = 3; fd < 1024; fd++) close(fd);
        int fd = open(path, O_RDONLY);
        if (fd < 0) _exit(14);
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid) return fail("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "fork_isolation: child exit %d\n", WEXITSTATUS(st));
        return 1;
    }
    /* the parent's dup is still recorded and open */
    char buf[64];
    ssize_t n = pread(dup_fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return fail("parent pread");
    buf[n] = 0;
    if (close(dup_fd) != 0) return fail("parent close of its dup");
    if (close(dup_fd) == 0 || errno != EBADF) return fail("second close is not EBADF");
    int fd = open(path, O_RDONLY);
    if (fd < 0) return fail("parent open after child");
    close(fd);
    printf("ok %s", buf);
    return 0;
}
