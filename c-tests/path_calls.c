/* The calls around an open on one path (spec section 8 and section 2
 * "Open" item 7), for tests/path_calls.rs: each mode prints one line per
 * call, "NAME ok DETAILS" or "NAME err ERRNO", so that the answers for a
 * set path can be compared with those for the member's own file.
 *
 *   path_calls look PATH             xattrs, readlink, realpath, statfs/statvfs
 *   path_calls truncate PATH LEN     truncate, then truncate64 to LEN
 *   path_calls times PATH SEC        each utime-family call sets atime and
 *                                    mtime to SEC + k (k = 1.. in call order),
 *                                    then stat says what the file has
 *   path_calls opath PATH            O_PATH and O_DIRECTORY opens
 *   path_calls owner PATH            chmod, fchmodat, chown, lchown, fchownat
 *                                    (and bad flags), each followed by what
 *                                    stat says of the mode and the owner
 *   path_calls full PATH             the process at its descriptor limit
 *                                    (every number taken): stat, access,
 *                                    statx, then `look`
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <utime.h>

static void err_line(const char *name) { printf("%s err %s\n", name, strerrorname_np(errno)); }

static void xattr_get(const char *name, ssize_t (*f)(const char *, const char *, void *, size_t),
                      const char *p) {
    char buf[256];
    errno = 0;
    ssize_t n = f(p, "user.fdset", buf, sizeof buf);
    if (n < 0) return err_line(name);
    printf("%s ok %zd %.*s\n", name, n, (int)n, buf);
}

static void xattr_list(const char *name, ssize_t (*f)(const char *, char *, size_t), const char *p) {
    char buf[4096];
    ssize_t need = f(p, NULL, 0); /* the size query */
    if (need < 0) return err_line(name);
    ssize_t n = f(p, buf, sizeof buf);
    if (n < 0) return err_line(name);
    /* user.* names only: security.* labels differ between file systems. */
    printf("%s ok size-query=%s", name, need == n ? "same" : "differs");
    for (ssize_t i = 0; i < n; i += (ssize_t)strlen(buf + i) + 1)
        if (!strncmp(buf + i, "user.", 5)) printf(" %s", buf + i);
    printf("\n");
}

static void look(const char *p) {
    xattr_get("getxattr", getxattr, p);
    xattr_get("lgetxattr", lgetxattr, p);
    {
        errno = 0;
        ssize_t n = getxattr(p, "user.fdset-none", NULL, 0);
        if (n < 0) err_line("getxattr-missing");
        else printf("getxattr-missing ok %zd\n", n);
    }
    xattr_list("listxattr", listxattr, p);
    xattr_list("llistxattr", llistxattr, p);

    char buf[PATH_MAX];
    if (readlink(p, buf, sizeof buf) < 0) err_line("readlink");
    else printf("readlink ok\n");
    if (readlinkat(AT_FDCWD, p, buf, sizeof buf) < 0) err_line("readlinkat");
    else printf("readlinkat ok\n");

    char *r = realpath(p, buf);
    if (!r) err_line("realpath-buf");
    else printf("realpath-buf ok %s\n", r);
    r = realpath(p, NULL);
    if (!r) err_line("realpath-null");
    else printf("realpath-null ok %s\n", r), free(r);
    r = canonicalize_file_name(p);
    if (!r) err_line("canonicalize_file_name");
    else printf("canonicalize_file_name ok %s\n", r), free(r);

    struct statfs sf;
    if (statfs(p, &sf) < 0) err_line("statfs");
    else printf("statfs ok type=%lx bsize=%ld blocks=%lu files=%lu namelen=%ld\n", (long)sf.f_type,
                (long)sf.f_bsize, (unsigned long)sf.f_blocks, (unsigned long)sf.f_files, (long)sf.f_namelen);
    struct statfs64 sf64;
    if (statfs64(p, &sf64) < 0) err_line("statfs64");
    else printf("statfs64 ok type=%lx bsize=%ld blocks=%lu\n", (long)sf64.f_type, (long)sf64.f_bsize,
                (unsigned long)sf64.f_blocks);
    struct statvfs sv;
    if (statvfs(p, &sv) < 0) err_line("statvfs");
    else printf("statvfs ok bsize=%lu frsize=%lu blocks=%lu files=%lu namemax=%lu fsid=%lx\n", sv.f_bsize,
                sv.f_frsize, (unsigned long)sv.f_blocks, (unsigned long)sv.f_files, sv.f_namemax, sv.f_fsid);
    struct statvfs64 sv64;
    if (statvfs64(p, &sv64) < 0) err_line("statvfs64");
    else printf("statvfs64 ok bsize=%lu blocks=%lu\n", sv64.f_bsize, (unsigned long)sv64.f_blocks);

    /* Success leaves errno alone. */
    errno = 1234;
    ssize_t n = listxattr(p, buf, sizeof buf);
    printf("errno-after-success %s %d\n", n >= 0 ? "ok" : "err", errno);
}

static void truncate_calls(const char *p, long len) {
    if (truncate(p, len / 2) < 0) err_line("truncate");
    else printf("truncate ok\n");
    if (truncate64(p, len) < 0) err_line("truncate64");
    else printf("truncate64 ok\n");
}

