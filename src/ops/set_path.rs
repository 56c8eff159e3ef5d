//! Whether a path names a set: the test every path hook makes first, in
//! place and without a lock, stopping at the first byte that differs.

use crate::state::config;
use fdset_core::paths::{PathConfig, SetNumber};
use std::ffi::CStr;

// ---------------------------------------------------------------- paths

/// Whether `path` names an fd set. No lock, no allocation: this runs for
/// every path the program opens.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline(always)]
pub unsafe fn fdset_path(path: *const libc::c_char) -> Option<SetNumber> {
    if path.is_null() {
        return None;
    }
    // SAFETY: path is non-null and NUL-terminated.
    let first = unsafe { *path } as u8;
    if !PathConfig::may_match(first) {
        return None;
    }
    let paths = &config().paths;
    if paths.prefixes.is_empty() && paths.aliases.is_empty() {
        // Only /dev/fdset/ can match: compare in place up to the first
        // difference instead of measuring the whole path (at most
        // 60 instructions added to an ordinary open).
        for (i, &want) in fdset_core::paths::FDSET_DIR.iter().enumerate().skip(1) {
            // SAFETY: bytes 0..i matched FDSET_DIR, which holds no NUL, so
            // byte i is still within the string.
            if unsafe { *path.add(i) } as u8 != want {
                return None;
            }
        }
        // SAFETY: the whole prefix matched, as above.
        return Some(unsafe { fdset_dir_number(path) });
    }
    // SAFETY: as above.
    unsafe { resolve_path(path, paths) }
}

/// The set number of a path that starts with `/dev/fdset/`: plain digits
/// read in place, anything else measured and parsed in full. Out of line,
/// like `resolve_path`.
///
/// # Safety
/// `path` is a NUL-terminated string that starts with `FDSET_DIR`.
#[inline(never)]
pub(crate) unsafe fn fdset_dir_number(path: *const libc::c_char) -> SetNumber {
    // SAFETY: per the contract, the byte after the prefix is within the string.
    let number = unsafe { path.add(fdset_core::paths::FDSET_DIR.len()) }.cast::<u8>();
    // SAFETY: as above.
    match unsafe { fdset_core::paths::plain_set_number(number) } {
        Some(n) => Ok(n),
        None => {
            // SAFETY: as above: the rest of the caller's NUL-terminated path.
            let rest = unsafe { CStr::from_ptr(number.cast()) };
            fdset_core::paths::parse_set_number(rest.to_bytes())
        }
    }
}

/// The rest of `fdset_path`, out of line so that the common rejection above
/// costs the hooks no register saves.
///
/// # Safety
/// `path` is a non-null NUL-terminated string.
#[inline(never)]
pub(crate) unsafe fn resolve_path(
    path: *const libc::c_char,
    paths: &PathConfig,
) -> Option<SetNumber> {
    // SAFETY: per the contract; to_bytes only measures the string.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    paths.resolve(bytes)
}

/// The part of [`fdset_path`] a hook's fast path runs in place: `false`
/// when `path` certainly names no set (no lock, no allocation, no call,
/// so the hook goes on to libc as a plain jump); `true` when it may, and
/// the hook's slow path runs the full test.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline(always)]
pub unsafe fn may_be_set_path(path: *const libc::c_char) -> bool {
    if path.is_null() {
        return false;
    }
    // SAFETY: path is non-null and NUL-terminated.
    if !PathConfig::may_match(unsafe { *path } as u8) {
        return false;
    }
    let paths = &config().paths;
    if !paths.prefixes.is_empty() || !paths.aliases.is_empty() {
        return true;
    }
    for (i, &want) in fdset_core::paths::FDSET_DIR.iter().enumerate().skip(1) {
        // SAFETY: bytes 0..i matched FDSET_DIR, which holds no NUL, so
        // byte i is still within the string.
        if unsafe { *path.add(i) } as u8 != want {
            return false;
        }
    }
    true
}
