//! `posix_spawn`, `posix_spawnp`, `system`, `popen`, `pclose`: children
//! started inside libc, where no hook runs, get the sets too.

use super::guarded;
use crate::libc_real::{self, CharPP};
use libc::{FILE, c_char, c_int};

#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawn(
    pid: *mut libc::pid_t,
    path: *const c_char,
    fa: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: CharPP,
    envp: CharPP,
) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged to the same libc
    // call (or to the shim's version of it, which makes that call).
    guarded(libc::EIO, || unsafe {
        crate::carry::spawn::spawn(libc_real::posix_spawn, pid, path, fa, attr, argv, envp)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn posix_spawnp(
    pid: *mut libc::pid_t,
    file: *const c_char,
    fa: *const libc::posix_spawn_file_actions_t,
    attr: *const libc::posix_spawnattr_t,
    argv: CharPP,
    envp: CharPP,
) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged to the same libc
    // call (or to the shim's version of it, which makes that call).
    guarded(libc::EIO, || unsafe {
        crate::carry::spawn::spawn(libc_real::posix_spawnp, pid, file, fa, attr, argv, envp)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn system(cmd: *const c_char) -> c_int {
    if cmd.is_null() {
        // SAFETY: "is there a shell" query.
        return unsafe { libc_real::system(cmd) };
    }
    // SAFETY: the caller's arguments, passed on unchanged to the same libc
    // call (or to the shim's version of it, which makes that call).
    guarded(-1, || unsafe {
        crate::carry::spawn::system(cmd).unwrap_or_else(|| libc_real::system(cmd))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn popen(cmd: *const c_char, mode: *const c_char) -> *mut FILE {
    // SAFETY: the caller's arguments, passed on unchanged to the same libc
    // call (or to the shim's version of it, which makes that call).
    guarded(std::ptr::null_mut(), || unsafe {
        crate::carry::spawn::popen(cmd, mode).unwrap_or_else(|| libc_real::popen(cmd, mode))
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn pclose(stream: *mut FILE) -> c_int {
    // SAFETY: the caller's arguments, passed on unchanged to the same libc
    // call (or to the shim's version of it, which makes that call).
    guarded(-1, || unsafe {
        crate::carry::spawn::pclose(stream).unwrap_or_else(|| libc_real::pclose(stream))
    })
}
