//! The path test of the hooks that look at a path instead of opening it
//! (spec section 8): like `set_path::fdset_path`, and the prefix
//! directories themselves (`/dev/fdset`, each `FDSET_PREFIX` without its
//! slash) also match, as a path with no set number, so that the slow path
//! can answer for them when nothing is on disk.

use crate::ops::set_path::{PathGuess, extra_paths, fdset_dir_number, resolve_path};
use crate::state::config;
use fdset_core::paths::{self, NotASetNumber, PathConfig, SetNumber};
use std::ffi::CStr;

/// `set_path::fdset_path` for the calls that look. No lock, no allocation:
/// the byte-by-byte comparison with `/dev/fdset/` is the same, and only
/// where it stops does it also ask whether the path ended just before the
/// final slash.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline(always)]
pub unsafe fn look_path(path: *const libc::c_char) -> Option<SetNumber> {
    if path.is_null() {
        return None;
    }
    // SAFETY: path is non-null and NUL-terminated.
    let first = unsafe { *path } as u8;
    if !PathConfig::may_match(first) {
        return None;
    }
    let cfg = &config().paths;
    if cfg.prefixes.is_empty() && cfg.aliases.is_empty() {
        for (i, &want) in paths::FDSET_DIR.iter().enumerate().skip(1) {
            // SAFETY: bytes 0..i matched FDSET_DIR, which holds no NUL, so
            // byte i is still within the string.
            let got = unsafe { *path.add(i) } as u8;
            if got != want {
                return if paths::ends_at_fdset_dir(i, got) {
                    Some(Err(NotASetNumber))
                } else {
                    None
                };
            }
        }
        // SAFETY: the whole prefix matched, as above.
        return Some(unsafe { fdset_dir_number(path) });
    }
    // SAFETY: as above.
    unsafe { look_resolve(path, cfg) }
}

/// With prefixes or aliases configured: the full comparison, out of line.
///
/// # Safety
/// `path` is a non-null NUL-terminated string.
#[inline(never)]
unsafe fn look_resolve(path: *const libc::c_char, cfg: &PathConfig) -> Option<SetNumber> {
    // SAFETY: per the contract.
    if let Some(n) = unsafe { resolve_path(path, cfg) } {
        return Some(n);
    }
    // SAFETY: per the contract; to_bytes only measures the string.
    let bytes = unsafe { CStr::from_ptr(path) }.to_bytes();
    cfg.is_prefix_dir(bytes).then_some(Err(NotASetNumber))
}

/// The in-place part of [`look_path`], as `set_path::may_be_set_path` is
/// of `fdset_path`: [`PathGuess::NoSet`] when `path` is certainly neither a
/// set path nor a prefix directory; the bytes of `/dev/fdset/` first, the
/// flag of configured prefixes and aliases only after they differ.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[inline(always)]
pub unsafe fn may_be_look_path(path: *const libc::c_char) -> PathGuess {
    if path.is_null() {
        return PathGuess::NoSet;
    }
    for (i, &want) in paths::FDSET_DIR.iter().enumerate() {
        // SAFETY: bytes 0..i matched FDSET_DIR, which holds no NUL, so
        // byte i is still within the string.
        let got = unsafe { *path.add(i) } as u8;
        if got != want {
            return if paths::ends_at_fdset_dir(i, got) || (i > 0 && extra_paths()) {
                PathGuess::Other
            } else {
                PathGuess::NoSet
            };
        }
    }
    PathGuess::FdsetDir
}

/// [`look_path`] after [`may_be_look_path`] said `guess` (not `NoSet`).
///
/// # Safety
/// As for [`look_path`]; `guess` is what `may_be_look_path` said of `path`.
#[inline(always)]
pub unsafe fn look_path_after(path: *const libc::c_char, guess: PathGuess) -> Option<SetNumber> {
    if guess == PathGuess::FdsetDir {
        // SAFETY: the whole prefix matched (may_be_look_path).
        Some(unsafe { fdset_dir_number(path) })
    } else {
        // SAFETY: per the contract.
        unsafe { look_path(path) }
    }
}
