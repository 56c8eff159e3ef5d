//! `FDSET_LOG`: one line per fdset decision, saying why, on stderr or
//! appended to a file; each line names the process (`[pid comm]`).

use crate::libc_real;
use fdset_core::log_target::LogTarget;
use fdset_core::registry::{ClosedMember, Errno, OpenOutcome};
use std::ffi::CStr;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicU64, Ordering};

/// Where decision lines go: -1 nowhere, 2 stderr, or the shim-owned
/// descriptor of the `FDSET_LOG` file (moved when the program claims its
/// number, like every descriptor the shim owns).
static LOG_FD: AtomicI32 = AtomicI32::new(-1);
/// The program's name (`comm`, at most 15 bytes) when the log started.
static COMM: [AtomicU8; 16] = [const { AtomicU8::new(0) }; 16];
static COMM_LEN: AtomicU64 = AtomicU64::new(0);

#[inline]
pub fn log_enabled() -> bool {
    LOG_FD.load(Ordering::Relaxed) >= 0
}

/// Start logging to `target` (the constructor, once). A file is opened
/// for appending and becomes the shim's; `Err` says why it cannot be.
pub fn start(target: &LogTarget) -> Result<(), String> {
    remember_comm();
    let fd = match target {
        LogTarget::Stderr => 2,
        LogTarget::File(path) => open_log_file(path)?,
    };
    LOG_FD.store(fd, Ordering::Release);
    Ok(())
}

fn open_log_file(path: &[u8]) -> Result<i32, String> {
    let shown = String::from_utf8_lossy(path).into_owned();
    let c = std::ffi::CString::new(path).map_err(|_| format!("FDSET_LOG={shown}: a NUL byte"))?;
    let flags = libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC | libc::O_NOCTTY;
    // SAFETY: a NUL-terminated path; the real open, not the hook.
    let fd = unsafe { libc_real::open(c.as_ptr(), flags, 0o600) };
    if fd < 0 {
        let e = libc_real::errno();
        return Err(format!(
            "FDSET_LOG={shown}: cannot open it: {}",
            errno_name(e)
        ));
    }
    let Some(mut st) = crate::state::lock() else {
        return Err(format!("FDSET_LOG={shown}: the registry is busy"));
    };
    let owned =
        crate::state::move_high(fd).map_err(|e| format!("FDSET_LOG={shown}: {}", errno_name(e)))?;
    crate::state::fdtable::mark(owned, crate::state::fdtable::FdKind::Owned);
    st.extra_owned.push(owned);
    Ok(owned)
}

/// The shim-owned log file moved from `old` to `new` (the program claimed
/// `old`; called with the registry lock held).
pub fn fd_moved(old: i32, new: i32) {
    let _ = LOG_FD.compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire);
}

/// Whether `fd` is the log file, which a forked child keeps.
pub fn is_log_file(fd: i32) -> bool {
    fd > 2 && LOG_FD.load(Ordering::Acquire) == fd
}

fn remember_comm() {
    let mut name = [0u8; 16];
    // SAFETY: PR_GET_NAME writes at most 16 bytes into the buffer.
    if unsafe { libc::prctl(libc::PR_GET_NAME, name.as_mut_ptr()) } == 0 {
        let len = name.iter().position(|&b| b == 0).unwrap_or(15);
        for (slot, &b) in COMM.iter().zip(&name[..len]) {
            slot.store(b, Ordering::Relaxed);
        }
        COMM_LEN.store(len as u64, Ordering::Release);
    }
}

/// One decision line, prefixed `fdset-shim: [pid comm] `.
pub fn log(line: &str) {
    let fd = LOG_FD.load(Ordering::Acquire);
    if fd < 0 {
        return;
    }
    let len = COMM_LEN.load(Ordering::Acquire) as usize;
    let comm: Vec<u8> = COMM[..len]
        .iter()
        .map(|b| b.load(Ordering::Relaxed))
        .collect();
    // SAFETY: getpid has no preconditions (the pid of a forked child is its own).
    let pid = unsafe { libc::getpid() };
    let mut s = String::with_capacity(line.len() + 40);
    let _ = write!(s, "fdset-shim: [{pid} {}] ", String::from_utf8_lossy(&comm));
    s.push_str(line);
    s.push('\n');
    libc_real::write_all(fd, s.as_bytes());
}

/// A line that stops the program or reports a refused setting: always on
/// stderr, `fdset-shim: TEXT` (spec section 4).
pub fn error_line(text: &str) {
    let mut s = String::with_capacity(text.len() + 13);
    s.push_str("fdset-shim: ");
    s.push_str(text);
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
        log(&format!(
            "set {}: closed member fd {} ({}) ({why})",
            c.set,
            c.fd,
            accmode_name(c.accmode)
        ));
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
        OpenOutcome::NoMemberForMode {
            set,
            accmode,
            present,
        } => write!(
            s,
            "EACCES: {}",
            fdset_core::registry::no_member_text(set, accmode, present)
        ),
        OpenOutcome::SyncMismatch { set, member } => write!(
            s,
            "EINVAL: set {set} member fd {member} differs in O_SYNC from the request"
        ),
        OpenOutcome::DirectoryMember { set, member, errno } => write!(
            s,
            "{}: set {set} member fd {member} is a directory (O_CREAT or O_TRUNC)",
            errno_name(errno)
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
