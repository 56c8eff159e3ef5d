//! What a path names for fdset-run (a set, a name under a prefix that is no
//! set number, a prefix directory, or anything else), and the caller's ids
//! for the answers that need them (spec section 8).

use crate::sys;
use fdset_core::paths::PathConfig;
use fdset_core::prefix_dir;

/// What a path names.
pub(super) enum Target {
    Set(u64),
    /// Under a prefix, not a set number (`/dev/fdset/2-journal`).
    BadNumber,
    /// `/dev/fdset` itself, or a `--prefix` directory.
    PrefixDir,
    Other,
}

/// `looking`: a call that looks at the path (stat, access, ...), for which
/// a prefix directory answers; an open does not see them.
pub(super) fn classify(paths: &PathConfig, path: &[u8], looking: bool) -> Target {
    if path.first() != Some(&b'/') {
        return Target::Other;
    }
    if looking && paths.is_prefix_dir(path) {
        return Target::PrefixDir;
    }
    match paths.resolve(path) {
        None => Target::Other,
        Some(Ok(set)) => Target::Set(set),
        Some(Err(_)) => Target::BadNumber,
    }
}

/// Whether `path` exists as the caller sees the file system (its root).
pub(super) fn exists_for(tid: i32, path: &[u8]) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let full = in_callers_root(tid, path);
    std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(&full)).is_ok()
}

/// `path` as the caller's root (`/proc/TID/root`) has it.
fn in_callers_root(tid: i32, path: &[u8]) -> Vec<u8> {
    let mut full = format!("/proc/{tid}/root").into_bytes();
    full.extend_from_slice(path);
    full
}

/// The caller's ids, from /proc/TID/status.
pub(super) struct Ids {
    pub uid: [u32; 2],
    pub gid: [u32; 2],
    pub groups: Vec<u32>,
}

pub(super) fn caller_ids(tid: i32) -> Option<Ids> {
    let text = std::fs::read_to_string(format!("/proc/{tid}/status")).ok()?;
    let nums = |key: &str| -> Vec<u32> {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| {
                v.split_ascii_whitespace()
                    .filter_map(|n| n.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let (u, g) = (nums("Uid:"), nums("Gid:"));
    if u.len() < 2 || g.len() < 2 {
        return None;
    }
    Some(Ids {
        uid: [u[0], u[1]],
        gid: [g[0], g[1]],
        groups: nums("Groups:"),
    })
}

/// A prefix directory's `struct stat`, as the shim answers it
/// (`fdset_core::prefix_dir`), with the parent as the caller's root sees it.
pub(super) fn prefix_dir_stat(tid: i32, path: &[u8], ids: &Ids) -> libc::stat {
    prefix_dir::dir_stat(path, &parent_stat(tid, path), ids.uid[1], ids.gid[1])
}

/// The same as a `struct statx`.
pub(super) fn prefix_dir_statx(tid: i32, path: &[u8], ids: &Ids) -> libc::statx {
    prefix_dir::dir_statx(path, &parent_stat(tid, path), ids.uid[1], ids.gid[1])
}

/// The parent directory's stat under the caller's root; zeros when it
/// cannot be stat'ed.
fn parent_stat(tid: i32, path: &[u8]) -> libc::stat {
    std::ffi::CString::new(in_callers_root(tid, prefix_dir::parent_of(path)))
        .ok()
        .and_then(|p| sys::stat_path(&p).ok())
        .unwrap_or_else(sys::zeroed)
}
