//! The open of a set path: a dup of the chosen member, recorded under the lock.

use crate::state::fdtable::FdKind;
use fdset_core::paths::NotASetNumber;

use crate::libc_real;
use crate::log::*;
use crate::state::process_owner::*;
use crate::state::{RealOps, fdtable, lock};
use fdset_core::paths::SetNumber;
use fdset_core::registry::{OpenOutcome, RawFd};

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
    let Some(mut st) = lock() else {
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
        st.registry.clone().open(&mut RealOps, set, flags)
    } else {
        st.registry
            .open_with_closed(&mut RealOps, set, flags, &mut closed)
    };
    if let OpenOutcome::Opened { dup, .. } = outcome
        && !foreign
    {
        fdtable::mark(dup, FdKind::Dup);
    }
    drop(st);
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
