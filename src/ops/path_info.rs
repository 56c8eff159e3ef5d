//! Slow paths of the hooks that look at a set path or change the file
//! behind it without opening it (spec section 8): `readlink` (a set path
//! is no symbolic link), `realpath` (the path itself), `truncate` (through
//! a member that can write), the `utime` family and `statfs`/`statvfs`
//! (through a member).

use crate::libc_real;
use crate::ops::through::{call_through, exists};
use fdset_core::registry::Need;
use libc::{c_char, c_int};

fn text(path: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(path)
}

/// `readlink`/`readlinkat` of set `set`: `EINVAL` when it exists (it is no
/// symbolic link), `ENOENT` when not.
pub fn readlink_set(call: &str, path: &[u8], set: u64) -> isize {
    let what = || format!("{call} {}", text(path));
    match exists(&what, set) {
        Ok(()) => {
            if crate::log::log_enabled() {
                crate::log::log(&format!(
                    "{}: EINVAL: set {set} is no symbolic link",
                    what()
                ));
            }
            libc_real::set_errno(libc::EINVAL);
        }
        Err(e) => libc_real::set_errno(e),
    }
    -1
}

/// Copy `path` out as `realpath` returns it: into `resolved` (`PATH_MAX`
/// bytes) or, when that is NULL, into memory from `malloc` that the caller
/// frees. Errno is left alone on success.
///
/// # Safety
/// `resolved` is NULL or valid for `PATH_MAX` bytes.
pub unsafe fn copy_path_out(path: &[u8], resolved: *mut c_char) -> *mut c_char {
    let len = path.len();
    let out = if resolved.is_null() {
        // SAFETY: plain allocation; the caller frees it with free().
        let p = unsafe { libc::malloc(len + 1) }.cast::<c_char>();
        if p.is_null() {
            libc_real::set_errno(libc::ENOMEM);
            return p;
        }
        p
    } else {
        if len >= libc::PATH_MAX as usize {
            libc_real::set_errno(libc::ENAMETOOLONG);
            return std::ptr::null_mut();
        }
        resolved
    };
    // SAFETY: out holds at least len + 1 bytes (allocated so, or PATH_MAX).
    unsafe {
        std::ptr::copy_nonoverlapping(path.as_ptr(), out.cast::<u8>(), len);
        *out.add(len) = 0;
    }
    out
}

/// `realpath` of set `set`: the path itself when the set exists (a set
/// path has no other name), `ENOENT` when not.
///
/// # Safety
/// `resolved` is NULL or valid for `PATH_MAX` bytes.
pub unsafe fn realpath_set(
    call: &str,
    path: &[u8],
    set: u64,
    resolved: *mut c_char,
) -> *mut c_char {
    let saved = libc_real::errno();
    let what = || format!("{call} {}", text(path));
    if let Err(e) = exists(&what, set) {
        libc_real::set_errno(e);
        return std::ptr::null_mut();
    }
    if crate::log::log_enabled() {
        crate::log::log(&format!("{}: set {set}: the path itself", what()));
    }
    // SAFETY: per the contract.
    let r = unsafe { copy_path_out(path, resolved) };
    if !r.is_null() {
        libc_real::set_errno(saved);
    }
    r
}

/// `__realpath_chk`: glibc's check of the buffer's size, then `realpath`.
///
/// # Safety
/// `resolved` is NULL or valid for `resolvedlen` bytes.
pub unsafe fn realpath_chk_set(
    path: &[u8],
    set: u64,
    resolved: *mut c_char,
    resolvedlen: usize,
) -> *mut c_char {
    if !resolved.is_null() && resolvedlen < libc::PATH_MAX as usize {
        // SAFETY: what glibc does here: report the overflow and abort.
        unsafe { libc_real::chk_fail() };
        std::process::abort();
    }
    // SAFETY: checked above.
    unsafe { realpath_set("__realpath_chk", path, set, resolved) }
}

/// `truncate`/`truncate64` of set `set`: `ftruncate` through its newest
/// member that can write; `EACCES` when none can. A negative length is
/// `EINVAL` first, as the kernel checks it before the path.
pub fn truncate_set(call: &str, path: &[u8], set: u64, length: i64) -> c_int {
    if length < 0 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    let what = || format!("{call} {} length={length}", text(path));
    // SAFETY: a plain system call on our private duplicate.
    call_through(&what, set, Need::Write, |fd| unsafe {
        libc::ftruncate64(fd, length)
    })
}

