//! libc's `syscall()` (spec section 8): the open, close, dup, stat, access
//! and readlink numbers of the spec are answered exactly as the libc
//! functions the shim hooks (a program calling `syscall(SYS_openat, ...)`
//! on `/dev/fdset/1` gets the set); every other number passes to libc's
//! `syscall` with all six argument words untouched, and its result and
//! `errno` are libc's. `FDSET_IO_URING=0` makes `io_uring_setup` fail with
//! `ENOSYS`, so that runtimes with a fallback (libuv) use calls the shim sees.
//!
//! ABI: `long syscall(long number, ...)` is C-variadic, which Rust cannot
//! define. On x86_64 the exported symbol is a naked trampoline: a number
//! the shim does not serve (one byte of a table says how each number is
//! sorted), or a served one whose path word cannot name a set (tested in
//! place as `may_be_set_path` does: not absolute, or not under `/dev/`
//! with no prefix or alias configured), jumps straight to libc's
//! `syscall` with every register and the stack as the caller left them
//! (`%al`, the sixth word on the stack, all of it), so the pass-through is
//! exactly libc's call. `SYS_close`, `SYS_dup2`, `SYS_dup3` go to those
//! hooks ([`syscall_fds`]); the rest to [`syscall_entry`], a function of
//! seven `long`s, by a jump: in the System V ABI the
//! variadic words arrive where named ones would (number and five words in
//! rdi, rsi, rdx, rcx, r8, r9, the sixth on the stack above the return
//! address), so it reads exactly what glibc's own `syscall` reads (glibc
//! too moves six words into the system call's registers whatever the
//! caller passed; words the caller did not pass are whatever was there,
//! and are passed on unread). On aarch64 (AAPCS64 on Linux, not Apple's
//! variant) all seven arrive in x0-x6, and the exported function is
//! [`syscall_entry`]'s body itself. The words are cast to the libc
//! function's argument types as the kernel truncates them (an `int` is the
//! low 32 bits).

use super::close::{close, close_range, dup3};
use super::open::openat;
use super::path_info::readlinkat;
use super::stat::{faccessat, fstatat, statx};
use crate::libc_real;
use crate::ops::look_path::look_path;
use crate::ops::set_path::fdset_path;
use crate::state::fdtable::{self, FdKind};
#[cfg(target_arch = "x86_64")]
use fdset_core::syscalls::{SERVED_WORDS, class, classes};
use fdset_core::syscalls::{Served, openat2_serves, served};
use libc::{c_char, c_int, c_long, c_uint};

/// How the trampoline sorts each number below 512 (`syscalls::class`).
#[cfg(target_arch = "x86_64")]
static CLASSES: [u8; SERVED_WORDS * 64] = classes();

#[cfg(target_arch = "x86_64")]
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub unsafe extern "C" fn syscall() -> c_long {
    core::arch::naked_asm!(
        "cmp rdi, {last}",
        "ja 2f",
        "lea r11, [rip + {classes}]",
        "movzx r11d, byte ptr [r11 + rdi]",
        "cmp r11d, {path2}",
        "je 5f",
        "test r11d, r11d",
        "jz 2f",
        "cmp r11d, {path1}",
        "je 6f",
        "cmp r11d, {fds}",
        "je 7f",
        "jmp {entry}",
        // Not the shim's: libc's syscall, once resolved (0: not yet, 1: absent).
        "2:",
        "mov r11, qword ptr [rip + {slot}]",
        "cmp r11, 1",
        "jbe 3f",
        "jmp r11",
        "3:",
        "jmp {entry}",
        // A path word: what may_be_set_path / may_be_look_path test in
        // place. With prefixes or aliases configured, or a path that
        // starts with /dev/, the Rust entry decides.
        "5:",
        "mov r10, rdx",
        "jmp 9f",
        "6:",
        "mov r10, rsi",
        "9:",
        "test r10, r10",
        "jz 2b",
        "cmp byte ptr [rip + {extra}], 0",
        "jne 3b",
        "cmp byte ptr [r10], 0x2f",
        "jne 2b",
        "cmp byte ptr [r10 + 1], 0x64",
        "jne 2b",
        "cmp byte ptr [r10 + 2], 0x65",
        "jne 2b",
        "cmp byte ptr [r10 + 3], 0x76",
        "jne 2b",
        "cmp byte ptr [r10 + 4], 0x2f",
        "jne 2b",
        "jmp {entry}",
        // Descriptor words: the hooks of close, dup2, dup3 themselves.
        "7:",
        "jmp {fds_entry}",
        last = const SERVED_WORDS * 64 - 1,
        classes = sym CLASSES,
        path1 = const class::PATH_IN_WORD1,
        path2 = const class::PATH_IN_WORD2,
        fds = const class::DESCRIPTORS,
        extra = sym crate::ops::syscall::EXTRA_PATHS,
        slot = sym libc_real::SYSCALL_SLOT,
        entry = sym syscall_entry,
        fds_entry = sym syscall_fds,
    )
}

