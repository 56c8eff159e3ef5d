/* A legacy program that only knows paths: reads the file named on its
 * command line with open()/read() and copies it to stdout. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: smoke_read PATH\n"); return 2; }
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror("open"); return 1; }
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        if (write(1, buf, (size_t)n) != n) return 1;
    if (n < 0) { perror("read"); return 1; }
    if (close(fd) != 0) { perror("close"); return 1; }
    return 0;
}
