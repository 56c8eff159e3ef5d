//! libc's `syscall()` (spec section 8): the open, close, dup, stat, access
//! and readlink numbers of the spec are answered exactly as the libc
//! functions the shim hooks (a program calling `syscall(SYS_openat, ...)`
//! on `/dev/fdset/1` gets the set); every other number passes to libc's
//! `syscall` with all six argument words untouched, and its result and
//! `errno` are libc's. `FDSET_IO_URING=0` makes `io_uring_setup` fail with
//! `ENOSYS`, so that runtimes with a fallback (libuv) use calls the shim sees.
//!
//! ABI: `long syscall(long number, ...)` is C-variadic, which Rust cannot
//! define. On the Linux ABIs this shim supports the variadic words arrive
//! where named ones would: x86_64 (System V) passes the number and the
//! first five words in rdi, rsi, rdx, rcx, r8, r9 and the sixth on the
//! stack just above the return address; aarch64 (AAPCS64 on Linux, not
//! Apple's variant) passes all seven in x0-x6. So a function of seven
//! `long`s reads exactly what glibc's own `syscall` reads (glibc too moves
//! six words into the system call's registers whatever the caller passed;
//! words the caller did not pass are whatever was there, and are passed on
//! unread). x86_64's `%al` (the number of vector registers a variadic
//! callee may have to save) carries nothing `syscall` uses. The words are
//! cast to the libc function's argument types as the kernel would truncate
//! them (an `int` is the low 32 bits).

use super::close::{close, close_range, dup3};
use super::open::openat;
use super::path_info::readlinkat;
use super::stat::{faccessat, fstatat, statx};
use crate::libc_real;
use fdset_core::syscalls::{Served, openat2_serves, served};
use libc::{c_char, c_int, c_long, c_uint};

#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn syscall(
    nr: c_long,
    a1: c_long,
    a2: c_long,
    a3: c_long,
    a4: c_long,
    a5: c_long,
    a6: c_long,
) -> c_long {
    match served(nr) {
        // SAFETY: the caller's words, passed on as libc's syscall would.
        None => unsafe { libc_real::syscall(nr, a1, a2, a3, a4, a5, a6) },
        // SAFETY: each word is decoded as the call's C prototype has it;
        // the hooks check what they read as libc would.
        Some(call) => unsafe { answer(call, nr, [a1, a2, a3, a4, a5, a6]) },
    }
}

/// The answer for a served number: the hook of the same libc function.
///
/// # Safety
/// The words are the arguments of system call `nr` as the caller gave them.
#[inline(never)]
unsafe fn answer(call: Served, nr: c_long, a: [c_long; 6]) -> c_long {
    let int = |i: usize| a[i] as c_int;
    let uint = |i: usize| a[i] as c_uint;
    let ptr = |i: usize| a[i] as *const c_char;
    // SAFETY: in every arm, the words decoded as the libc function's
    // arguments, which it checks as libc would.
    unsafe {
        match call {
            #[cfg(target_arch = "x86_64")]
            Served::Open => c_long::from(super::open::open(ptr(0), int(1), uint(2))),
            #[cfg(target_arch = "x86_64")]
            Served::Creat => c_long::from(super::open::creat(ptr(0), uint(1) as libc::mode_t)),
            #[cfg(target_arch = "x86_64")]
            Served::Dup2 => c_long::from(super::close::dup2(int(0), int(1))),
            #[cfg(not(target_arch = "x86_64"))]
            Served::Open | Served::Creat | Served::Dup2 => {
                libc_real::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5])
            }
            Served::Openat => c_long::from(openat(int(0), ptr(1), int(2), uint(3))),
            Served::Openat2 => openat2(nr, a),
            Served::Close => c_long::from(close(int(0))),
            Served::CloseRange => c_long::from(close_range(uint(0), uint(1), int(2))),
            Served::Dup3 => c_long::from(dup3(int(0), int(1), int(2))),
            Served::Newfstatat => {
                c_long::from(fstatat(int(0), ptr(1), a[2] as *mut libc::stat, int(3)))
            }
            Served::Statx => c_long::from(statx(
                int(0),
                ptr(1),
                int(2),
                uint(3),
                a[4] as *mut libc::statx,
            )),
            // The kernel's faccessat takes no flags.
            Served::Faccessat => c_long::from(faccessat(int(0), ptr(1), int(2), 0)),
            Served::Faccessat2 => c_long::from(faccessat(int(0), ptr(1), int(2), int(3))),
            Served::Readlinkat => {
                readlinkat(int(0), ptr(1), a[2] as *mut c_char, a[3] as usize) as c_long
            }
            Served::IoUringSetup => {
                if crate::ops::syscall::io_uring_off() {
                    libc_real::set_errno(libc::ENOSYS);
                    -1
                } else {
                    libc_real::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5])
                }
            }
        }
    }
}

/// `openat2(dirfd, path, how, size)`: a set path is `openat` with the
/// request's flags and mode, unless it asks for `RESOLVE_BENEATH` or
/// `RESOLVE_IN_ROOT` (an absolute path names no set there) or the kernel
/// would refuse the request anyway; those, and every other path, go to
/// the kernel.
///
/// # Safety
/// As for the system call.
unsafe fn openat2(nr: c_long, a: [c_long; 6]) -> c_long {
    let (dirfd, path) = (a[0] as c_int, a[1] as *const c_char);
    // SAFETY: the caller's path, read up to its NUL as the kernel would.
    let is_set = unsafe { crate::ops::set_path::fdset_path(path) }.is_some();
    if is_set {
        // SAFETY: the caller's struct open_how of a[3] bytes.
        let how = unsafe { crate::ops::syscall::read_open_how(a[2] as *const u8, a[3] as usize) };
        if let Some((flags, mode)) = how.as_ref().and_then(openat2_serves) {
            // SAFETY: openat's hook with the request's flags and mode.
            return c_long::from(unsafe { openat(dirfd, path, flags, mode) });
        }
    }
    // SAFETY: the caller's words, passed on as libc's syscall would.
    unsafe { libc_real::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) }
}
