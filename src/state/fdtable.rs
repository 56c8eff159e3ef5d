//! What the shim knows about each descriptor number, readable without a lock.
//!
//! The hooks consult this on every `close()`/`dup2()`: a number marked `FREE`
//! is none of the shim's business and goes straight to libc. Entries are only
//! written while the registry lock is held.

use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// What a descriptor number is to the shim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum FdKind {
    /// Not the shim's: the program's own descriptor, or not open.
    Free = 0,
    /// A dup handed out by an fdset open; closing it updates a refcount.
    Dup = 1,
    /// Owned by the shim (a set member, a control socket): the program must
    /// not be able to close it.
    Owned = 2,
    /// A dup the program closed from a signal handler that interrupted the
    /// shim: still open, forgotten at the next unlock.
    PendingClose = 3,
    /// Returned for numbers beyond the table when some tracked number lies there.
    Unknown = 4,
}

impl FdKind {
    #[inline(always)]
    fn from_u8(v: u8) -> FdKind {
        match v {
            0 => FdKind::Free,
            1 => FdKind::Dup,
            2 => FdKind::Owned,
            3 => FdKind::PendingClose,
            _ => FdKind::Unknown,
        }
    }
}

/// Covers every number a default `RLIMIT_NOFILE` hard limit allows; the pages
/// stay untouched (zero) until a number is marked.
pub const TABLE_SIZE: usize = 1 << 20;

static TABLE: [AtomicU8; TABLE_SIZE] = [const { AtomicU8::new(FdKind::Free as u8) }; TABLE_SIZE];
/// Some tracked number is >= TABLE_SIZE: those go to the slow path.
static BEYOND: AtomicBool = AtomicBool::new(false);

#[inline]
pub fn kind(fd: i32) -> FdKind {
    if fd < 0 {
        return FdKind::Free;
    }
    match TABLE.get(fd as usize) {
        Some(slot) => FdKind::from_u8(slot.load(Ordering::Acquire)),
        None if BEYOND.load(Ordering::Acquire) => FdKind::Unknown,
        None => FdKind::Free,
    }
}

/// Set the kind of `fd` (call with the registry lock held).
pub fn mark(fd: i32, k: FdKind) {
    if fd < 0 {
        return;
    }
    match TABLE.get(fd as usize) {
        Some(slot) => slot.store(k as u8, Ordering::Release),
        None => {
            if k != FdKind::Free {
                BEYOND.store(true, Ordering::Release);
            }
        }
    }
}
