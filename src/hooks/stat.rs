//! The stat and access family: a set path is answered from its members
//! (spec section 8); the prefix directories, when none is on disk, as a
//! read-only directory; other names under a prefix do not exist.

use crate::libc_real;
use crate::ops::prefix_dir::{access_dir, stat_dir, statx_dir, xstat_dir};
use crate::ops::stat::{access_set, stat_set, statx_set};
use fdset_core::look_flags::{LookCall, kernel_refuses};
use fdset_core::paths::SetNumber;
use libc::{c_char, c_int, c_uint};

macro_rules! stat_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// An fdset path answers with `fstat` of the set's newest member.
            fn $name(path: *const c_char, buf: *mut libc::stat) -> c_int;
            path: path; real: $real; fail: -1;
            // SAFETY: buf is the caller's stat buffer, as for libc's stat.
            dir: unsafe { stat_dir(path, buf) };
            // SAFETY: as above.
            set |n, text| unsafe { stat_set(stringify!($name), text(), Ok(n), buf) }
        }
    };
}

macro_rules! fstatat_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// An absolute fdset path ignores `dirfd`; its flags are checked
            /// as the kernel checks them.
            fn $name(dirfd: c_int, path: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int;
            path: path; real: $real; fail: -1;
            // SAFETY: buf is the caller's stat buffer, as for libc's fstatat.
            dir: unsafe { stat_dir(path, buf) };
            refuse: kernel_refuses(LookCall::Fstatat, flags);
            // SAFETY: as above.
            set |n, text| unsafe { stat_set(stringify!($name), text(), Ok(n), buf) }
        }
    };
}

/// glibc's `_STAT_VER` values whose buffer is the kernel's `struct stat`
/// (`_STAT_VER_KERNEL` 0, `_STAT_VER_LINUX` 1); glibc rejects others.
///
/// # Safety
/// `buf` is the caller's stat buffer.
unsafe fn xstat_set(
    call: &str,
    ver: c_int,
    path: &[u8],
    n: SetNumber,
    buf: *mut libc::stat,
) -> c_int {
    if ver != 0 && ver != 1 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    // SAFETY: as the caller promised.
    unsafe { stat_set(call, path, n, buf) }
}

macro_rules! xstat_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// glibc before 2.33 compiled `stat()` into a call to this.
            fn $name(ver: c_int, path: *const c_char, buf: *mut libc::stat) -> c_int;
            path: path; real: $real; fail: -1;
            // SAFETY: buf is the caller's stat buffer.
            dir: unsafe { xstat_dir(ver, path, buf) };
            // SAFETY: as above.
            set |n, text| unsafe { xstat_set(stringify!($name), ver, text(), Ok(n), buf) }
        }
    };
}

macro_rules! fxstatat_hook {
    ($name:ident, $real:path) => {
        look_hook! {
            /// glibc before 2.33 compiled `fstatat()` into a call to this.
            fn $name(ver: c_int, dirfd: c_int, path: *const c_char, buf: *mut libc::stat, flags: c_int) -> c_int;
            path: path; real: $real; fail: -1;
            // SAFETY: buf is the caller's stat buffer.
            dir: unsafe { xstat_dir(ver, path, buf) };
            refuse: kernel_refuses(LookCall::Fstatat, flags);
            // SAFETY: as above.
            set |n, text| unsafe { xstat_set(stringify!($name), ver, text(), Ok(n), buf) }
        }
    };
}

stat_hook!(stat, libc_real::stat);
stat_hook!(stat64, libc_real::stat64);
stat_hook!(lstat, libc_real::lstat);
stat_hook!(lstat64, libc_real::lstat64);
fstatat_hook!(fstatat, libc_real::fstatat);
fstatat_hook!(fstatat64, libc_real::fstatat64);
xstat_hook!(__xstat, libc_real::xstat);
xstat_hook!(__xstat64, libc_real::xstat64);
xstat_hook!(__lxstat, libc_real::lxstat);
xstat_hook!(__lxstat64, libc_real::lxstat64);
fxstatat_hook!(__fxstatat, libc_real::fxstatat);
fxstatat_hook!(__fxstatat64, libc_real::fxstatat64);

look_hook! {
    /// `statx` (coreutils' `stat` and `ls`): the member's own statx.
    fn statx(dirfd: c_int, path: *const c_char, flags: c_int, mask: c_uint, buf: *mut libc::statx) -> c_int;
    path: path; real: libc_real::statx; fail: -1;
    // SAFETY: buf is the caller's statx buffer.
    dir: unsafe { statx_dir(path, buf) };
    refuse: kernel_refuses(LookCall::Statx, flags);
    // SAFETY: as above.
    set |n, text| unsafe { statx_set(text(), Ok(n), flags, mask, buf) }
}

macro_rules! access_hook {
    ($name:ident, $real:path, $effective:expr) => {
        look_hook! {
            /// `R_OK`/`W_OK` by the modes the set serves, `X_OK` as the kernel
            /// answers for the member's file.
            fn $name(path: *const c_char, mode: c_int) -> c_int;
            path: path; real: $real; fail: -1;
            dir: access_dir(mode_as_asked(mode, $effective));
            set |n, text| access_set(stringify!($name), text(), Ok(n), mode_as_asked(mode, $effective), $effective)
        }
    };
}

/// glibc's `euidaccess` and `eaccess` look the file up and then drop mode
/// bits beyond `R_OK|W_OK|X_OK` (its emulation with `stat`); `access` and
/// `faccessat` hand them to the kernel, which says `EINVAL`.
fn mode_as_asked(mode: c_int, effective: bool) -> c_int {
    if effective {
        mode & (libc::R_OK | libc::W_OK | libc::X_OK)
    } else {
        mode
    }
}

access_hook!(access, libc_real::access, false);
access_hook!(euidaccess, libc_real::euidaccess, true);
access_hook!(eaccess, libc_real::eaccess, true);

look_hook! {
    /// `faccessat`: `AT_EACCESS` checks with the effective ids.
    fn faccessat(dirfd: c_int, path: *const c_char, mode: c_int, flags: c_int) -> c_int;
    path: path; real: libc_real::faccessat; fail: -1;
    dir: access_dir(mode);
    refuse: kernel_refuses(LookCall::Faccessat2, flags);
    set |n, text| access_set("faccessat", text(), Ok(n), mode, flags & libc::AT_EACCESS != 0)
}
