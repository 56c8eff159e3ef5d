//! Paths a look hook matched that name no set (spec section 8): the prefix
//! directories themselves (`/dev/fdset`, each `FDSET_PREFIX`), answered as
//! a read-only directory (mode 0555, owned by the effective ids) when
//! nothing is on disk there, so that `realpath`-style walks over a set path
//! succeed; and names under a prefix that are no set number
//! (`/dev/fdset/2-journal`), which do not exist (`ENOENT`).

use crate::libc_real;
use crate::log::{log, log_enabled};
use crate::state::config;
use fdset_core::prefix_dir;
use libc::{c_char, c_int};

/// What a libc call's result says about failure.
pub trait CallResult: Copy {
    fn failed(&self) -> bool;
}
impl CallResult for c_int {
    fn failed(&self) -> bool {
        *self < 0
    }
}
impl CallResult for isize {
    fn failed(&self) -> bool {
        *self < 0
    }
}
impl CallResult for *mut c_char {
    fn failed(&self) -> bool {
        self.is_null()
    }
}

/// The slow path of a look hook for a path that matched with no set
/// number: a prefix directory gets `on_dir()`, anything else `ENOENT`
/// (returned as `fail`).
pub fn not_a_set<R>(call: &str, path: &[u8], on_dir: impl FnOnce() -> R, fail: R) -> R {
    if config().paths.is_prefix_dir(path) {
        return on_dir();
    }
    if log_enabled() {
        let name = path.rsplit(|&b| b == b'/').next().unwrap_or(b"");
        log(&format!(
            "{call} {}: ENOENT: '{}' is not a set number (0..2147483647), so nothing by that name exists",
            String::from_utf8_lossy(path),
            String::from_utf8_lossy(name)
        ));
    }
    libc_real::set_errno(libc::ENOENT);
    fail
}

/// A prefix directory: what is on disk answers (`real()`); when nothing
/// is (`ENOENT`), `fake()` does, with errno as it was before the call
/// unless `fake` sets it.
pub fn on_disk_or<R: CallResult>(real: impl FnOnce() -> R, fake: impl FnOnce() -> R) -> R {
    let saved = libc_real::errno();
    let r = real();
    if r.failed() && libc_real::errno() == libc::ENOENT {
        libc_real::set_errno(saved);
        return fake();
    }
    r
}

/// What the fake directory borrows from its parent on disk (`st_dev`, the
/// times), or zeros when the parent cannot be stat'ed either.
fn parent_stat(path: &[u8]) -> libc::stat {
    // SAFETY: plain data; all zeros is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let parent = prefix_dir::parent_of(path);
    let mut buf = [0u8; 4096];
    if parent.len() < buf.len() {
        buf[..parent.len()].copy_from_slice(parent);
        // SAFETY: buf holds a NUL-terminated path; st is a valid buffer;
        // libc's own stat (not the hook).
        if unsafe { libc_real::stat(buf.as_ptr().cast(), &mut st) } != 0 {
            // SAFETY: as above.
            st = unsafe { std::mem::zeroed() };
        }
    }
    st
}

fn effective_ids() -> (libc::uid_t, libc::gid_t) {
    // SAFETY: plain id queries.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

/// The directory's `struct stat`.
///
/// # Safety
/// `buf` is valid for writing one `struct stat`.
pub unsafe fn stat_dir(path: *const c_char, buf: *mut libc::stat) -> c_int {
    // SAFETY: the caller's NUL-terminated path (the hook matched it).
    let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    let (uid, gid) = effective_ids();
    let st = prefix_dir::dir_stat(bytes, &parent_stat(bytes), uid, gid);
    log_dir("stat", bytes);
    // SAFETY: per the contract.
    unsafe { buf.write(st) };
    0
}

/// glibc's `__xstat` family: `ver` as glibc checks it.
///
/// # Safety
/// As for [`stat_dir`].
pub unsafe fn xstat_dir(ver: c_int, path: *const c_char, buf: *mut libc::stat) -> c_int {
    if ver != 0 && ver != 1 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    // SAFETY: as the caller promised.
    unsafe { stat_dir(path, buf) }
}

/// The directory's `struct statx` (the basic fields, no birth time).
///
/// # Safety
/// `buf` is valid for writing one `struct statx`.
pub unsafe fn statx_dir(path: *const c_char, buf: *mut libc::statx) -> c_int {
    // SAFETY: the caller's NUL-terminated path.
    let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    let (uid, gid) = effective_ids();
    let sx = prefix_dir::dir_statx(bytes, &parent_stat(bytes), uid, gid);
    log_dir("statx", bytes);
    // SAFETY: per the contract.
    unsafe { buf.write(sx) };
    0
}

/// `access` of the directory (`prefix_dir::dir_access`).
pub fn access_dir(mode: c_int) -> c_int {
    match prefix_dir::dir_access(mode) {
        Ok(()) => 0,
        Err(e) => {
            libc_real::set_errno(e);
            -1
        }
    }
}

/// `readlink` of the directory: it is not a symbolic link.
pub fn readlink_dir() -> isize {
    libc_real::set_errno(libc::EINVAL);
    -1
}

/// `realpath` of the directory: itself, without trailing slashes.
///
/// # Safety
/// `resolved` is NULL or valid for `PATH_MAX` bytes.
pub unsafe fn realpath_dir(path: *const c_char, resolved: *mut c_char) -> *mut c_char {
    // SAFETY: the caller's NUL-terminated path.
    let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    // SAFETY: per the contract.
    unsafe { crate::ops::path_info::copy_path_out(prefix_dir::trimmed(bytes), resolved) }
}

/// `getxattr` of the directory: it has no attributes.
pub fn getxattr_dir() -> isize {
    libc_real::set_errno(libc::ENODATA);
    -1
}

/// `listxattr` of the directory: an empty list.
pub fn listxattr_dir() -> isize {
    0
}

fn log_dir(call: &str, path: &[u8]) {
    if log_enabled() {
        log(&format!(
            "{call} {}: no such directory on disk: answered as a read-only directory (mode 0555)",
            String::from_utf8_lossy(path)
        ));
    }
}
