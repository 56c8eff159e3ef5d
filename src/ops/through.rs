//! Calls that act on the file behind a set path without opening it
//! (`truncate`, `utimensat`, `getxattr`, `statfs`; spec section 8) go
//! through one of the set's members: a private duplicate of it, taken under
//! the registry lock (so the member cannot be closed and its number reused
//! meanwhile) and used after it (the call may block on a network file
//! system). The rule which member is `Registry::pick`.

use crate::libc_real;
use crate::log::{errno_name, log, log_enabled};
use fdset_core::registry::{Errno, Need, PickOutcome, RawFd};

/// The private duplicate; closed on drop, errno kept. With no descriptor
/// free for it, the member itself, with the lock held until the call is
/// done ([`keep_lock_at_fd_limit`]).
pub struct Through {
    pub fd: RawFd,
    pub set: u64,
    pub member: RawFd,
    held: Option<crate::state::Locked>,
}

impl Drop for Through {
    fn drop(&mut self) {
        if self.held.is_none() {
            let saved = libc_real::errno();
            // Our own temporary descriptor.
            libc_real::close(self.fd);
            libc_real::set_errno(saved);
        }
    }
}

/// After the private duplicate of a member was asked for (`dup`, under
/// `st`): the lock, kept, when the duplicate failed only because the
/// process is at its descriptor limit (`EMFILE`, `ENFILE`). The call then
/// goes through the member itself, which the held lock keeps from being
/// closed or renumbered; the kernel would not say `EMFILE` for a path call.
/// Otherwise the lock is released here.
pub fn keep_lock_at_fd_limit(
    dup: Option<RawFd>,
    st: crate::state::Locked,
) -> Option<crate::state::Locked> {
    let at_limit =
        dup.is_some_and(|fd| fd < 0) && matches!(libc_real::errno(), libc::EMFILE | libc::ENFILE);
    at_limit.then_some(st)
}

/// The member of `set` that a call with `need` goes through. Failures are
/// logged here with `what` (the call and its path, e.g. `truncate
/// /dev/fdset/1`).
pub fn through(what: &dyn Fn() -> String, set: u64, need: Need) -> Result<Through, Errno> {
    let Some(st) = crate::state::lock() else {
        // A signal handler interrupted this thread inside the shim.
        return Err(libc::EAGAIN);
    };
    let outcome = st.registry.pick(set, need);
    let dup = match outcome {
        PickOutcome::Picked { member, .. } => {
            Some(libc_real::fcntl_int(member, libc::F_DUPFD_CLOEXEC, 0))
        }
        _ => None,
    };
    let held = keep_lock_at_fd_limit(dup, st);
    let member = match outcome {
        PickOutcome::Picked { member, .. } => member,
        PickOutcome::NoSuchSet { .. } => {
            if log_enabled() {
                log(&format!("{}: ENOENT: set {set} does not exist", what()));
            }
            return Err(libc::ENOENT);
        }
        PickOutcome::NoVisibleMember { .. } => {
            if log_enabled() {
                log(&format!(
                    "{}: ENOENT: set {set} has no member left (all removed; only open dups keep it)",
                    what()
                ));
            }
            return Err(libc::ENOENT);
        }
        PickOutcome::NoWritableMember { .. } => {
            if log_enabled() {
                log(&format!(
                    "{}: EACCES: set {set} has no O_WRONLY or O_RDWR member",
                    what()
                ));
            }
            return Err(libc::EACCES);
        }
    };
    match dup {
        Some(fd) if fd >= 0 => Ok(Through {
            fd,
            set,
            member,
            held: None,
        }),
        _ if held.is_some() => Ok(Through {
            fd: member,
            set,
            member,
            held,
        }),
        _ => {
            let e = libc_real::errno();
            if log_enabled() {
                log(&format!(
                    "{}: set {set} member fd {member}: dup failed: {}",
                    what(),
                    errno_name(e)
                ));
            }
            Err(e)
        }
    }
}

/// Whether set `set` has a member a program could find (for `readlink`
/// and `realpath`, which need no descriptor): `ENOENT` otherwise, logged
/// like [`through`].
pub fn exists(what: &dyn Fn() -> String, set: u64) -> Result<(), Errno> {
    let Some(st) = crate::state::lock() else {
        return Err(libc::EAGAIN);
    };
    let outcome = st.registry.pick(set, Need::Any);
    drop(st);
    let why = match outcome {
        PickOutcome::Picked { .. } => return Ok(()),
        PickOutcome::NoSuchSet { .. } => "does not exist",
        _ => "has no member left (all removed; only open dups keep it)",
    };
    if log_enabled() {
        log(&format!("{}: ENOENT: set {set} {why}", what()));
    }
    Err(libc::ENOENT)
}

/// Run `f` on the member `set` offers for `need` and return its result
/// the way the libc call would: `f`'s value on success (errno as it was
/// before the call), -1 with errno set on failure. `f` returns a negative
/// value with errno set when it fails. The decision is logged.
pub fn call_through<R: Copy + PartialOrd + From<i8>>(
    what: &dyn Fn() -> String,
    set: u64,
    need: Need,
    f: impl FnOnce(RawFd) -> R,
) -> R {
    let saved = libc_real::errno();
    let t = match through(what, set, need) {
        Ok(t) => t,
        Err(e) => {
            libc_real::set_errno(e);
            return R::from(-1);
        }
    };
    let r = f(t.fd);
    let failed = r < R::from(0);
    let e = libc_real::errno();
    if log_enabled() {
        let result = if failed {
            format!(": {}", errno_name(e))
        } else {
            String::new()
        };
        log(&format!(
            "{}: set {}: through member fd {}{result}",
            what(),
            t.set,
            t.member
        ));
    }
    drop(t);
    libc_real::set_errno(if failed { e } else { saved });
    r
}
