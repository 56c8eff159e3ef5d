/* The floor under any QMP server's round trip on this machine: a helper
 * thread that polls an accepted connection and answers every message at
 * once with a fixed reply line (no parsing, no state), while the main
 * thread sleeps in read(0) as a served program's does. A message that
 * carries an fd is answered {"return": {"fdset-id": 0, "fd": N}} (N its
 * number here; it is closed), any other {"return": {}}. Used by `cargo bench --bench qmp_vs_qemu`.
 *   qmp_floor   (fd 3: a listening Unix socket; exits at EOF on stdin) */
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char GREETING[] = "{\"QMP\": {\"version\": {\"qemu\": {\"major\": 7, \"minor\": 2, \"micro\": 0}, \"package\": \"floor\"}, \"capabilities\": []}}\r\n";
static const char REPLY[] = "{\"return\": {}}\r\n";

static void serve(int c) {
    static char buf[65536];
    union {
        struct cmsghdr h;
        char b[CMSG_SPACE(253 * sizeof(int))];
    } ctl;
    if (send(c, GREETING, sizeof GREETING - 1, MSG_NOSIGNAL) < 0) return;
    for (;;) {
        struct pollfd p = {c, POLLIN, 0};
        if (poll(&p, 1, -1) < 0) continue;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = ctl.b;
        m.msg_controllen = sizeof ctl.b;
        ssize_t n = recvmsg(c, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n == 0) return;
        if (n < 0) continue;
        int got = -1;
        for (struct cmsghdr *h = CMSG_FIRSTHDR(&m); h; h = CMSG_NXTHDR(&m, h)) {
            if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
                int fds[253];
                size_t k = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                memcpy(fds, CMSG_DATA(h), k * sizeof(int));
                for (size_t i = 0; i < k; i++) {
                    if (got < 0) got = fds[i];
                    close(fds[i]);
                }
            }
        }
        char with_fd[64];
        const char *r = REPLY;
        size_t len = sizeof REPLY - 1;
        if (got >= 0) {
            len = (size_t)snprintf(with_fd, sizeof with_fd, "{\"return\": {\"fdset-id\": 0, \"fd\": %d}}\r\n", got);
            r = with_fd;
        }
        if (send(c, r, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) return;
    }
}

static void *helper(void *arg) {
    (void)arg;
    for (;;) {
        int c = accept(3, NULL, NULL);
        if (c >= 0) {
            serve(c);
            close(c);
        }
    }
    return NULL;
}

int main(void) {
    pthread_t t;
    char b[64];
    if (pthread_create(&t, NULL, helper, NULL) != 0) return 1;
    while (read(0, b, sizeof b) > 0) {
    }
    return 0;
}
