/* A legacy launcher: starts `cat PATH` through the libc path named by argv[1]
 * (spec section 7: exec in the same process, or from a forked child through
 * every function that starts a program), then, for the forked paths, checks
 * that its own sets still work by reading PATH itself afterwards.
 *
 * usage: exec_paths METHOD PATH
 * Output: what cat prints, then "parent: <bytes read by the parent>". A
 * start that succeeds must leave errno as it was (exit 93 otherwise). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void die(const char *what) {
    fprintf(stderr, "exec_paths: %s: %s\n", what, strerror(errno));
    exit(99);
}

static void wait_ok(pid_t pid) {
    int st;
    if (waitpid(pid, &st, 0) != pid) die("waitpid");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "exec_paths: child failed (status %d)\n", st);
        exit(98);
    }
}

/* Spec section 6: a call that succeeds leaves errno as it was. */
#define ERRNO_MARK 1234
static void errno_kept(const char *how) {
    if (errno != ERRNO_MARK) {
        fprintf(stderr, "exec_paths: %s succeeded but changed errno to %d\n", how, errno);
        exit(93);
    }
}

static void exec_cat(const char *how, const char *path) {
    char *argv[] = {"cat", (char *)path, NULL};
    if (!strcmp(how, "execve")) execve("/bin/cat", argv, environ);
    else if (!strcmp(how, "execv")) execv("/bin/cat", argv);
    else if (!strcmp(how, "execvp")) execvp("cat", argv);
    else if (!strcmp(how, "execvpe")) execvpe("cat", argv, environ);
    else if (!strcmp(how, "execl")) execl("/bin/cat", "cat", path, (char *)NULL);
    else if (!strcmp(how, "execle")) execle("/bin/cat", "cat", path, (char *)NULL, environ);
    else if (!strcmp(how, "execlp")) execlp("cat", "cat", path, (char *)NULL);
    else if (!strcmp(how, "execl_many"))
        /* more arguments than registers: the list continues on the stack */
        execl("/bin/cat", "cat", "/dev/null", "/dev/null", "/dev/null", "/dev/null", "/dev/null",
              "/dev/null", path, (char *)NULL);
    else if (!strcmp(how, "fexecve")) {
        int fd = open("/bin/cat", O_RDONLY | O_CLOEXEC);
        if (fd < 0) die("open /bin/cat");
        fexecve(fd, argv, environ);
    } else if (!strcmp(how, "execveat")) {
        int dir = open("/bin", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) die("open /bin");
        execveat(dir, "cat", argv, environ, 0);
    } else {
        fprintf(stderr, "exec_paths: unknown exec %s\n", how);
        exit(97);
    }
    die(how);
}

static void parent_reads(const char *path) {
    fflush(stdout);
    int fd = open(path, O_RDONLY);
    if (fd < 0) die("parent open");
    char buf[256];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    if (n < 0) die("parent read");
    buf[n] = 0;
    if (close(fd) != 0) die("parent close");
    printf("parent: %s", buf);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: exec_paths METHOD PATH\n");
        return 2;
    }
    const char *how = argv[1], *path = argv[2];
    char *cat_argv[] = {"cat", (char *)path, NULL};
    pid_t pid;
    int r;

    if (!strncmp(how, "inplace-", 8)) {
        fflush(stdout);
        exec_cat(how + 8, path); /* no fork: the new image is this process */
    } else if (!strncmp(how, "fork-", 5)) {
        fflush(stdout);
        errno = ERRNO_MARK;
        pid = fork();
        if (pid < 0) die("fork");
        if (pid == 0) exec_cat(how + 5, path);
        errno_kept("fork");
        wait_ok(pid);
    } else if (!strcmp(how, "vfork")) {
        fflush(stdout);
        errno = ERRNO_MARK;
        pid = vfork();
        if (pid < 0) die("vfork");
        if (pid == 0) {
            execv("/bin/cat", cat_argv);
            _exit(96);
        }
        /* The child ran on this memory until its exec succeeded. */
        errno_kept("vfork and the child's execv");
        wait_ok(pid);
    } else if (!strcmp(how, "clone")) {
        /* a raw fork that runs no atfork handler, as sandboxes do */
        fflush(stdout);
        pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        if (pid < 0) die("clone");
        if (pid == 0) {
            execv("/bin/cat", cat_argv);
            _exit(96);
        }
        wait_ok(pid);
    } else if (!strcmp(how, "posix_spawn") || !strcmp(how, "posix_spawnp")) {
        fflush(stdout);
        errno = ERRNO_MARK;
        if (!strcmp(how, "posix_spawn"))
            r = posix_spawn(&pid, "/bin/cat", NULL, NULL, cat_argv, environ);
        else
            r = posix_spawnp(&pid, "cat", NULL, NULL, cat_argv, environ);
        if (r != 0) { errno = r; die(how); }
        /* glibc's posix_spawnp leaves the errno of its PATH search (its
         * child runs on this memory), with or without the shim. */
        if (!strcmp(how, "posix_spawn")) errno_kept(how);
        wait_ok(pid);
    } else if (!strcmp(how, "posix_spawn_actions")) {
        /* the caller's own file actions are kept and left as they were */
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 5, "/dev/null", O_RDONLY, 0);
        fflush(stdout);
        r = posix_spawn(&pid, "/bin/cat", &fa, NULL, cat_argv, environ);
        if (r != 0) { errno = r; die(how); }
        wait_ok(pid);
        r = posix_spawn(&pid, "/bin/cat", &fa, NULL, cat_argv, environ);
        if (r != 0) { errno = r; die("second posix_spawn"); }
        wait_ok(pid);
        posix_spawn_file_actions_destroy(&fa);
    } else if (!strcmp(how, "posix_spawn_closing_a_dup")) {
        /* the caller's actions close one of its own dups of the set in the
         * child: the child still gets the sets (only that dup is not its) */
        int dup = open(path, O_RDONLY);
        if (dup < 0) die("open");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addclose(&fa, dup);
        fflush(stdout);
        r = posix_spawn(&pid, "/bin/cat", &fa, NULL, cat_argv, environ);
        if (r != 0) { errno = r; die(how); }
        wait_ok(pid);
        posix_spawn_file_actions_destroy(&fa);
        close(dup);
    } else if (!strcmp(how, "system")) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "cat '%s'", path);
        fflush(stdout);
        errno = ERRNO_MARK;
        r = system(cmd);
        if (r != 0) { fprintf(stderr, "system: %d\n", r); return 95; }
        errno_kept(how);
    } else if (!strcmp(how, "popen")) {
        char cmd[512], buf[256];
        snprintf(cmd, sizeof cmd, "cat '%s'", path);
        errno = ERRNO_MARK;
        FILE *p = popen(cmd, "r");
        if (!p) die("popen");
        errno_kept(how);
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, p)) > 0) fwrite(buf, 1, n, stdout);
        r = pclose(p);
        if (r != 0) { fprintf(stderr, "pclose: %d\n", r); return 94; }
    } else {
        fprintf(stderr, "exec_paths: unknown method %s\n", how);
        return 2;
    }
    parent_reads(path);
    return 0;
}
