//! The mailbox between the program's threads and the control thread: when
//! the program claims the number of a control descriptor (`dup2` onto it),
//! the descriptor moves under the registry lock and the move is recorded
//! here for the control thread, which is woken through its eventfd. Kept in
//! the state layer so that the close family never calls into the control
//! thread's code.

use fdset_core::registry::RawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, MutexGuard};

/// Renumberings `(old, new)` of shim-owned fds not yet applied by the control thread.
static MOVES: Mutex<Vec<(RawFd, RawFd)>> = Mutex::new(Vec::new());
/// The control thread's eventfd, written to wake it after a move.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// This process is a forked child: nothing is served (spec section 7).
static IN_CHILD: AtomicBool = AtomicBool::new(false);

pub fn lock_moves() -> MutexGuard<'static, Vec<(RawFd, RawFd)>> {
    MOVES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A control descriptor moved from `old` to `new` (the program claimed
/// `old`). Called with the registry lock held.
pub fn moved(old: RawFd, new: RawFd) {
    if IN_CHILD.load(Ordering::Acquire) {
        return;
    }
    lock_moves().push((old, new));
    if WAKE_FD.load(Ordering::Acquire) == old {
        WAKE_FD.store(new, Ordering::Release);
    }
    wake();
}

/// The control thread's eventfd, or -1 before it starts (and in a child).
pub fn set_wake_fd(fd: RawFd) {
    WAKE_FD.store(fd, Ordering::Release);
}

/// In a forked child no monitor is served; the control thread did not
/// survive the fork, and its locks may have been held by it, so they are
/// never touched again.
pub fn after_fork_child() {
    IN_CHILD.store(true, Ordering::Release);
    WAKE_FD.store(-1, Ordering::Release);
}

/// This process is a forked child of the one the monitors belong to.
pub fn in_forked_child() -> bool {
    IN_CHILD.load(Ordering::Acquire)
}

/// Wake the control thread so that it applies the moves recorded so far.
pub fn wake() {
    let fd = WAKE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: 8 bytes to an eventfd; write is not hooked. A full counter
        // (EAGAIN) already means "wake up".
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}
