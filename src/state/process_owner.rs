//! Which process the registry belongs to: a `vfork` child shares the
//! parent's memory and must not change it.

use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

// ---------------------------------------------------------------- fork

/// The process the registry belongs to. A child made by `vfork` (or a raw
/// `clone` that shares memory) runs hooks with the parent's memory: there,
/// nothing may change the registry or the fd table.
pub(crate) static OWNER_PID: AtomicI32 = AtomicI32::new(0);

pub fn record_owner_pid() {
    // SAFETY: no preconditions.
    OWNER_PID.store(unsafe { libc::getpid() }, Ordering::Release);
}

/// Whether this hook runs in a process other than the registry's owner
/// (exact: one `getpid` system call).
pub fn foreign_process() -> bool {
    // SAFETY: no preconditions.
    let pid = unsafe { libc::getpid() };
    pid != OWNER_PID.load(Ordering::Acquire)
}

/// `vfork` calls under way in this address space (the shim's `vfork`
/// counts them). Only while one is, can a hook run in a child that shares
/// the registry's memory, so the hot paths ask `getpid` only then.
pub static VFORKS_ACTIVE: AtomicUsize = AtomicUsize::new(0);

/// [`foreign_process`] for the hot paths: free unless a `vfork` is under
/// way. (A child of a raw `clone` without `CLONE_VM` has its own copy of
/// the registry, which it may change.)
#[inline]
pub fn in_vfork_child() -> bool {
    if cfg!(target_arch = "x86_64") && VFORKS_ACTIVE.load(Ordering::Acquire) == 0 {
        return false;
    }
    foreign_process()
}

/// Whether this is the copy of the registry in a child made by a raw
/// `fork`/`clone` system call (no `CLONE_VM`), which the shim did not see:
/// another process, and no `vfork` of the shim's under way (a vfork child
/// runs on its parent's memory, whose lock holder is real). Asked only by a
/// thread that has waited for the registry lock a while: there, a holder
/// that was another thread of the parent can never release it.
pub fn orphaned_copy() -> bool {
    VFORKS_ACTIVE.load(Ordering::Acquire) == 0 && foreign_process()
}
