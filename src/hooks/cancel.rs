//! Thread cancellation around the slow paths (spec section 6: a thread
//! cancelled inside an open or close of a set is cancelled as libc would
//! cancel it, and the registry stays exact).
//!
//! glibc cancels a thread by unwinding its stack (a forced unwind). The
//! hooks are `extern "C-unwind"` and the real functions are called through
//! `C-unwind` pointers, so a cancellation that acts inside libc's function on
//! a fast path passes through the shim's frames untouched. A slow path runs
//! with cancellation disabled: no forced unwind can start inside it, where
//! `catch_unwind` would meet it (glibc then aborts: "FATAL: exception not
//! rethrown") or where it would leave a dup recorded without its fd. A hook
//! whose libc function is a cancellation point acts on a cancellation
//! already requested at its entry, before anything is done, as libc's own
//! function would; one requested while the slow path runs acts at the
//! thread's next cancellation point, as when it arrives just after libc's
//! system call returned.

use libc::c_int;

unsafe extern "C-unwind" {
    // Declared here rather than taken from the libc crate: these two may
    // unwind (the cancellation itself), which an `extern "C"` declaration
    // would forbid.
    fn pthread_testcancel();
    fn pthread_setcancelstate(state: c_int, old: *mut c_int) -> c_int;
}

/// glibc's values (pthread.h).
const PTHREAD_CANCEL_DISABLE: c_int = 1;

/// A cancellation point: acts on a pending cancellation (unwinds from here).
/// Call it where nothing of the shim's is under way and no `catch_unwind`
/// is on the stack.
#[inline]
pub(super) fn point() {
    // SAFETY: no preconditions; an unwind it starts passes through the
    // caller's C-unwind frames, which hold nothing to undo.
    unsafe { pthread_testcancel() }
}

/// Disable cancellation; returns the state to restore.
#[inline]
pub(super) fn disable() -> c_int {
    let mut old: c_int = 0;
    // SAFETY: a valid pointer; disabling never acts on a cancellation.
    unsafe { pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &mut old) };
    old
}

/// Put back the state [`disable`] returned. With asynchronous cancellation
/// enabled and requested, glibc acts here: the caller has finished its work.
#[inline]
pub(super) fn restore(old: c_int) {
    // SAFETY: `old` came from pthread_setcancelstate; a NULL old pointer is allowed.
    unsafe { pthread_setcancelstate(old, std::ptr::null_mut()) };
}
