//! `posix_spawn_file_actions_*`: passed to libc unchanged, and recorded
//! (`carry::file_actions`) so that a spawn knows which descriptor numbers
//! the caller's actions write in the child.

use super::guarded;
use crate::carry::file_actions::{added, destroyed, initialised};
use crate::libc_real;
use libc::{c_char, c_int, mode_t, posix_spawn_file_actions_t as Actions};

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_init(fa: *mut Actions) -> c_int {
    // SAFETY: the caller's object, passed on.
    let r = unsafe { libc_real::fa_init(fa) };
    if r == 0 {
        guarded((), || initialised(fa));
    }
    r
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_destroy(fa: *mut Actions) -> c_int {
    guarded((), || destroyed(fa));
    // SAFETY: the caller's object, passed on.
    unsafe { libc_real::fa_destroy(fa) }
}

/// Record an action libc accepted (`r == 0`).
///
/// # Safety
/// `fa` is the caller's initialised object.
unsafe fn note(
    r: c_int,
    fa: *mut Actions,
    target: Option<c_int>,
    closefrom: Option<c_int>,
) -> c_int {
    if r == 0 {
        // SAFETY: per the contract.
        guarded((), || unsafe { added(fa, target, closefrom) });
    }
    r
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_addclose(
    fa: *mut Actions,
    fd: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on; then recorded.
    unsafe { note(libc_real::fa_addclose(fa, fd), fa, Some(fd), None) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_adddup2(
    fa: *mut Actions,
    fd: c_int,
    newfd: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on; then recorded.
    unsafe { note(libc_real::fa_adddup2(fa, fd, newfd), fa, Some(newfd), None) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_addopen(
    fa: *mut Actions,
    fd: c_int,
    path: *const c_char,
    oflag: c_int,
    mode: mode_t,
) -> c_int {
    // SAFETY: the caller's arguments, passed on; then recorded.
    unsafe {
        note(
            libc_real::fa_addopen(fa, fd, path, oflag, mode),
            fa,
            Some(fd),
            None,
        )
    }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_addclosefrom_np(
    fa: *mut Actions,
    from: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on; then recorded.
    unsafe { note(libc_real::fa_addclosefrom(fa, from), fa, None, Some(from)) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_addchdir_np(
    fa: *mut Actions,
    path: *const c_char,
) -> c_int {
    // SAFETY: the caller's arguments, passed on; then counted.
    unsafe { note(libc_real::fa_addchdir(fa, path), fa, None, None) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_addfchdir_np(
    fa: *mut Actions,
    fd: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on; then counted.
    unsafe { note(libc_real::fa_addfchdir(fa, fd), fa, None, None) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn posix_spawn_file_actions_addtcsetpgrp_np(
    fa: *mut Actions,
    tcfd: c_int,
) -> c_int {
    // SAFETY: the caller's arguments, passed on; then counted.
    unsafe { note(libc_real::fa_addtcsetpgrp(fa, tcfd), fa, None, None) }
}
