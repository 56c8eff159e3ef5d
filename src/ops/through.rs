//! Calls that act on the file behind a set path without opening it
//! (`truncate`, `utimensat`, `getxattr`, `statfs`; spec section 8) go
//! through one of the set's members: a private duplicate of it, taken under
//! the registry lock (so the member cannot be closed and its number reused
//! meanwhile) and used after it (the call may block on a network file
//! system). The rule which member is `Registry::pick`.

use crate::libc_real;
use crate::log::{errno_name, log, log_enabled};
use fdset_core::registry::{Errno, Need, PickOutcome, RawFd};

/// The descriptor one call goes through: a private duplicate of a member,
/// taken under the registry lock (so the member cannot be closed and its
/// number reused meanwhile) and used after it (the call may block on a
/// network file system); closed on drop, errno kept. Where no duplicate
/// can be made (the process at its descriptor limit: the kernel never says
/// `EMFILE` for a path call), the member itself, with the lock held until
/// drop.
pub struct MemberFd {
    pub fd: RawFd,
    held: Option<crate::state::Locked>,
}

impl MemberFd {
    /// The descriptor for `member` of `set`, taken under `st` (released
    /// here unless it must be held); a failure is logged with `what`.
    pub fn take(
        what: &dyn Fn() -> String,
        set: u64,
        member: RawFd,
        st: crate::state::Locked,
    ) -> Result<MemberFd, Errno> {
        let dup = libc_real::fcntl_int(member, libc::F_DUPFD_CLOEXEC, 0);
        if dup >= 0 {
            drop(st);
            return Ok(MemberFd {
                fd: dup,
                held: None,
            });
        }
        let e = libc_real::errno();
        if matches!(e, libc::EMFILE | libc::ENFILE) {
            return Ok(MemberFd {
                fd: member,
                held: Some(st),
            });
        }
        drop(st);
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

impl Drop for MemberFd {
    fn drop(&mut self) {
        if self.held.is_none() {
            let saved = libc_real::errno();
            // Our own temporary descriptor.
            libc_real::close(self.fd);
            libc_real::set_errno(saved);
        }
    }
}

/// What a call goes through: the descriptor, and which member it is.
pub struct Through {
    pub file: MemberFd,
    pub set: u64,
    pub member: RawFd,
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
    let member = match outcome {
        PickOutcome::Picked { member, .. } => member,
        PickOutcome::NoSuchSet { .. } => {
            drop(st);
            if log_enabled() {
                log(&format!("{}: ENOENT: set {set} does not exist", what()));
            }
            return Err(libc::ENOENT);
        }
        PickOutcome::NoVisibleMember { .. } => {
            drop(st);
            if log_enabled() {
                log(&format!(
                    "{}: ENOENT: set {set} has no member left (all removed; only open dups keep it)",
                    what()
                ));
            }
            return Err(libc::ENOENT);
        }
        PickOutcome::NoWritableMember { .. } => {
            drop(st);
            if log_enabled() {
                log(&format!(
                    "{}: EACCES: set {set} has no O_WRONLY or O_RDWR member",
                    what()
                ));
            }
            return Err(libc::EACCES);
        }
    };
    let file = MemberFd::take(what, set, member, st)?;
    Ok(Through { file, set, member })
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
    let r = f(t.file.fd);
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
