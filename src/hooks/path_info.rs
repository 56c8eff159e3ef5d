//! `readlink`, `realpath`, `truncate`, the `utime` family,
//! `statfs`/`statvfs` and `chdir` on set paths (spec section 8, and
//! `chdir`, which a program with a directory member expects to work).

use crate::libc_real;
use crate::ops::path_info::*;
use crate::ops::prefix_dir::{readlink_dir, realpath_dir};
use libc::{c_char, c_int};

macro_rules! readlink_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// A set path is no symbolic link: `EINVAL` (`ENOENT` for a missing set).
            fn $name(path: *const c_char, buf: *mut c_char, size: usize) -> isize;
            path: path; real: $real; fail: -1;
            dir: readlink_dir();
            set |set, text| readlink_set(stringify!($name), text(), set)
        }
    };
}
readlink_hook!(readlink, libc_real::readlink);

look_hook! {
    /// As `readlink`; an absolute set path ignores `dirfd`.
    fn readlinkat(dirfd: c_int, path: *const c_char, buf: *mut c_char, size: usize) -> isize;
    path: path; real: libc_real::readlinkat; fail: -1;
    dir: readlink_dir();
    set |set, text| readlink_set("readlinkat", text(), set)
}

look_hook! {
    /// `_FORTIFY_SOURCE` variant of readlink.
    fn __readlink_chk(path: *const c_char, buf: *mut c_char, size: usize, buflen: usize) -> isize;
    path: path; real: libc_real::readlink_chk; fail: -1;
    dir: readlink_dir();
    set |set, text| readlink_set("__readlink_chk", text(), set)
}

look_hook! {
    /// `_FORTIFY_SOURCE` variant of readlinkat.
    fn __readlinkat_chk(dirfd: c_int, path: *const c_char, buf: *mut c_char, size: usize, buflen: usize) -> isize;
    path: path; real: libc_real::readlinkat_chk; fail: -1;
    dir: readlink_dir();
    set |set, text| readlink_set("__readlinkat_chk", text(), set)
}

look_hook! {
    /// The path itself: a set path has no other name.
    fn realpath(path: *const c_char, resolved: *mut c_char) -> *mut c_char;
    path: path; real: libc_real::realpath; fail: std::ptr::null_mut();
    // SAFETY: resolved is NULL or the caller's PATH_MAX buffer, as for libc.
    dir: unsafe { realpath_dir(path, resolved) };
    // SAFETY: as above.
    set |set, text| unsafe { realpath_set("realpath", text(), set, resolved) }
}

look_hook! {
    /// `_FORTIFY_SOURCE` variant of realpath: glibc's size check first.
    fn __realpath_chk(path: *const c_char, resolved: *mut c_char, resolvedlen: usize) -> *mut c_char;
    path: path; real: libc_real::realpath_chk; fail: std::ptr::null_mut();
    // SAFETY: as for realpath; libc's own call checked resolvedlen.
    dir: unsafe { realpath_dir(path, resolved) };
    // SAFETY: resolved is valid for resolvedlen bytes, which is checked.
    set |set, text| unsafe { realpath_chk_set(text(), set, resolved, resolvedlen) }
}

look_hook! {
    /// `realpath(path, NULL)`.
    fn canonicalize_file_name(path: *const c_char) -> *mut c_char;
    path: path; real: libc_real::canonicalize_file_name; fail: std::ptr::null_mut();
    // SAFETY: a NULL buffer: the answer is allocated.
    dir: unsafe { realpath_dir(path, std::ptr::null_mut()) };
    // SAFETY: as above.
    set |set, text| unsafe { realpath_set("canonicalize_file_name", text(), set, std::ptr::null_mut()) }
}

look_hook! {
    /// `ftruncate` through the newest member that can write; else `EACCES`.
    fn truncate(path: *const c_char, length: libc::off_t) -> c_int;
    path: path; real: libc_real::truncate; fail: -1;
    set |set, text| truncate_set("truncate", text(), set, length)
}

look_hook! {
    /// As `truncate` (the same call on 64-bit systems).
    fn truncate64(path: *const c_char, length: libc::off64_t) -> c_int;
    path: path; real: libc_real::truncate64; fail: -1;
    set |set, text| truncate_set("truncate64", text(), set, length)
}