/// `utimensat` of set `set`: `futimens` through its newest member. The
/// flags a set path cannot use (`AT_SYMLINK_NOFOLLOW`: it is no link) are
/// accepted; others are `EINVAL`, as the kernel says.
///
/// # Safety
/// `times` is NULL or two valid `timespec`s.
pub unsafe fn utimensat_set(
    call: &str,
    path: &[u8],
    set: u64,
    times: *const libc::timespec,
    flags: c_int,
) -> c_int {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    let what = || format!("{call} {}", text(path));
    // SAFETY: times as the caller gave it; our private duplicate.
    call_through(&what, set, Need::Any, |fd| unsafe {
        libc::futimens(fd, times)
    })
}

/// `utimes`, `lutimes`, `futimesat` of set `set`: `futimes` through its
/// newest member (glibc checks the microseconds the same way).
///
/// # Safety
/// `times` is NULL or two valid `timeval`s.
pub unsafe fn utimes_set(call: &str, path: &[u8], set: u64, times: *const libc::timeval) -> c_int {
    let what = || format!("{call} {}", text(path));
    // SAFETY: as above.
    call_through(&what, set, Need::Any, |fd| unsafe {
        libc::futimes(fd, times)
    })
}

/// `utime` of set `set`: whole seconds, or now when `times` is NULL.
///
/// # Safety
/// `times` is NULL or a valid `utimbuf`.
pub unsafe fn utime_set(path: &[u8], set: u64, times: *const libc::utimbuf) -> c_int {
    let ts = if times.is_null() {
        None
    } else {
        // SAFETY: per the contract.
        let t = unsafe { *times };
        Some([
            libc::timespec {
                tv_sec: t.actime,
                tv_nsec: 0,
            },
            libc::timespec {
                tv_sec: t.modtime,
                tv_nsec: 0,
            },
        ])
    };
    let ptr = ts.as_ref().map_or(std::ptr::null(), |t| t.as_ptr());
    // SAFETY: ptr is NULL or two timespecs that live until the call returns.
    unsafe { utimensat_set("utime", path, set, ptr, 0) }
}

/// `statfs`/`statvfs` and their 64-bit twins of set `set`: the `f` form
/// through its newest member.
pub fn statfs_set(call: &str, path: &[u8], set: u64, f: impl FnOnce(c_int) -> c_int) -> c_int {
    let what = || format!("{call} {}", text(path));
    call_through(&what, set, Need::Any, f)
}

/// `chdir` to set `set`: `fchdir` to its newest member, so that a
/// directory member is the working directory as its own path would make
/// it (the kernel says `ENOTDIR` for any other member).
pub fn chdir_set(path: &[u8], set: u64) -> c_int {
    let what = || format!("chdir {}", text(path));
    // SAFETY: fchdir on a member descriptor the call holds.
    call_through(&what, set, Need::Any, |fd| unsafe { libc::fchdir(fd) })
}

/// `chmod`/`fchmodat` of set `set`: `fchmod` through its newest member, so
/// the kernel decides as for the member's file (its owner, or
/// `CAP_FOWNER`). `AT_SYMLINK_NOFOLLOW` changes nothing (a set path is no
/// link); other flags are `EINVAL`, as glibc says.
pub fn chmod_set(call: &str, path: &[u8], set: u64, mode: libc::mode_t, flags: c_int) -> c_int {
    if flags & !libc::AT_SYMLINK_NOFOLLOW != 0 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    let what = || format!("{call} {} mode={mode:o}", text(path));
    // SAFETY: a plain system call on our private duplicate.
    call_through(&what, set, Need::Any, |fd| unsafe {
        libc::fchmod(fd, mode)
    })
}

/// `chown`, `lchown`, `fchownat` of set `set`: `fchown` through its newest
/// member (the kernel's rules for the member's file). `AT_SYMLINK_NOFOLLOW`
/// and `AT_EMPTY_PATH` change nothing here; other flags are `EINVAL`.
pub fn chown_set(
    call: &str,
    path: &[u8],
    set: u64,
    uid: libc::uid_t,
    gid: libc::gid_t,
    flags: c_int,
) -> c_int {
    if flags & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    let what = || format!("{call} {} owner={uid}:{gid}", text(path));
    // SAFETY: a plain system call on our private duplicate.
    call_through(&what, set, Need::Any, |fd| unsafe {
        libc::fchown(fd, uid, gid)
    })
}
