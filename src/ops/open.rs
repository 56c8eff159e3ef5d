//! The open of a set path: a dup of the chosen member, recorded under the lock.

use crate::state::fdtable::FdKind;
use fdset_core::paths::NotASetNumber;

use crate::libc_real;
use crate::log::*;
use crate::state::process_owner::*;
use crate::state::{Locked, RealOps, fdtable, lock};
use fdset_core::paths::SetNumber;
use fdset_core::registry::{ClosedMember, OpenOutcome, RawFd, Recorded};

// ---------------------------------------------------------------- open

/// Open an fd set for a path that named one; returns the new fd or -1 with
/// errno set. On success errno is left as it was. `path` gives the path's
/// bytes for the log (measured only when logging).
pub fn open_set<'p>(path: impl Fn() -> &'p [u8], number: SetNumber, flags: i32) -> RawFd {
    if flags & libc::O_PATH != 0 {
        return super::open_path::open_o_path(path, number, flags);
    }
    let saved = libc_real::errno();
    let set = match number {
        Ok(n) => n,
        Err(NotASetNumber) => {
            if log_enabled() {
                let path = path();
                log(&format!(
                    "open {}: EINVAL: '{}' is not a set number (0..2147483647)",
                    String::from_utf8_lossy(path),
                    String::from_utf8_lossy(path.rsplit(|&b| b == b'/').next().unwrap_or(b""))
                ));
            }
            libc_real::set_errno(libc::EINVAL);
            return -1;
        }
    };
    let Some(st) = lock() else {
        // A signal handler interrupted this thread inside the shim.
        libc_real::set_errno(libc::EAGAIN);
        return -1;
    };
    if flags & libc::O_DIRECTORY != 0
        && let Err(member) = super::open_path::directory_check(&st, set, flags)
    {
        drop(st);
        return super::open_path::not_a_directory(path(), set, member, flags);
    }
    let foreign = in_vfork_child();
    let mut closed = Vec::new();
    let outcome = if foreign {
        // A vfork child shares the parent's memory: open from a copy, and
        // record nothing (its dup is a plain descriptor of the child's).
        let outcome = st.registry.clone().open(&mut RealOps, set, flags);
        drop(st);
        outcome
    } else {
        open_in_two_steps(st, set, flags, &mut closed)
    };
    if log_enabled() {
        log_open(path(), flags, &outcome);
    }
    log_closed(&closed);
    match outcome.result() {
        Ok(fd) => {
            libc_real::set_errno(saved);
            fd
        }
        Err(e) => {
            libc_real::set_errno(e);
            -1
        }
    }
}

/// Times a dup made without the lock may be thrown away because a member
/// changed meanwhile, before the dup is made with the lock held.
const UNLOCKED_DUP_TRIES: usize = 3;

/// The open of set `set` in the steps of `fdset_core`'s `two_step.rs`: the
/// member chosen under the lock `st`, duplicated without it, the dup
/// recorded (and marked in the fd table) under the lock again, the open's
/// flags applied without it. Other threads wait only for the bookkeeping.
fn open_in_two_steps(
    mut st: Locked,
    set: u64,
    flags: i32,
    closed: &mut Vec<ClosedMember>,
) -> OpenOutcome {
    let mut recorded = None;
    for _ in 0..UNLOCKED_DUP_TRIES {
        let plan = match st.registry.plan_open(&mut RealOps, set, flags) {
            Ok(plan) => plan,
            Err(refused) => return refused,
        };
        drop(st);
        let made = plan.dup(&mut RealOps);
        // EBADF: the member was closed meanwhile; try again.
        if let Err(e) = made
            && e != libc::EBADF
        {
            return plan.dup_failed(e);
        }
        st = match lock() {
            Some(st) => st,
            None => {
                // lock() gives no guard only to a thread that holds the lock
                // already (a signal handler inside the shim), or in the child
                // of a raw fork whose copy a parent thread held: either way
                // the first lock() above would have failed already.
                if let Ok(fd) = made {
                    libc_real::close_nocancel(fd);
                }
                return plan.dup_failed(libc::EAGAIN);
            }
        };
        if let Ok(fd) = made {
            match st.registry.record_planned(&mut RealOps, &plan, fd, closed) {
                Recorded::Dup(d) => {
                    recorded = Some(d);
                    break;
                }
                Recorded::Failed(failed) => return failed,
                // Maybe a copy of whatever took the member's number: not ours.
                Recorded::Again => {
                    libc_real::close_nocancel(fd);
                }
            }
        }
    }
    let d = match recorded {
        Some(d) => d,
        None => match st.registry.open_dup(&mut RealOps, set, flags, closed) {
            Ok(d) => d,
            Err(failed) => return failed,
        },
    };
    fdtable::mark(d.dup, FdKind::Dup);
    drop(st);
    let Err((errno, what)) = d.apply_flags(&mut RealOps) else {
        return d.opened();
    };
    match lock() {
        Some(mut st) => st.registry.undo_open(&mut RealOps, &d, errno, what, closed),
        None => {
            // As above: cannot happen; closed like any dup.
            crate::ops::close::close_dup(d.dup);
            OpenOutcome::SyscallFailed {
                set,
                member: d.member,
                errno,
                what,
            }
        }
    }
}
