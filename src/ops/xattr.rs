//! Slow paths of the extended-attribute hooks (spec section 8): `getxattr`,
//! `lgetxattr`, `listxattr`, `llistxattr` of a set path are answered by the
//! `f*xattr` call on its newest member, so `ls -l` (which asks for ACLs
//! and SELinux labels) prints no error. A set path is no symbolic link, so
//! the `l` forms answer the same.

use crate::ops::through::call_through;
use fdset_core::registry::Need;
use libc::{c_char, c_void};

/// `getxattr`/`lgetxattr` of set `set`.
///
/// # Safety
/// `name` is a NUL-terminated string; `value` is NULL or valid for `size` bytes.
pub unsafe fn getxattr_set(
    call: &str,
    path: &[u8],
    set: u64,
    name: *const c_char,
    value: *mut c_void,
    size: usize,
) -> isize {
    let what = || {
        let attr = if name.is_null() {
            "(null)".into()
        } else {
            // SAFETY: per the contract, a NUL-terminated string.
            unsafe { std::ffi::CStr::from_ptr(name) }.to_string_lossy()
        };
        format!("{call} {} {attr}", String::from_utf8_lossy(path))
    };
    // SAFETY: the caller's buffers, on our private duplicate.
    call_through(&what, set, Need::Any, |fd| unsafe {
        libc::fgetxattr(fd, name, value, size)
    })
}

/// `listxattr`/`llistxattr` of set `set`.
///
/// # Safety
/// `list` is NULL or valid for `size` bytes.
pub unsafe fn listxattr_set(
    call: &str,
    path: &[u8],
    set: u64,
    list: *mut c_char,
    size: usize,
) -> isize {
    let what = || format!("{call} {}", String::from_utf8_lossy(path));
    // SAFETY: the caller's buffer, on our private duplicate.
    call_through(&what, set, Need::Any, |fd| unsafe {
        libc::flistxattr(fd, list, size)
    })
}
