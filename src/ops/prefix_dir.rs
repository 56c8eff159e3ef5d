//! Paths a look hook matched that name no set (spec section 8): the prefix
//! directories themselves (`/dev/fdset`, each `FDSET_PREFIX`), answered as
//! a read-only directory (mode 0555, owned by the effective ids) when
//! nothing is on disk there, so that `realpath`-style walks over a set path
//! succeed; and names under a prefix that are no set number
//! (`/dev/fdset/2-journal`), which do not exist (`ENOENT`).

use crate::libc_real;
use crate::log::{log, log_enabled};
use crate::state::config;
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

/// `path` without trailing slashes (`realpath`'s answer for the directory).
fn trimmed(path: &[u8]) -> &[u8] {
    let mut end = path.len();
    while end > 1 && path[end - 1] == b'/' {
        end -= 1;
    }
    &path[..end]
}

/// What the fake directory borrows from its parent on disk (`st_dev`, the
/// times), or zeros when the parent cannot be stat'ed either.
fn parent_stat(path: &[u8]) -> libc::stat {
    // SAFETY: plain data; all zeros is a valid value.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    let path = trimmed(path);
    let cut = path.iter().rposition(|&b| b == b'/').unwrap_or(0).max(1);
    let mut buf = [0u8; 4096];
    if cut < buf.len() {
        buf[..cut].copy_from_slice(&path[..cut]);
        // SAFETY: buf holds a NUL-terminated path; st is a valid buffer;
        // libc's own stat (not the hook).
        if unsafe { libc_real::stat(buf.as_ptr().cast(), &mut st) } != 0 {
            // SAFETY: as above.
            st = unsafe { std::mem::zeroed() };
        }
    }
    st
}

/// A stable inode number for the fake directory (FNV-1a of its path, top
/// bit set, away from the small numbers file systems hand out).
fn fake_ino(path: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in trimmed(path) {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h | 1 << 63
}

fn effective_ids() -> (libc::uid_t, libc::gid_t) {
    // SAFETY: plain id queries.
    unsafe { (libc::geteuid(), libc::getegid()) }
}

const DIR_MODE: u32 = libc::S_IFDIR | 0o555;

/// The directory's `struct stat`.
///
/// # Safety
/// `buf` is valid for writing one `struct stat`.
pub unsafe fn stat_dir(path: *const c_char, buf: *mut libc::stat) -> c_int {
    // SAFETY: the caller's NUL-terminated path (the hook matched it).
    let bytes = unsafe { std::ffi::CStr::from_ptr(path) }.to_bytes();
    let parent = parent_stat(bytes);
    let (uid, gid) = effective_ids();
    // SAFETY: plain data.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    st.st_dev = parent.st_dev;
    st.st_ino = fake_ino(bytes);
    st.st_mode = DIR_MODE;
    st.st_nlink = 2;
    st.st_uid = uid;
    st.st_gid = gid;
    st.st_blksize = 4096;
    st.st_atime = parent.st_atime;
    st.st_atime_nsec = parent.st_atime_nsec;
    st.st_mtime = parent.st_mtime;
    st.st_mtime_nsec = parent.st_mtime_nsec;
    st.st_ctime = parent.st_ctime;
    st.st_ctime_nsec = parent.st_ctime_nsec;
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
    let parent = parent_stat(bytes);
    let (uid, gid) = effective_ids();
    let ts = |sec: i64, nsec: i64| {
        // SAFETY: plain data; all zeros is a valid value.
        let mut t: libc::statx_timestamp = unsafe { std::mem::zeroed() };
        t.tv_sec = sec;
        t.tv_nsec = nsec as u32;
        t
    };
    // SAFETY: plain data.
    let mut sx: libc::statx = unsafe { std::mem::zeroed() };
    sx.stx_mask = libc::STATX_BASIC_STATS;
    sx.stx_blksize = 4096;
    sx.stx_nlink = 2;
    sx.stx_uid = uid;
    sx.stx_gid = gid;
    sx.stx_mode = DIR_MODE as u16;
    sx.stx_ino = fake_ino(bytes);
    sx.stx_atime = ts(parent.st_atime, parent.st_atime_nsec);
    sx.stx_mtime = ts(parent.st_mtime, parent.st_mtime_nsec);
    sx.stx_ctime = ts(parent.st_ctime, parent.st_ctime_nsec);
    sx.stx_dev_major = libc::major(parent.st_dev);
    sx.stx_dev_minor = libc::minor(parent.st_dev);
    log_dir("statx", bytes);
    // SAFETY: per the contract.
    unsafe { buf.write(sx) };
    0
}

/// `access` of the directory: mode 0555 for everyone, so `W_OK` is refused
/// (nothing can be created there) and the rest granted.
pub fn access_dir(mode: c_int) -> c_int {
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    if mode & libc::W_OK != 0 {
        libc_real::set_errno(libc::EACCES);
        return -1;
    }
    0
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
    unsafe { crate::ops::path_info::copy_path_out(trimmed(bytes), resolved) }
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
