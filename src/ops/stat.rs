//! Slow paths of the stat/access hooks: programs that look before
//! they open (`cp`, `diff`, `qemu-img`, Python's `os.path.exists`) get an
//! answer for fdset paths from the set's members.
//!
//! `stat` answers with `fstat` of the newest visible member; `access` with the
//! modes the visible members serve (the rules are `registry::look`,
//! `registry::access_allowed`, `registry::exec_permitted`).

use crate::libc_real;
use crate::ops::through::MemberFd;
use fdset_core::paths::SetNumber;
use fdset_core::registry::{self, Errno, LookOutcome, PresentModes, RawFd, ServedModes};
use libc::{c_int, c_uint};

/// The answering member: the descriptor to ask (see
/// [`crate::ops::through::MemberFd`]) and the modes the set serves.
struct Answer {
    file: MemberFd,
    set: u64,
    member: RawFd,
    modes: ServedModes,
}

fn path_text(path: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(path)
}

/// Find the member answering for `number`; failures are logged here (with
/// `what`, the call and its arguments, e.g. `stat /dev/fdset/1`).
fn answer(what: &dyn Fn() -> String, number: SetNumber) -> Result<Answer, Errno> {
    let Ok(set) = number else {
        if crate::log::log_enabled() {
            crate::log::log(&format!(
                "{}: EINVAL: not a set number (0..2147483647)",
                what()
            ));
        }
        return Err(libc::EINVAL);
    };
    let Some(st) = crate::state::lock() else {
        // A signal handler interrupted this thread inside the shim.
        return Err(libc::EAGAIN);
    };
    let outcome = st.registry.look(set);
    let (member, modes) = match outcome {
        LookOutcome::Answered { member, modes, .. } => (member, modes),
        LookOutcome::NoSuchSet { .. } => {
            drop(st);
            if crate::log::log_enabled() {
                crate::log::log(&format!("{}: ENOENT: set {set} does not exist", what()));
            }
            return Err(libc::ENOENT);
        }
        LookOutcome::NoVisibleMember { .. } => {
            drop(st);
            if crate::log::log_enabled() {
                crate::log::log(&format!(
                    "{}: ENOENT: set {set} has no member left (all removed; only open dups keep it)",
                    what()
                ));
            }
            return Err(libc::ENOENT);
        }
    };
    let file = MemberFd::take(what, set, member, st)?;
    Ok(Answer {
        file,
        set,
        member,
        modes,
    })
}

/// Finish a call: 0 with errno as it was, or -1 with `e`.
fn finish(saved: c_int, r: Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => {
            libc_real::set_errno(saved);
            0
        }
        Err(e) => {
            libc_real::set_errno(e);
            -1
        }
    }
}

fn last_errno(r: c_int) -> Result<(), Errno> {
    if r < 0 {
        Err(libc_real::errno())
    } else {
        Ok(())
    }
}

/// `stat`, `lstat`, `fstatat` and the `__xstat` family for an fdset path
/// (`call` names the hook for the log). An fdset path is not a symlink, so
/// `lstat` answers as `stat` does.
///
/// # Safety
/// `buf` is valid for writing one `struct stat` (the caller's buffer).
pub unsafe fn stat_set(call: &str, path: &[u8], number: SetNumber, buf: *mut libc::stat) -> c_int {
    let saved = libc_real::errno();
    let what = || format!("{call} {}", path_text(path));
    let r = answer(&what, number).and_then(|a| {
        // SAFETY: buf is the caller's stat buffer; fstat is not hooked.
        last_errno(unsafe { libc::fstat(a.file.fd, buf) })?;
        log_answer(&what, &a);
        Ok(())
    });
    finish(saved, r)
}

fn log_answer(what: &dyn Fn() -> String, a: &Answer) {
    if crate::log::log_enabled() {
        crate::log::log(&format!(
            "{}: set {}: member fd {} answers",
            what(),
            a.set,
            a.member
        ));
    }
}

/// `statx` for an fdset path: the kernel's `statx` of the answering member,
/// with the caller's mask and sync flags.
///
/// # Safety
/// `buf` is valid for writing one `struct statx` (the caller's buffer).
pub unsafe fn statx_set(
    path: &[u8],
    number: SetNumber,
    flags: c_int,
    mask: c_uint,
    buf: *mut libc::statx,
) -> c_int {
    let saved = libc_real::errno();
    let what = || format!("statx {}", path_text(path));
    let r = answer(&what, number).and_then(|a| {
        let flags = libc::AT_EMPTY_PATH | (flags & libc::AT_STATX_SYNC_TYPE);
        // SAFETY: an empty path with AT_EMPTY_PATH names a.file.fd; buf is the caller's.
        last_errno(unsafe { libc_real::statx(a.file.fd, c"".as_ptr(), flags, mask, buf) })?;
        log_answer(&what, &a);
        Ok(())
    });
    finish(saved, r)
}

