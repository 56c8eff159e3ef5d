//! libc's `clone` (spec section 6: "a child made by any fork (`fork`,
//! `_Fork`, `vfork`, `clone` through libc) can use the sets at once").
//! Without `CLONE_VM` the child gets a copy of the parent's memory, and of
//! the registry lock as it was: held for ever if another thread held it.
//! So such a clone is treated as a fork: a share of the exec gate and the
//! registry lock are taken before it, and the child runs the fork child's
//! handler before the caller's function. With `CLONE_VM` (a thread, or a
//! child that shares the memory) the lock is the parent's own: untouched.

use crate::libc_real::{self, CloneFn};
use libc::{c_int, c_void, pid_t};

/// What the child runs: the fork child's handler, then the caller's.
#[repr(C)]
struct Start {
    f: CloneFn,
    arg: *mut c_void,
}

extern "C" fn start_child(p: *mut c_void) -> c_int {
    // SAFETY: p is the parent's `Start`, in the child's copy of its memory.
    let start = unsafe { &*(p as *const Start) };
    crate::process::fork::after_fork_child();
    // SAFETY: the caller's function with the caller's argument.
    unsafe { (start.f)(start.arg) }
}

/// `clone(fn, stack, flags, arg, ...)`: the three optional arguments
/// (`parent_tid`, `tls`, `child_tid`) are passed on as they came (x86_64
/// passes variadic and named arguments alike; libc reads them only when
/// `flags` asks).
///
/// # Safety
/// As for libc's `clone`.
#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn clone(
    f: CloneFn,
    stack: *mut c_void,
    flags: c_int,
    arg: *mut c_void,
    parent_tid: *mut pid_t,
    tls: *mut c_void,
    child_tid: *mut pid_t,
) -> c_int {
    if flags & libc::CLONE_VM != 0 {
        // SAFETY: forwarded as given.
        return unsafe { libc_real::clone(f, stack, flags, arg, parent_tid, tls, child_tid) };
    }
    crate::process::fork::before_fork();
    let start = Start { f, arg };
    let p = &start as *const Start as *mut c_void;
    // SAFETY: the caller's stack and flags; the child starts in start_child
    // with `start` in its copy of this frame (no CLONE_VM).
    let r = unsafe { libc_real::clone(start_child, stack, flags, p, parent_tid, tls, child_tid) };
    let e = libc_real::errno();
    crate::process::fork::after_fork_parent();
    libc_real::set_errno(e);
    r
}
