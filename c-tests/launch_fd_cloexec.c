/* Spec section 4, "fd is not valid or already in use (not open, or already
 * close-on-exec)": a program whose FDSET_ADD_FD names a descriptor that it
 * opened itself, close-on-exec, before the shim's constructor ran (here
 * from the executable's .preinit_array, which runs first) is stopped before
 * main with QEMU's text. main prints "main ran" if it is reached.
 *
 *   launch_fd_cloexec      (FDSET_ADD_FD=fd=9,set=1 in the environment) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void early(int argc, char **argv, char **envp) {
    (void)argc;
    (void)argv;
    (void)envp;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || dup3(fd, 9, O_CLOEXEC) != 9) {
        perror("launch_fd_cloexec: early open");
        _exit(90);
    }
    close(fd);
}

__attribute__((section(".preinit_array"), used)) static void (*const run_early)(int, char **, char **) = early;

int main(void) {
    printf("main ran\n");
    return 0;
}
