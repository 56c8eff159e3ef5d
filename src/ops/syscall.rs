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
    if !(OPEN_HOW_SIZE_VER0..=OPEN_HOW_SIZE_MAX).contains(&size) {
        return Some(OpenHow::out_of_range(size));
    }
    // SAFETY: per the contract, the caller's `size` bytes.
    let bytes = unsafe { std::slice::from_raw_parts(how, size) };
    Some(OpenHow::from_bytes(bytes))
}
