//! `FDSET_ADD_FD`: the launch-time members, taken in before `main`.

use crate::libc_real;
use crate::log::*;
use crate::state::fdtable::FdKind;
use crate::state::{dup_high, fdtable, lock, member_info};
use fdset_core::registry::RawFd;

// ---------------------------------------------------------------- launch

/// Take launch-time members (`FDSET_ADD_FD`) into the registry. Every spec is
/// checked first, so that a bad one stops the program before any fd changes.
pub fn add_launch_sets(specs: &[fdset_core::launch::add_fd::AddFdSpec]) -> Result<(), String> {
    let inheritable = |fd: i32| {
        let f = libc_real::fcntl_int(fd, libc::F_GETFD, 0);
        f >= 0 && f & libc::FD_CLOEXEC == 0
    };
    let mut checked = Vec::with_capacity(specs.len());
    for spec in specs {
        let (fd, set) = spec.check(inheritable).map_err(str::to_string)?;
        checked.push((fd, set, spec.opaque.clone()));
    }
    let Some(mut st) = lock() else {
        return Err("internal error: registry locked at start-up".to_string());
    };
    for (fd, set, opaque) in &checked {
        let info =
            member_info(*fd).map_err(|_| fdset_core::launch::add_fd::FD_INVALID.to_string())?;
        let owned = dup_high(*fd).map_err(|e| {
            let hint = if matches!(e, libc::EMFILE | libc::ENFILE) {
                " (each member takes a second descriptor at start-up: raise the limit on \
                 open files, ulimit -n)"
            } else {
                ""
            };
            format!(
                "cannot duplicate fd {fd} for set {set}: {}{hint}",
                errno_name(e)
            )
        })?;
        fdtable::mark(owned, FdKind::Owned);
        st.registry
            .add_member(Some(*set), owned, opaque.clone(), info);
    }
    // As QEMU does, the originals are closed only once every spec has its
    // duplicate, so one fd named in several specs is a member of each set.
    let mut originals: Vec<RawFd> = checked.iter().map(|c| c.0).collect();
    originals.sort_unstable();
    originals.dedup();
    for fd in originals {
        libc_real::close(fd);
    }
    Ok(())
}
