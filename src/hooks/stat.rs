//! The stat and access family: a set path is answered from its members
//! (spec section 8).

use super::guarded;
use crate::libc_real;
use libc::{c_char, c_int, c_uint};
use std::ffi::CStr;

/// # Safety
/// `path` is non-null and NUL-terminated (fdset_path matched it).
unsafe fn path_bytes<'a>(path: *const c_char) -> &'a [u8] {
    // SAFETY: as documented.
    unsafe { CStr::from_ptr(path) }.to_bytes()
}

macro_rules! stat_hook {
    ($name:ident, $real:path) => {
        /// An fdset path answers with `fstat` of the set's newest member.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, buf: *mut libc::stat) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { crate::ops::set_path::fdset_path(path) } {
                None => unsafe { $real(path, buf) },
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    crate::ops::stat::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
        }
    };
}

macro_rules! fstatat_hook {
    ($name:ident, $real:path) => {
        /// An absolute fdset path ignores `dirfd` and `flags`.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            dirfd: c_int,
            path: *const c_char,
            buf: *mut libc::stat,
            flags: c_int,
        ) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { crate::ops::set_path::fdset_path(path) } {
                None => unsafe { $real(dirfd, path, buf, flags) },
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    crate::ops::stat::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
        }
    };
}

/// glibc's `_STAT_VER` values whose buffer is the kernel's `struct stat`
/// (`_STAT_VER_KERNEL` 0, `_STAT_VER_LINUX` 1); glibc rejects others.
fn stat_version_ok(ver: c_int) -> bool {
    ver == 0 || ver == 1
}

macro_rules! xstat_hook {
    ($name:ident, $real:path) => {
        /// glibc before 2.33 compiled `stat()` into a call to this.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            ver: c_int,
            path: *const c_char,
            buf: *mut libc::stat,
        ) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { crate::ops::set_path::fdset_path(path) } {
                None => unsafe { $real(ver, path, buf) },
                Some(_) if !stat_version_ok(ver) => {
                    libc_real::set_errno(libc::EINVAL);
                    -1
                }
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    crate::ops::stat::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
        }
    };
}

macro_rules! fxstatat_hook {
    ($name:ident, $real:path) => {
        /// glibc before 2.33 compiled `fstatat()` into a call to this.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(
            ver: c_int,
            dirfd: c_int,
            path: *const c_char,
            buf: *mut libc::stat,
            flags: c_int,
        ) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { crate::ops::set_path::fdset_path(path) } {
                None => unsafe { $real(ver, dirfd, path, buf, flags) },
                Some(_) if !stat_version_ok(ver) => {
                    libc_real::set_errno(libc::EINVAL);
                    -1
                }
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || unsafe {
                    crate::ops::stat::stat_set(stringify!($name), path_bytes(path), n, buf)
                }),
            }
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

/// `statx` (coreutils' `stat` and `ls`): the member's own statx.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn statx(
    dirfd: c_int,
    path: *const c_char,
    flags: c_int,
    mask: c_uint,
    buf: *mut libc::statx,
) -> c_int {
    // SAFETY: path comes from the caller.
    match unsafe { crate::ops::set_path::fdset_path(path) } {
        None => unsafe { libc_real::statx(dirfd, path, flags, mask, buf) },
        // SAFETY: fdset_path only matches NUL-terminated paths.
        Some(n) => guarded(-1, || unsafe {
            crate::ops::stat::statx_set(path_bytes(path), n, flags, mask, buf)
        }),
    }
}

macro_rules! access_hook {
    ($name:ident, $real:path, $effective:expr) => {
        /// `R_OK`/`W_OK` by the modes the set serves, `X_OK` by the file's mode.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn $name(path: *const c_char, mode: c_int) -> c_int {
            // SAFETY: path comes from the caller.
            match unsafe { crate::ops::set_path::fdset_path(path) } {
                None => unsafe { $real(path, mode) },
                // SAFETY: fdset_path only matches NUL-terminated paths.
                Some(n) => guarded(-1, || {
                    crate::ops::stat::access_set(
                        stringify!($name),
                        unsafe { path_bytes(path) },
                        n,
                        mode,
                        $effective,
                    )
                }),
            }
        }
    };
}

access_hook!(access, libc_real::access, false);
access_hook!(euidaccess, libc_real::euidaccess, true);
access_hook!(eaccess, libc_real::eaccess, true);

/// `faccessat`: `AT_EACCESS` checks with the effective ids.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn faccessat(
    dirfd: c_int,
    path: *const c_char,
    mode: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: path comes from the caller.
    match unsafe { crate::ops::set_path::fdset_path(path) } {
        None => unsafe { libc_real::faccessat(dirfd, path, mode, flags) },
        // SAFETY: fdset_path only matches NUL-terminated paths.
        Some(n) => guarded(-1, || {
            let effective = flags & libc::AT_EACCESS != 0;
            crate::ops::stat::access_set(
                "faccessat",
                unsafe { path_bytes(path) },
                n,
                mode,
                effective,
            )
        }),
    }
}