fn access_mode_text(mode: c_int) -> String {
    if mode == libc::F_OK {
        return "F_OK".to_string();
    }
    let names = [
        (libc::R_OK, "R_OK"),
        (libc::W_OK, "W_OK"),
        (libc::X_OK, "X_OK"),
    ];
    let parts: Vec<&str> = names
        .iter()
        .filter(|(b, _)| mode & b != 0)
        .map(|(_, n)| *n)
        .collect();
    parts.join("|")
}

/// Whether the caller (real or effective ids) is in group `gid`.
fn in_group(gid: u32, effective: bool) -> bool {
    // SAFETY: plain id queries.
    let primary = unsafe {
        if effective {
            libc::getegid()
        } else {
            libc::getgid()
        }
    };
    if gid == primary {
        return true;
    }
    let mut groups = [0 as libc::gid_t; 256];
    // SAFETY: the buffer holds 256 entries.
    let n = unsafe { libc::getgroups(groups.len() as c_int, groups.as_mut_ptr()) };
    n > 0 && groups[..n as usize].contains(&gid)
}

/// The `EACCES` line of an `access` no member allows, naming the modes the
/// set has (read again under the lock: this is the logging path only).
#[cold]
fn log_access_refused(what: &str, set: u64, missing: &str) {
    let present = crate::state::lock().and_then(|st| st.registry.set(set).map(PresentModes::of));
    let line = match present {
        Some(p) => format!(
            "{what}: EACCES: {}, no {missing} member",
            registry::present_text(set, p)
        ),
        // The lock is this thread's (a signal handler) or the set just went.
        None => format!("{what}: EACCES: set {set} has no {missing} member"),
    };
    crate::log::log(&line);
}

/// `X_OK` on member `fd` for the real (or, `effective`, the effective)
/// ids: the kernel's own answer, `faccessat2(fd, "", X_OK, AT_EMPTY_PATH)`
/// (Linux 5.8); before that kernel, the file's mode bits and mount flags.
fn may_execute(fd: RawFd, effective: bool) -> Result<bool, Errno> {
    let flags = libc::AT_EMPTY_PATH | if effective { libc::AT_EACCESS } else { 0 };
    // SAFETY: an empty NUL-terminated path and integer arguments; the real
    // syscall(), not the shim's hook.
    let r = unsafe {
        libc_real::syscall(
            libc::SYS_faccessat2,
            fd as libc::c_long,
            c"".as_ptr() as libc::c_long,
            libc::X_OK as libc::c_long,
            flags as libc::c_long,
            0,
            0,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    match libc_real::errno() {
        libc::EACCES => return Ok(false),
        // No faccessat2, or one without AT_EMPTY_PATH: judged here.
        libc::ENOSYS | libc::EINVAL => {}
        e => return Err(e),
    }
    // SAFETY: st is plain data filled by fstat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid buffer; fstat is not hooked.
    last_errno(unsafe { libc::fstat(fd, &mut st) })?;
    // SAFETY: v is plain data filled by fstatvfs (not hooked).
    let mut v: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid buffer.
    let noexec = unsafe { libc::fstatvfs(fd, &mut v) } == 0 && v.f_flag & libc::ST_NOEXEC != 0;
    // SAFETY: plain id queries.
    let uid = unsafe {
        if effective {
            libc::geteuid()
        } else {
            libc::getuid()
        }
    };
    Ok(registry::exec_permitted(
        st.st_mode,
        st.st_uid,
        st.st_gid,
        uid,
        noexec,
        |g| in_group(g, effective),
    ))
}

/// `access`, `faccessat`, `euidaccess` for an fdset path: `R_OK`/`W_OK` by
/// the modes the set serves, `X_OK` as the kernel answers for the member's
/// file (its mode, ACLs, a `noexec` mount, root and directories).
pub fn access_set(
    call: &str,
    path: &[u8],
    number: SetNumber,
    mode: c_int,
    effective: bool,
) -> c_int {
    let saved = libc_real::errno();
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        libc_real::set_errno(libc::EINVAL);
        return -1;
    }
    let what = || format!("{call} {} mode={}", path_text(path), access_mode_text(mode));
    let r = answer(&what, number).and_then(|a| {
        if let Err(missing) = registry::access_allowed(a.modes, mode) {
            if crate::log::log_enabled() {
                log_access_refused(&what(), a.set, missing);
            }
            return Err(libc::EACCES);
        }
        if mode & libc::X_OK != 0 && !may_execute(a.file.fd, effective)? {
            if crate::log::log_enabled() {
                crate::log::log(&format!(
                    "{}: EACCES: set {} member fd {}: the kernel refuses X_OK on its file",
                    what(),
                    a.set,
                    a.member
                ));
            }
            return Err(libc::EACCES);
        }
        if crate::log::log_enabled() {
            crate::log::log(&format!(
                "{}: set {}: allowed (member fd {})",
                what(),
                a.set,
                a.member
            ));
        }
        Ok(())
    });
    finish(saved, r)
}
