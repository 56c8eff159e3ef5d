//! The fork handlers: the exec gate is shared (a fork waits while another
//! thread prepares an exec that carries the sets) and the registry lock is
//! taken before a fork so the child's copy is consistent, and released on
//! both sides; the child then drops what it must not serve (state, then
//! control). `pthread_atfork` runs them around `fork`; the shim's `_Fork`
//! (which runs no atfork handlers) calls them itself.

use crate::libc_real;
use crate::state::fdtable::FdKind;
use crate::state::process_owner::*;
use crate::state::{self, exec_gate, fdtable, lock};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The registry lock is held across the fork (taken by [`before_fork`]).
static FORK_HELD: AtomicUsize = AtomicUsize::new(0);

/// Before a fork: a share of the exec gate, then the registry lock (held
/// across the fork; released by the parent and child handlers).
pub(crate) fn before_fork() {
    exec_gate::share_begin();
    if let Some(l) = lock() {
        std::mem::forget(l);
        FORK_HELD.store(1, Ordering::Release);
    }
}

pub(crate) fn release_after_fork() {
    if FORK_HELD.swap(0, Ordering::AcqRel) == 1 {
        // SAFETY: this thread took the lock in before_fork and forgot the guard.
        unsafe { state::force_unlock_after_fork() };
    }
}

pub(crate) fn after_fork_parent() {
    release_after_fork();
    exec_gate::share_end();
}

pub(crate) fn after_fork_child() {
    record_owner_pid();
    release_after_fork();
    // Only this thread exists in the child: nothing of the parent's
    // threads' holds on the gate is the child's.
    exec_gate::after_fork_child();
    crate::state::carry_in_flight::after_fork_child();
    crate::carry::spawn::after_fork_child();
    crate::state::deferred_signals::after_fork_child();
    if let Some(mut st) = lock() {
        // The child has no monitor of its own and nobody who could remove
        // its sets: they stay in use for its life (spec section 7).
        st.registry.child_after_fork();
        // Its copies of the control sockets are not served; the log file
        // stays, so that the child logs too.
        let owned = std::mem::take(&mut st.extra_owned);
        let (log_file, control): (Vec<_>, Vec<_>) = owned
            .into_iter()
            .partition(|&fd| crate::log::is_log_file(fd));
        st.extra_owned = log_file;
        for fd in control {
            fdtable::mark(fd, FdKind::Free);
            libc_real::close(fd);
        }
    }
    crate::state::control_fds::after_fork_child();
}

extern "C" fn atfork_prepare() {
    before_fork();
}

extern "C" fn atfork_parent() {
    after_fork_parent();
}

extern "C" fn atfork_child() {
    after_fork_child();
}

pub fn register_atfork() {
    // SAFETY: the handlers are plain extern "C" functions that live forever.
    unsafe {
        libc::pthread_atfork(
            Some(atfork_prepare),
            Some(atfork_parent),
            Some(atfork_child),
        );
    }
}
