/* seccomp_step.c linked dynamically against glibc: under `fdset-run
 * --seccomp` its libc calls and its raw syscall(SYS_openat, ...) are both
 * served from outside (no shim is preloaded). */
#include "seccomp_step.c"
