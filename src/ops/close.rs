//! The close family on descriptors the fd table marks: dups (the refcount
//! rules) and shim-owned numbers (members and control sockets, which the
//! program cannot close).

use crate::libc_real;
use crate::log::*;
use crate::state::carry_in_flight::lock_for_closing;
use crate::state::fdtable::FdKind;
use crate::state::process_owner::*;
use crate::state::{self, OWNED_FD_BASE, RealOps, State, fdtable};
use fdset_core::registry::{Errno, RawFd};

// ---------------------------------------------------------------- close

/// `close(fd)` for a descriptor the fd table marks (not `FREE`).
pub fn close_marked(fd: RawFd, kind: FdKind) -> i32 {
    match kind {
        FdKind::Owned | FdKind::PendingClose => {
            // The program must not close what is the shim's: to it the
            // number is not open.
            libc_real::set_errno(libc::EBADF);
            -1
        }
        _ => close_dup(fd),
    }
}

pub(crate) fn close_dup(fd: RawFd) -> i32 {
    if in_vfork_child() {
        // A vfork child: its descriptor table is its own, the registry is
        // the parent's.
        return libc_real::close_nocancel(fd);
    }
    let Some(mut st) = lock_for_closing() else {
        // Inside a signal handler that interrupted the shim: the dup is
        // forgotten and closed when the interrupted call unlocks (in the
        // child of a raw fork, whose copy of the lock nobody will release,
        // it is closed at once).
        if !crate::state::process_owner::orphaned_copy() && state::defer_close(fd) {
            return 0;
        }
        fdtable::mark(fd, FdKind::Free);
        return libc_real::close_nocancel(fd);
    };
    let mut closed = Vec::new();
    let k = fdtable::kind(fd);
    if k == FdKind::Owned || k == FdKind::PendingClose {
        drop(st);
        libc_real::set_errno(libc::EBADF);
        return -1;
    }
    fdtable::mark(fd, FdKind::Free);
    st.registry.forget_dup(&mut RealOps, fd, &mut closed);
    drop(st);
    // Closed once the registry has forgotten it, so that the number cannot
    // be handed out again before that; and after the lock is released, so
    // that other threads do not wait for the system call.
    let r = libc_real::close_nocancel(fd);
    let e = libc_real::errno();
    log_closed(&closed);
    libc_real::set_errno(e);
    r
}

/// Before a libc call that will close `fd` by itself (`fclose`, `freopen`):
/// forget it if it is a dup; if it is the shim's own, move the shim's copy
/// away so that the call closes only the program's.
pub fn forget_before_implicit_close(fd: RawFd) {
    if fdtable::kind(fd) == FdKind::Free || in_vfork_child() {
        return;
    }
    let Some(mut st) = lock_for_closing() else {
        return;
    };
    let mut closed = Vec::new();
    match fdtable::kind(fd) {
        FdKind::Dup | FdKind::Unknown => {
            st.registry.forget_dup(&mut RealOps, fd, &mut closed);
            fdtable::mark(fd, FdKind::Free);
        }
        FdKind::Owned => {
            let _ = disown(&mut st, fd);
        }
        _ => {}
    }
    drop(st);
    log_closed(&closed);
}

/// Hand the number `fd`, which the shim owns, over to the program: what is
/// there moves to another number, and `fd` stays open as the program's own
/// (a copy), for the caller's `dup2`/`fclose` to replace or close. Call with
/// the lock held.
pub fn disown(st: &mut State, fd: RawFd) -> Result<(), Errno> {
    let new = libc_real::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, OWNED_FD_BASE.max(fd + 1));
    let new = if new < 0 {
        libc_real::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, 3)
    } else {
        new
    };
    if new < 0 {
        return Err(libc_real::errno());
    }
    fdtable::mark(new, FdKind::Owned);
    if !st.registry.renumber(fd, new) {
        if let Some(slot) = st.extra_owned.iter_mut().find(|f| **f == fd) {
            *slot = new;
        }
        crate::log::fd_moved(fd, new);
        crate::state::control_fds::moved(fd, new);
    }
    fdtable::mark(fd, FdKind::Free);
    Ok(())
}

/// libc's `dup2` (`flags` is `None`) or `dup3`.
fn real_dup_onto(old: RawFd, new: RawFd, flags: Option<i32>) -> i32 {
    match flags {
        None => libc_real::dup2(old, new),
        Some(f) => libc_real::dup3(old, new, f),
    }
}

/// `dup2`/`dup3` (`flags` is `None` for dup2) onto a number the fd table marks.
pub fn dup_onto_marked(old: RawFd, new: RawFd, flags: Option<i32>) -> i32 {
    if in_vfork_child() {
        return real_dup_onto(old, new, flags);
    }
    let saved = libc_real::errno();
    let Some(mut st) = lock_for_closing() else {
        libc_real::set_errno(libc::EAGAIN);
        return -1;
    };
    if old == new {
        drop(st);
        // dup2(x, x) checks x and closes nothing; dup3(x, x) is EINVAL.
        return real_dup_onto(old, new, flags);
    }
    if fdtable::kind(old) == FdKind::Owned || fdtable::kind(old) == FdKind::PendingClose {
        drop(st);
        libc_real::set_errno(libc::EBADF);
        return -1;
    }
    let kind = fdtable::kind(new);
    if kind == FdKind::Owned
        && let Err(e) = disown(&mut st, new)
    {
        drop(st);
        libc_real::set_errno(e);
        return -1;
    }
    let r = real_dup_onto(old, new, flags);
    let e = libc_real::errno();
    let mut closed = Vec::new();
    if r < 0 && kind == FdKind::Owned {
        // The copy left at `new` by disown() was not replaced.
        libc_real::close(new);
    }
    if r >= 0 && kind != FdKind::Owned {
        // The dup that was at `new` was closed by the call.
        st.registry.forget_dup(&mut RealOps, new, &mut closed);
        fdtable::mark(new, FdKind::Free);
    }
    drop(st);
    log_closed(&closed);
    libc_real::set_errno(if r >= 0 { saved } else { e });
    r
}

