//! Whether a path names a set: the test every path hook makes first, in
//! place and without a lock, stopping at the first byte that differs.

use crate::state::config;
use fdset_core::paths::{PathConfig, SetNumber};
use std::ffi::CStr;
use std::sync::atomic::Ordering;

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

/// What the first bytes of a path say, for a hook's fast path (`repr(u8)`:
/// it is passed on to the hook's out-of-line part, a `C-unwind` function).
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum PathGuess {
    /// Certainly no set.
    NoSet,
    /// Starts with `/dev/fdset/`: the set number follows.
    FdsetDir,
    /// Something else the full test must look at (another absolute path
    /// while prefixes or aliases are configured).
    Other,
}

/// The part of [`fdset_path`] a hook's fast path runs in place:
/// [`PathGuess::NoSet`] when `path` certainly names no set. The bytes of
/// `/dev/fdset/` are compared first, up to the first that differs (an
/// ordinary absolute path: the second); only then, and only for an
/// absolute path, is the one flag of configured prefixes and aliases
/// looked at. Nothing else is loaded: no configuration, no lock, no
/// allocation, no call, so the hook goes on to libc as a plain jump.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline(always)]
pub unsafe fn may_be_set_path(path: *const libc::c_char) -> PathGuess {
    if path.is_null() {
        return PathGuess::NoSet;
    }
    for (i, &want) in fdset_core::paths::FDSET_DIR.iter().enumerate() {
        // SAFETY: bytes 0..i matched FDSET_DIR, which holds no NUL, so
        // byte i is still within the string.
        if unsafe { *path.add(i) } as u8 != want {
            // Prefixes and aliases are absolute paths, like FDSET_DIR.
            return if i > 0 && extra_paths() {
                PathGuess::Other
            } else {
                PathGuess::NoSet
            };
        }
    }
    PathGuess::FdsetDir
}

/// Whether prefixes or aliases are configured (one flag, set by the
/// constructor after the configuration).
#[inline(always)]
pub(crate) fn extra_paths() -> bool {
    crate::ops::syscall::EXTRA_PATHS.load(Ordering::Acquire)
}

/// [`fdset_path`] after [`may_be_set_path`] said `guess` (not `NoSet`):
/// of a path under `/dev/fdset/` only the number is left to read.
///
/// # Safety
/// As for [`fdset_path`]; `guess` is what `may_be_set_path` said of `path`.
#[inline(always)]
pub unsafe fn fdset_path_after(path: *const libc::c_char, guess: PathGuess) -> Option<SetNumber> {
    if guess == PathGuess::FdsetDir {
        // SAFETY: the whole prefix matched (may_be_set_path).
        Some(unsafe { fdset_dir_number(path) })
    } else {
        // SAFETY: per the contract.
        unsafe { fdset_path(path) }
    }
}