/// `SYS_close`, `SYS_dup2`, `SYS_dup3`: the hooks of those functions,
/// whose own fast path (a descriptor that is not the shim's) is libc's call.
///
/// # Safety
/// The words as the caller gave them.
#[cfg(target_arch = "x86_64")]
unsafe extern "C" fn syscall_fds(nr: c_long, a1: c_long, a2: c_long, a3: c_long) -> c_long {
    // SAFETY: the words decoded as the functions' arguments.
    unsafe {
        c_long::from(match nr {
            libc::SYS_dup2 => super::close::dup2(a1 as c_int, a2 as c_int),
            libc::SYS_dup3 => dup3(a1 as c_int, a2 as c_int, a3 as c_int),
            _ => close(a1 as c_int),
        })
    }
}

#[cfg(not(target_arch = "x86_64"))]
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
    // SAFETY: the caller's words, as they came.
    unsafe { syscall_entry(nr, a1, a2, a3, a4, a5, a6) }
}

/// A served number (or libc's `syscall` not resolved yet): an ordinary
/// path or descriptor still goes to libc's `syscall` untouched; a set path
/// or one of the shim's descriptors to the hook of the libc function.
///
/// # Safety
/// The words are the arguments of system call `nr` as the caller gave them.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn syscall_entry(
    nr: c_long,
    a1: c_long,
    a2: c_long,
    a3: c_long,
    a4: c_long,
    a5: c_long,
    a6: c_long,
) -> c_long {
    let free = |w: c_long| fdtable::kind(w as c_int) == FdKind::Free;
    // SAFETY: the path words are read up to their NUL, as the kernel would.
    let pass = unsafe {
        match served(nr) {
            None => true,
            Some(Served::Open | Served::Creat) => fdset_path(a1 as *const c_char).is_none(),
            Some(Served::Openat | Served::Openat2) => fdset_path(a2 as *const c_char).is_none(),
            Some(
                Served::Newfstatat
                | Served::Statx
                | Served::Faccessat
                | Served::Faccessat2
                | Served::Readlinkat,
            ) => look_path(a2 as *const c_char).is_none(),
            Some(Served::Close) => free(a1),
            Some(Served::Dup2 | Served::Dup3) => free(a1) && free(a2),
            Some(Served::CloseRange) => false,
            Some(Served::IoUringSetup) => !crate::ops::syscall::io_uring_off(),
        }
    };
    if pass {
        // SAFETY: the caller's words, passed on as libc's syscall would.
        return unsafe { libc_real::syscall(nr, a1, a2, a3, a4, a5, a6) };
    }
    let Some(call) = served(nr) else {
        return -1;
    };
    // SAFETY: each word is decoded as the call's C prototype has it; the
    // hooks check what they read as libc would.
    unsafe { answer(call, nr, [a1, a2, a3, a4, a5, a6]) }
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
