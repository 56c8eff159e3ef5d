//! What the `syscall()` hook needs beyond the other hooks (spec section 8):
//! the `FDSET_IO_URING` setting and the reading of `openat2`'s
//! `struct open_how`.

use fdset_core::syscalls::{OPEN_HOW_SIZE_MAX, OPEN_HOW_SIZE_VER0, OpenHow};
use std::sync::atomic::{AtomicBool, Ordering};

/// `FDSET_IO_URING=0`: `io_uring_setup` through `syscall()` fails with
/// `ENOSYS`. Set once by the constructor.
static IO_URING_OFF: AtomicBool = AtomicBool::new(false);

/// Whether `FDSET_PREFIX` or `FDSET_ALIAS` name paths: then the x86_64
/// `syscall` trampoline, and the path hooks' in-place test
/// (`set_path::may_be_set_path`), cannot rule a path out by its first
/// bytes. Set once by the constructor, after the configuration; read by
/// the trampoline as a byte.
pub static EXTRA_PATHS: AtomicBool = AtomicBool::new(false);

pub fn set_extra_paths(on: bool) {
    EXTRA_PATHS.store(on, Ordering::Release);
}

pub fn set_io_uring_off(off: bool) {
    IO_URING_OFF.store(off, Ordering::Relaxed);
}

#[inline]
pub fn io_uring_off() -> bool {
    IO_URING_OFF.load(Ordering::Relaxed)
}

/// The caller's `struct open_how` of `size` bytes; `None` when `how` is
/// NULL (the kernel's `EFAULT`, left to the kernel). Only called for a set
/// path, after `size` was checked to be at most a page.
///
/// # Safety
/// `how` is NULL or valid for `size` bytes, as the kernel requires.
pub unsafe fn read_open_how(how: *const u8, size: usize) -> Option<OpenHow> {
    if how.is_null() {
        return None;
    }
    let word = |i: usize| {
        let mut b = [0u8; 8];
        // SAFETY: per the contract, i * 8 + 8 <= OPEN_HOW_SIZE_VER0 <= size.
        unsafe { std::ptr::copy_nonoverlapping(how.add(i * 8), b.as_mut_ptr(), 8) };
        u64::from_ne_bytes(b)
    };
    if !(OPEN_HOW_SIZE_VER0..=OPEN_HOW_SIZE_MAX).contains(&size) {
        return Some(OpenHow {
            flags: 0,
            mode: 0,
            resolve: 0,
            size,
            extra_set: false,
        });
    }
    // SAFETY: per the contract: bytes VER0..size are the caller's.
    let extra_set = (OPEN_HOW_SIZE_VER0..size).any(|i| unsafe { *how.add(i) } != 0);
    Some(OpenHow {
        flags: word(0),
        mode: word(1),
        resolve: word(2),
        size,
        extra_set,
    })
}