look_hook! {
    /// `futimens` through the newest member (`touch`).
    fn utimensat(dirfd: c_int, path: *const c_char, times: *const libc::timespec, flags: c_int) -> c_int;
    path: path; real: libc_real::utimensat; fail: -1;
    // SAFETY: times is the caller's, as for libc's call.
    set |set, text| unsafe { utimensat_set("utimensat", text(), set, times, flags) }
}

macro_rules! utimes_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// `futimes` through the newest member.
            fn $name(path: *const c_char, times: *const libc::timeval) -> c_int;
            path: path; real: $real; fail: -1;
            // SAFETY: times is the caller's, as for libc's call.
            set |set, text| unsafe { utimes_set(stringify!($name), text(), set, times) }
        }
    };
}
utimes_hook!(utimes, libc_real::utimes);
utimes_hook!(lutimes, libc_real::lutimes);

look_hook! {
    /// `futimes` through the newest member; an absolute set path ignores `dirfd`.
    fn futimesat(dirfd: c_int, path: *const c_char, times: *const libc::timeval) -> c_int;
    path: path; real: libc_real::futimesat; fail: -1;
    // SAFETY: times is the caller's, as for libc's call.
    set |set, text| unsafe { utimes_set("futimesat", text(), set, times) }
}

look_hook! {
    /// Whole seconds through the newest member.
    fn utime(path: *const c_char, times: *const libc::utimbuf) -> c_int;
    path: path; real: libc_real::utime; fail: -1;
    // SAFETY: times is the caller's, as for libc's call.
    set |set, text| unsafe { utime_set(text(), set, times) }
}

macro_rules! statfs_hook {
    ($name:ident, $real:path, $buf:ty, $f:path) => {
        look_hook! {
            /// The `f` form through the set's newest member.
            fn $name(path: *const c_char, buf: *mut $buf) -> c_int;
            path: path; real: $real; fail: -1;
            // SAFETY: buf is the caller's buffer, as for libc's call.
            set |set, text| statfs_set(stringify!($name), text(), set, |fd| unsafe { $f(fd, buf) })
        }
    };
}
statfs_hook!(statfs, libc_real::statfs, libc::statfs, libc::fstatfs);
statfs_hook!(
    statfs64,
    libc_real::statfs64,
    libc::statfs64,
    libc::fstatfs64
);
statfs_hook!(statvfs, libc_real::statvfs, libc::statvfs, libc::fstatvfs);
statfs_hook!(
    statvfs64,
    libc_real::statvfs64,
    libc::statvfs64,
    libc::fstatvfs64
);

look_hook! {
    /// `fchmod` through the newest member (`chmod`, Python's
    /// `shutil.copymode`, `install -m`).
    fn chmod(path: *const c_char, mode: libc::mode_t) -> c_int;
    path: path; real: libc_real::chmod; fail: -1;
    set |set, text| chmod_set("chmod", text(), set, mode, 0)
}

look_hook! {
    /// As `chmod`; an absolute set path ignores `dirfd`.
    fn fchmodat(dirfd: c_int, path: *const c_char, mode: libc::mode_t, flags: c_int) -> c_int;
    path: path; real: libc_real::fchmodat; fail: -1;
    set |set, text| chmod_set("fchmodat", text(), set, mode, flags)
}

macro_rules! chown_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// `fchown` through the newest member.
            fn $name(path: *const c_char, uid: libc::uid_t, gid: libc::gid_t) -> c_int;
            path: path; real: $real; fail: -1;
            set |set, text| chown_set(stringify!($name), text(), set, uid, gid, 0)
        }
    };
}

chown_hook!(chown, libc_real::chown);
chown_hook!(lchown, libc_real::lchown);

look_hook! {
    /// As `chown`; an absolute set path ignores `dirfd`.
    fn fchownat(dirfd: c_int, path: *const c_char, uid: libc::uid_t, gid: libc::gid_t, flags: c_int) -> c_int;
    path: path; real: libc_real::fchownat; fail: -1;
    set |set, text| chown_set("fchownat", text(), set, uid, gid, flags)
}

look_hook! {
    /// `fchdir` to the newest member: `cd /dev/fdset/N` into a directory member.
    fn chdir(path: *const c_char) -> c_int;
    path: path; real: libc_real::chdir; fail: -1;
    set |set, text| chdir_set(text(), set)
}