static void times_calls(const char *p, long sec) {
    int k = 0;
    struct timespec ts[2];
    struct timeval tv[2];
#define NEXT_TS() (k++, ts[0].tv_sec = ts[1].tv_sec = sec + k, ts[0].tv_nsec = ts[1].tv_nsec = 0, ts)
#define NEXT_TV() (k++, tv[0].tv_sec = tv[1].tv_sec = sec + k, tv[0].tv_usec = tv[1].tv_usec = 0, tv)
    struct stat st;
#define REPORT(name, call)                                                            \
    do {                                                                              \
        if ((call) < 0) err_line(name);                                               \
        else if (stat(p, &st) < 0) err_line(name);                                    \
        else printf("%s ok want=%ld atime=%ld mtime=%ld\n", name, sec + k, (long)st.st_atime, \
                    (long)st.st_mtime);                                               \
    } while (0)
    REPORT("utimensat", utimensat(AT_FDCWD, p, NEXT_TS(), 0));
    REPORT("utimensat-nofollow", utimensat(AT_FDCWD, p, NEXT_TS(), AT_SYMLINK_NOFOLLOW));
    REPORT("utimes", utimes(p, NEXT_TV()));
    REPORT("lutimes", lutimes(p, NEXT_TV()));
    REPORT("futimesat", futimesat(AT_FDCWD, p, NEXT_TV()));
    k++;
    struct utimbuf ub = {.actime = sec + k, .modtime = sec + k};
    REPORT("utime", utime(p, &ub));
    errno = 0;
    int r = utimensat(AT_FDCWD, p, NEXT_TS(), 0x4000 /* no such flag */);
    if (r < 0) err_line("utimensat-badflag");
    else printf("utimensat-badflag ok\n");
}

static void describe_fd(const char *name, int fd) {
    if (fd < 0) return err_line(name);
    struct stat st;
    fstat(fd, &st);
    int fl = fcntl(fd, F_GETFL);
    char c;
    errno = 0;
    ssize_t n = read(fd, &c, 1);
    const char *rd = n < 0 ? strerrorname_np(errno) : "ok";
    printf("%s ok fd=%d o_path=%d dir=%d ino=%lu cloexec=%d read=%s\n", name, fd, (fl & O_PATH) != 0,
           S_ISDIR(st.st_mode), (unsigned long)st.st_ino, (fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, rd);
    close(fd);
}

static void opath(const char *p) {
    describe_fd("o_path", open(p, O_PATH));
    describe_fd("o_path-cloexec", open(p, O_PATH | O_CLOEXEC));
    describe_fd("o_path-directory", open(p, O_PATH | O_DIRECTORY));
    describe_fd("o_directory", open(p, O_RDONLY | O_DIRECTORY));
    describe_fd("o_directory-wronly-trunc", open(p, O_WRONLY | O_TRUNC | O_DIRECTORY));
    describe_fd("openat-o_path", openat(AT_FDCWD, p, O_PATH));
    struct stat st;
    if (stat(p, &st) < 0) err_line("size-after");
    else printf("size-after ok %ld\n", (long)st.st_size);
}

/* Take every free descriptor number (RLIMIT_NOFILE lowered to 200 first),
 * then look at the path: no call of these may say EMFILE. */
static void full(const char *p) {
    struct rlimit rl = {200, 200};
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return err_line("setrlimit");
    int taken = 0;
    while (dup(0) >= 0) taken++;
    printf("full %s taken=%s\n", errno == EMFILE ? "ok" : "err", taken > 0 ? "some" : "none");
    struct stat st;
    if (stat(p, &st) < 0) err_line("full-stat");
    else printf("full-stat ok %ld\n", (long)st.st_size);
    if (access(p, R_OK) < 0) err_line("full-access");
    else printf("full-access ok\n");
    struct statx stx;
    if (statx(AT_FDCWD, p, 0, STATX_SIZE, &stx) < 0) err_line("full-statx");
    else printf("full-statx ok %lld\n", (long long)stx.stx_size);
    look(p);
}

static void owner_line(const char *name, int r, const char *p) {
    if (r < 0) {
        printf("%s err %s\n", name, strerrorname_np(errno));
        return;
    }
    struct stat st;
    if (stat(p, &st) < 0) printf("%s ok stat-err %s\n", name, strerrorname_np(errno));
    else printf("%s ok mode=%o uid=%u gid=%u\n", name, st.st_mode & 07777, st.st_uid, st.st_gid);
}

static void owner(const char *p) {
    owner_line("chmod", chmod(p, 0600), p);
    owner_line("fchmodat", fchmodat(AT_FDCWD, p, 0640, 0), p);
    owner_line("fchmodat-nofollow", fchmodat(AT_FDCWD, p, 0644, AT_SYMLINK_NOFOLLOW), p);
    owner_line("fchmodat-badflags", fchmodat(AT_FDCWD, p, 0600, 0x8000), p);
    owner_line("chown-unchanged", chown(p, (uid_t)-1, (gid_t)-1), p);
    owner_line("chown", chown(p, 65534, (gid_t)-1), p);
    owner_line("lchown", lchown(p, (uid_t)-1, 65534), p);
    owner_line("fchownat", fchownat(AT_FDCWD, p, 0, 0, AT_SYMLINK_NOFOLLOW), p);
    owner_line("fchownat-badflags", fchownat(AT_FDCWD, p, 0, 0, 0x8000), p);
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "look")) look(argv[2]);
    else if (argc == 3 && !strcmp(argv[1], "owner")) owner(argv[2]);
    else if (argc == 4 && !strcmp(argv[1], "truncate")) truncate_calls(argv[2], atol(argv[3]));
    else if (argc == 4 && !strcmp(argv[1], "times")) times_calls(argv[2], atol(argv[3]));
    else if (argc == 3 && !strcmp(argv[1], "opath")) opath(argv[2]);
    else if (argc == 3 && !strcmp(argv[1], "full")) full(argv[2]);
    else {
        fprintf(stderr, "usage: path_calls look|truncate|times|opath|owner|full PATH [N]\n");
        return 2;
    }
    return 0;
}
