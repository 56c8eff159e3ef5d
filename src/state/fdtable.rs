//! What the shim knows about each descriptor number, readable without a lock.
//!
//! The hooks consult this on every `close()`/`dup2()`: a number marked `FREE`
//! is none of the shim's business and goes straight to libc. Entries are only
//! written while the registry lock is held.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// Not the shim's: the program's own descriptor, or not open.
pub const FREE: u8 = 0;
/// A dup handed out by an fdset open; closing it updates a refcount.
pub const DUP: u8 = 1;
/// Owned by the shim (a set member, a control socket): the program must not
/// be able to close it.
pub const OWNED: u8 = 2;
/// A dup the program closed from a signal handler that interrupted the shim:
/// still open, forgotten at the next unlock.
pub const PENDING_CLOSE: u8 = 3;
/// Returned for numbers beyond the table when some tracked number lies there.
pub const UNKNOWN: u8 = 4;

/// Covers every number a default `RLIMIT_NOFILE` hard limit allows; the pages
/// stay untouched (zero) until a number is marked.
pub const TABLE_SIZE: usize = 1 << 20;

static TABLE: [AtomicU8; TABLE_SIZE] = [const { AtomicU8::new(FREE) }; TABLE_SIZE];
/// Some tracked number is >= TABLE_SIZE: those go to the slow path.
static BEYOND: AtomicBool = AtomicBool::new(false);

#[inline]
pub fn kind(fd: i32) -> u8 {
    if fd < 0 {
        return FREE;
    }
    match TABLE.get(fd as usize) {
        Some(slot) => slot.load(Ordering::Acquire),
        None if BEYOND.load(Ordering::Acquire) => UNKNOWN,
        None => FREE,
    }
}

/// Set the kind of `fd` (call with the registry lock held).
pub fn mark(fd: i32, k: u8) {
    if fd < 0 {
        return;
    }
    match TABLE.get(fd as usize) {
        Some(slot) => slot.store(k, Ordering::Release),
        None => {
            if k != FREE {
                BEYOND.store(true, Ordering::Release);
            }
        }
    }
}
