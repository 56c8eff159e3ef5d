//! `FDSET_LOG`: one line on stderr per fdset decision, saying why.

use crate::libc_real;
use crate::state::config;
use fdset_core::registry::{ClosedMember, Errno, OpenOutcome};
use std::ffi::CStr;
use std::fmt::Write as _;

// ---------------------------------------------------------------- logging

pub fn log_enabled() -> bool {
    config().log
}

/// One line to stderr, prefixed `fdset-shim:`.
pub fn log(line: &str) {
    let mut s = String::with_capacity(line.len() + 13);
    s.push_str("fdset-shim: ");
    s.push_str(line);
    s.push('\n');
    libc_real::write_all(2, s.as_bytes());
}

#[inline]
pub fn log_closed(closed: &[ClosedMember]) {
    if !closed.is_empty() && log_enabled() {
        log_closed_now(closed);
    }
}

#[cold]
pub(crate) fn log_closed_now(closed: &[ClosedMember]) {
    for c in closed {
        let why = if c.removed {
            "it was removed and no dup is open"
        } else {
            "no monitor is connected and no dup is open"
        };
        log(&format!("set {}: closed member fd {} ({why})", c.set, c.fd));
    }
}

pub(crate) fn accmode_name(flags: i32) -> &'static str {
    match flags & libc::O_ACCMODE {
        libc::O_RDONLY => "O_RDONLY",
        libc::O_WRONLY => "O_WRONLY",
        _ => "O_RDWR",
    }
}

/// The open(2) flags that decide or change what an fdset open does, as text
/// (QEMU's probes differ only in O_DIRECT/O_SYNC/O_NONBLOCK).
pub(crate) fn flags_text(flags: i32) -> String {
    const NAMED: &[(i32, &str)] = &[
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_DIRECT, "O_DIRECT"),
        (libc::O_SYNC, "O_SYNC"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_PATH, "O_PATH"),
    ];
    let mut s = accmode_name(flags).to_string();
    for &(bit, name) in NAMED {
        // O_SYNC includes the O_DSYNC bit: test every bit of it.
        if flags & bit == bit {
            s.push('|');
            s.push_str(name);
        }
    }
    s
}

pub(crate) fn errno_name(e: Errno) -> String {
    // SAFETY: strerror returns a static string for any errno.
    let s = unsafe { CStr::from_ptr(libc::strerror(e)) };
    s.to_string_lossy().into_owned()
}

pub(crate) fn log_open(path: &[u8], flags: i32, outcome: &OpenOutcome) {
    let mut s = String::new();
    let _ = write!(
        s,
        "open {} flags={}: ",
        String::from_utf8_lossy(path),
        flags_text(flags)
    );
    let _ = match *outcome {
        OpenOutcome::Opened { set, member, dup } => {
            write!(s, "set {set}: dup of member fd {member} -> fd {dup}")
        }
        OpenOutcome::NoSuchSet { set } => write!(s, "ENOENT: set {set} does not exist"),
        OpenOutcome::NoMemberForMode { set, accmode } => write!(
            s,
            "EACCES: set {set} has no {} member",
            accmode_name(accmode)
        ),
        OpenOutcome::SyncMismatch { set, member } => write!(
            s,
            "EINVAL: set {set} member fd {member} differs in O_SYNC from the request"
        ),
        OpenOutcome::SyscallFailed {
            set,
            member,
            errno,
            what,
        } => write!(
            s,
            "{}: set {set} member fd {member}: {what} failed",
            errno_name(errno)
        ),
    };
    log(&s);
}
