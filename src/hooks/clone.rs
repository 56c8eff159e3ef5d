//! libc's `clone` (spec section 6: "a child made by any fork (`fork`,
//! `_Fork`, `vfork`, `clone` through libc) can use the sets at once").
//! Without `CLONE_VM` the child gets a copy of the parent's memory, and of
//! the registry lock as it was: held for ever if another thread held it.
//! So such a clone is treated as a fork: a share of the exec gate and the
//! registry lock are taken before it, and the child runs the fork child's
//! handler before the caller's function. Not when the child shares the
//! descriptor table (`CLONE_FILES`: the fork child's handler would close
//! the parent's control sockets) or the parent waits for the child's exec
//! (`CLONE_VFORK`: the lock would stay taken for the child's whole life):
//! those pass, as a raw clone does (README "Threads, signals and fork").
//! `CLONE_VM|CLONE_VFORK` (a vfork on a stack of the caller's) is treated
//! as the shim's `vfork`: the child is known to share the parent's memory
//! until it execs. Other `CLONE_VM` children (threads) pass untouched.

use crate::libc_real::{self, CloneFn};
use libc::{c_int, c_void, pid_t};

/// What the child runs: the fork child's handler, then the caller's.
#[repr(C)]
struct Start {
    f: CloneFn,
    arg: *mut c_void,
}

unsafe extern "C" fn start_child(p: *mut c_void) -> c_int {
    // SAFETY: p is the parent's `Start`, in the child's copy of its memory.
    let start = unsafe { &*(p as *const Start) };
    crate::process::fork::after_fork_child();
    // SAFETY: the caller's function with the caller's argument.
    unsafe { (start.f)(start.arg) }
}

/// What `clone` passes on as it came besides the function and its
/// argument: the stack, the flags and the three optional arguments.
#[derive(Clone, Copy)]
struct Passed {
    stack: *mut c_void,
    flags: c_int,
    parent_tid: *mut pid_t,
    tls: *mut c_void,
    child_tid: *mut pid_t,
}

impl Passed {
    /// libc's `clone` with `f(arg)` as the child's start.
    ///
    /// # Safety
    /// As for libc's `clone`.
    unsafe fn clone(self, f: CloneFn, arg: *mut c_void) -> c_int {
        let Passed {
            stack,
            flags,
            parent_tid,
            tls,
            child_tid,
        } = self;
        // SAFETY: per the contract.
        unsafe { libc_real::clone(f, stack, flags, arg, parent_tid, tls, child_tid) }
    }
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
    let passed = Passed {
        stack,
        flags,
        parent_tid,
        tls,
        child_tid,
    };
    let vfork_like = libc::CLONE_VM | libc::CLONE_VFORK;
    if flags & (vfork_like | libc::CLONE_THREAD) == vfork_like {
        // SAFETY: as the caller promised.
        return unsafe { clone_vfork(f, arg, passed) };
    }
    if flags & (libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_FILES) != 0 {
        // SAFETY: forwarded as given.
        return unsafe { passed.clone(f, arg) };
    }
    crate::process::fork::before_fork();
    let start = Start { f, arg };
    let p = &start as *const Start as *mut c_void;
    // SAFETY: the caller's stack and flags; the child starts in start_child
    // with `start` in its copy of this frame (no CLONE_VM).
    let r = unsafe { passed.clone(start_child, p) };
    let e = libc_real::errno();
    crate::process::fork::after_fork_parent();
    libc_real::set_errno(e);
    r
}

/// What a vfork-like child runs first: it ends the share its parent thread
/// took (the same memory), as the shim's `vfork` child does.
unsafe extern "C" fn start_vfork_child(p: *mut c_void) -> c_int {
    // SAFETY: p is the suspended parent's `Start`, in the shared memory.
    let start = unsafe { &*(p as *const Start) };
    crate::state::exec_gate::share_end_quietly();
    // SAFETY: the caller's function with the caller's argument.
    unsafe { (start.f)(start.arg) }
}

/// `clone(CLONE_VM|CLONE_VFORK)`: as the shim's `vfork`, a share of the
/// exec gate for the start, and the hooks in the child know that it runs
/// on its parent's memory (`process_owner::VFORKS_ACTIVE`) until its exec.
///
/// # Safety
/// As for libc's `clone`.
unsafe fn clone_vfork(f: CloneFn, arg: *mut c_void, passed: Passed) -> c_int {
    use crate::state::process_owner::VFORKS_ACTIVE;
    use std::sync::atomic::Ordering;
    VFORKS_ACTIVE.fetch_add(1, Ordering::AcqRel);
    crate::state::exec_gate::share_begin();
    let start = Start { f, arg };
    let p = &start as *const Start as *mut c_void;
    // SAFETY: the caller's stack and flags; `start` outlives the child's
    // use of it (the parent is suspended until the child execs or exits).
    let r = unsafe { passed.clone(start_vfork_child, p) };
    let e = libc_real::errno();
    if r < 0 {
        // No child ended the share.
        crate::state::exec_gate::share_end_quietly();
    }
    VFORKS_ACTIVE.fetch_sub(1, Ordering::AcqRel);
    crate::state::deferred_signals::release();
    libc_real::set_errno(e);
    r
}
