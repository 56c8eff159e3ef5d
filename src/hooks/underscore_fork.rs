//! `_Fork` (glibc 2.34): a fork that runs no `pthread_atfork` handlers, so
//! the shim does what its handlers do around `fork` itself (spec section 6:
//! "no lock held at the fork stays held in the child"): a share of the exec
//! gate and the registry lock are taken first, then released on both sides.
//! glibc's own `fork` calls its `_Fork` internally, not this one.

use crate::libc_real;

#[unsafe(no_mangle)]
#[allow(non_snake_case)]
pub unsafe extern "C-unwind" fn _Fork() -> libc::pid_t {
    crate::process::fork::before_fork();
    // SAFETY: no arguments; glibc's _Fork.
    let pid = unsafe { libc_real::underscore_fork() };
    let e = libc_real::errno();
    if pid == 0 {
        crate::process::fork::after_fork_child();
    } else {
        crate::process::fork::after_fork_parent();
    }
    libc_real::set_errno(e);
    pid
}
