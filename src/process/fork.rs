//! The `pthread_atfork` handlers: the registry lock is taken before a fork
//! so the child's copy is consistent, and released on both sides; the child
//! then drops what it must not serve (state, then control).

use crate::libc_real;
use crate::state::fdtable::FdKind;
use crate::state::process_owner::*;
use crate::state::{self, fdtable, lock};
use std::sync::atomic::{AtomicUsize, Ordering};

/// child's copy of the registry is consistent and unlocked.
/// `pthread_atfork` handlers: the lock is taken before the fork so that the
static FORK_HELD: AtomicUsize = AtomicUsize::new(0);

extern "C" fn atfork_prepare() {
    if let Some(l) = lock() {
        // Held across fork(); released by the parent and child handlers.
        std::mem::forget(l);
        FORK_HELD.store(1, Ordering::Release);
    }
}

pub(crate) fn release_after_fork() {
    if FORK_HELD.swap(0, Ordering::AcqRel) == 1 {
        // SAFETY: this thread took the lock in atfork_prepare and forgot the guard.
        unsafe { state::force_unlock_after_fork() };
    }
}

extern "C" fn atfork_parent() {
    release_after_fork();
}

extern "C" fn atfork_child() {
    record_owner_pid();
    release_after_fork();
    // Only this thread exists in the child.
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
