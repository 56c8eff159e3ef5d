/* The floor of the seccomp-mode benchmark (benches/seccomp.rs): the least
 * a user-notification supervisor can do per call, for comparison with
 * fdset-run's. One thread installs a filter that notifies `openat` (and
 * `close` unless MODE is "open") and loops over open+close of PATH as
 * c-tests/bench_seccomp.c does; the main thread is the supervisor: a
 * blocked SECCOMP_IOCTL_NOTIF_RECV, the path read with process_vm_readv
 * (for openat), and SECCOMP_USER_NOTIF_FLAG_CONTINUE, with
 * SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP set when the kernel has it.
 *   bench_seccomp_floor PATH BLOCKS OPS both|open
 * prints each block's nanoseconds per open+close. */
// build-flags: -static
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

static const char *path;
static int blocks, ops, listener = -1, notify_close;
static sem_t ready;

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *caller(void *unused) {
    (void)unused;
    unsigned close_nr = notify_close ? SYS_close : SYS_openat;
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, close_nr, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
    };
    struct sock_fprog prog = {sizeof f / sizeof f[0], f};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    /* Only this thread runs under the filter (no TSYNC). */
    listener = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    if (listener < 0) { perror("seccomp"); _exit(1); }
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, 1UL); /* a hint: may fail */
    sem_post(&ready);
    for (int i = 0; i < ops; i++) close(open(path, O_RDONLY));
    for (int b = 0; b < blocks; b++) {
        double t0 = now_ns();
        for (int i = 0; i < ops; i++) close(open(path, O_RDONLY));
        printf("%.1f\n", (now_ns() - t0) / ops);
    }
    fflush(stdout);
    _exit(0);
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    path = argv[1];
    blocks = atoi(argv[2]);
    ops = atoi(argv[3]);
    notify_close = strcmp(argv[4], "open") != 0;
    sem_init(&ready, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, caller, NULL);
    sem_wait(&ready);
    struct seccomp_notif req;
    struct seccomp_notif_resp resp;
    char buf[256];
    pid_t self = getpid();
    for (;;) {
        memset(&req, 0, sizeof req);
        if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) continue;
        if (req.data.nr == SYS_openat) {
            struct iovec local = {buf, sizeof buf};
            struct iovec remote = {(void *)req.data.args[1], sizeof buf};
            process_vm_readv(self, &local, 1, &remote, 1, 0);
        }
        memset(&resp, 0, sizeof resp);
        resp.id = req.id;
        resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
        ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
    }
}
