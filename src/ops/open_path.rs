//! `O_PATH` and `O_DIRECTORY` opens of a set path (spec section 2, "Open"
//! item 7). `cp SRC /dev/fdset/N` probes its target with
//! `open(O_PATH|O_DIRECTORY)` and must hear `ENOTDIR`; an `O_PATH` open is
//! a real `O_PATH` descriptor of the member's file (any member that is not
//! removed serves), not a recorded dup: closing it is the program's
//! business, as for any `O_PATH` descriptor.

use crate::libc_real;
use crate::log::{flags_text, log, log_enabled};
use crate::state::{OWNED_FD_BASE, RealOps, State};
use fdset_core::paths::SetNumber;
use fdset_core::registry::{self, Errno, Need, PickOutcome, RawFd};

fn path_text(path: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(path)
}

/// Whether `fd` is a directory (`fstat`, not hooked).
fn is_directory(fd: RawFd) -> bool {
    // SAFETY: plain data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid buffer; fstat only reads the descriptor.
    unsafe { libc::fstat(fd, &mut st) == 0 && st.st_mode & libc::S_IFMT == libc::S_IFDIR }
}

/// `O_DIRECTORY` without `O_PATH`, checked under the registry lock before
/// the open changes anything: the member the open would choose must be a
/// directory. `Ok` also when the open will fail for another reason (its
/// own error then). `Err` carries the member for the log.
pub fn directory_check(st: &State, set: u64, flags: i32) -> Result<(), RawFd> {
    match st.registry.open_choice(&mut RealOps, set, flags) {
        Some((member, info)) => {
            registry::directory_check(info, || is_directory(member)).map_err(|_| member)
        }
        None => Ok(()),
    }
}

/// The answer of an open that `directory_check` refused: -1, `ENOTDIR`.
pub fn not_a_directory(path: &[u8], set: u64, member: RawFd, flags: i32) -> RawFd {
    if log_enabled() {
        log(&format!(
            "open {} flags={}: ENOTDIR: set {set} member fd {member} is not a directory",
            path_text(path),
            flags_text(flags)
        ));
    }
    libc_real::set_errno(libc::ENOTDIR);
    -1
}

/// `/proc/self/fd/N` as a C string, without allocating.
struct ProcPath {
    buf: [u8; 32],
}

impl ProcPath {
    fn new(fd: RawFd) -> ProcPath {
        let mut buf = [0u8; 32];
        let prefix = b"/proc/self/fd/";
        buf[..prefix.len()].copy_from_slice(prefix);
        let mut digits = [0u8; 10];
        let mut n = fd.max(0) as u32;
        let mut len = 0;
        loop {
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for i in 0..len {
            buf[prefix.len() + i] = digits[len - 1 - i];
        }
        ProcPath { buf }
    }
    fn as_ptr(&self) -> *const libc::c_char {
        self.buf.as_ptr().cast()
    }
}

/// An `O_PATH` open of set `number`: the newest member that is not
/// removed, reopened with `O_PATH` through `/proc/self/fd` (with
/// `O_DIRECTORY`: `ENOTDIR` unless it is a directory). Without `/proc`
/// (a chroot), a plain duplicate of the member stands in for it (it names
/// the same file; it is not recorded either). Errno is kept on success.
pub fn open_o_path<'p>(path: impl Fn() -> &'p [u8], number: SetNumber, flags: i32) -> RawFd {
    let saved = libc_real::errno();
    let r = o_path(&path, number, flags);
    match r {
        Ok((fd, set, member, how)) => {
            if log_enabled() {
                log(&format!(
                    "open {} flags={}: set {set}: {how} of member fd {member} -> fd {fd} (not a dup)",
                    path_text(path()),
                    flags_text(flags)
                ));
            }
            libc_real::set_errno(saved);
            fd
        }
        Err(e) => {
            libc_real::set_errno(e);
            -1
        }
    }
}

fn o_path<'p>(
    path: &impl Fn() -> &'p [u8],
    number: SetNumber,
    flags: i32,
) -> Result<(RawFd, u64, RawFd, &'static str), Errno> {
    let why = |e: Errno, text: String| {
        if log_enabled() {
            log(&format!(
                "open {} flags={}: {text}",
                path_text(path()),
                flags_text(flags)
            ));
        }
        e
    };
    let Ok(set) = number else {
        return Err(why(
            libc::EINVAL,
            "EINVAL: not a set number (0..2147483647)".into(),
        ));
    };
    let Some(st) = crate::state::lock() else {
        return Err(libc::EAGAIN);
    };
    let outcome = st.registry.pick(set, Need::Any);
    let member = match outcome {
        PickOutcome::Picked { member, .. } => member,
        PickOutcome::NoSuchSet { .. } => {
            drop(st);
            return Err(why(
                libc::ENOENT,
                format!("ENOENT: set {set} does not exist"),
            ));
        }
        _ => {
            drop(st);
            return Err(why(
                libc::EACCES,
                format!("EACCES: set {set} has no member left (all removed)"),
            ));
        }
    };
    // A private copy above the low numbers, so that the O_PATH descriptor
    // gets the lowest free one, reopened after the lock is released. Where
    // none can be made (RLIMIT_NOFILE at or below that base, or one slot
    // left), the member itself, with the lock held: the open needs no
    // second slot then.
    let private = libc_real::fcntl_int(member, libc::F_DUPFD_CLOEXEC, OWNED_FD_BASE);
    let result = if private >= 0 {
        drop(st);
        let r = reopen(private, flags);
        // Our own temporary descriptor.
        libc_real::close(private);
        r
    } else {
        let r = reopen(member, flags);
        drop(st);
        r
    };
    match result {
        Ok((fd, how)) => Ok((fd, set, member, how)),
        Err(libc::ENOTDIR) => Err(why(
            libc::ENOTDIR,
            format!("ENOTDIR: set {set} member fd {member} is not a directory"),
        )),
        Err(e) => Err(why(
            e,
            format!("set {set} member fd {member}: O_PATH reopen failed"),
        )),
    }
}

/// The `O_PATH` descriptor of the file `private` refers to, at the lowest
/// free number.
fn reopen(private: RawFd, flags: i32) -> Result<(RawFd, &'static str), Errno> {
    if flags & libc::O_DIRECTORY != 0 && !is_directory(private) {
        return Err(libc::ENOTDIR);
    }
    let proc_path = ProcPath::new(private);
    let want = libc::O_PATH | (flags & (libc::O_CLOEXEC | libc::O_DIRECTORY));
    // SAFETY: a NUL-terminated path; libc's own open (not the hook).
    let fd = unsafe { libc_real::open(proc_path.as_ptr(), want, 0) };
    if fd >= 0 {
        return Ok((fd, "O_PATH descriptor"));
    }
    let e = libc_real::errno();
    if e != libc::ENOENT {
        return Err(e);
    }
    // No /proc: a plain descriptor of the same file.
    let cmd = if flags & libc::O_CLOEXEC != 0 {
        libc::F_DUPFD_CLOEXEC
    } else {
        libc::F_DUPFD
    };
    let fd = libc_real::fcntl_int(private, cmd, 0);
    if fd < 0 {
        return Err(libc_real::errno());
    }
    Ok((fd, "no /proc: plain descriptor"))
}