/// `close_range(first, last, flags)`: dups in the range are forgotten, the
/// shim's own descriptors are stepped over.
pub fn close_range(first: u32, last: u32, flags: i32) -> i32 {
    let known = libc::CLOSE_RANGE_CLOEXEC as i32 | libc::CLOSE_RANGE_UNSHARE as i32;
    if first > last || flags & !known != 0 || flags & libc::CLOSE_RANGE_CLOEXEC as i32 != 0 {
        // Errors, and marking close-on-exec (the shim's descriptors already
        // are), are the kernel's business alone.
        return libc_real::close_range(first, last, flags);
    }
    let saved = libc_real::errno();
    let Some(mut st) = lock_for_closing() else {
        libc_real::set_errno(libc::EAGAIN);
        return -1;
    };
    let in_range = |fd: RawFd| fd >= 0 && (fd as u32) >= first && (fd as u32) <= last;
    let mut owned: Vec<RawFd> = st
        .registry
        .member_fds()
        .chain(st.extra_owned.iter().copied())
        .filter(|&fd| in_range(fd))
        .collect();
    let mut pending = Vec::new();
    for fd in state::pending_closes() {
        if in_range(fd) {
            pending.push(fd);
        }
    }
    owned.extend(pending);
    owned.sort_unstable();
    owned.dedup();
    let foreign = in_vfork_child();
    let dups: Vec<RawFd> = if foreign {
        Vec::new()
    } else {
        st.registry.dup_fds().filter(|&fd| in_range(fd)).collect()
    };
    for &fd in &dups {
        fdtable::mark(fd, FdKind::Free);
    }
    let mut r = 0;
    let mut e = 0;
    let mut lo = first;
    for &fd in &owned {
        let fd = fd as u32;
        if fd > lo && libc_real::close_range(lo, fd - 1, flags) < 0 && r == 0 {
            r = -1;
            e = libc_real::errno();
        }
        lo = fd.saturating_add(1);
        if fd == u32::MAX {
            break;
        }
    }
    if owned.last().is_none_or(|&l| (l as u32) < last)
        && lo <= last
        && libc_real::close_range(lo, last, flags) < 0
        && r == 0
    {
        r = -1;
        e = libc_real::errno();
    }
    let mut closed = Vec::new();
    for fd in dups {
        st.registry.forget_dup(&mut RealOps, fd, &mut closed);
    }
    drop(st);
    log_closed(&closed);
    libc_real::set_errno(if r == 0 { saved } else { e });
    r
}

/// `closefrom(low)`: `close_range(low, ~0U, 0)`, falling back to closing
/// one by one when the kernel has no close_range.
pub fn closefrom(low: i32) {
    let low = low.max(0) as u32;
    let saved = libc_real::errno();
    if close_range(low, u32::MAX, 0) < 0 && libc_real::errno() == libc::ENOSYS {
        // SAFETY: getrlimit fills a plain struct.
        let mut rl: libc::rlimit = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer.
        let max = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 {
            rl.rlim_cur.min(fdtable::TABLE_SIZE as u64) as u32
        } else {
            1024
        };
        for fd in low..max {
            let fd = fd as i32;
            let k = fdtable::kind(fd);
            if k == FdKind::Free {
                libc_real::close(fd);
            } else if k != FdKind::Owned {
                close_marked(fd, k);
            }
        }
    }
    libc_real::set_errno(saved);
}

/// Put dup `fd` at another number, the lowest free one, and close `fd`;
/// the registry follows. Returns the new number, or -1 (then `fd` is
/// closed like any dup, and errno says why).
pub fn move_dup_elsewhere(fd: RawFd) -> RawFd {
    move_dup_by(fd, || libc_real::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, 0))
}

/// Put dup `fd` at number `target` (which the program's stream holds) and
/// close `fd`; the registry follows. Returns `target` or -1.
pub fn move_dup(fd: RawFd, target: RawFd, cloexec: bool) -> RawFd {
    let flags = if cloexec { libc::O_CLOEXEC } else { 0 };
    move_dup_by(fd, || libc_real::dup3(fd, target, flags))
}

/// Copy dup `fd` with `copy` (its new number, or -1 with errno set) under
/// the lock, record the copy in its place and close `fd`; when the copy
/// fails, `fd` is closed like any dup.
fn move_dup_by(fd: RawFd, copy: impl FnOnce() -> RawFd) -> RawFd {
    let Some(mut st) = lock_for_closing() else {
        libc_real::set_errno(libc::EAGAIN);
        return -1;
    };
    let new = copy();
    if new < 0 {
        let e = libc_real::errno();
        drop(st);
        close_marked(fd, fdtable::kind(fd));
        libc_real::set_errno(e);
        return -1;
    }
    st.registry.renumber_dup(fd, new);
    fdtable::mark(new, FdKind::Dup);
    fdtable::mark(fd, FdKind::Free);
    libc_real::close(fd);
    new
}
