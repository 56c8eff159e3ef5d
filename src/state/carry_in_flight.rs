//! Dups stay open while a carry is in flight (spec section 7: "the new
//! program image sees the same sets, the same recorded dups"). The state an
//! exec or spawn carries names the dups open when it was collected; the
//! program starts a moment later (the exec, or the spawn's child). A dup
//! another thread closes in between would be missing in the new program
//! (which refuses a state naming a closed descriptor), or its number, taken
//! again by an ordinary open, counted as a dup there. So from the
//! collection (under the registry lock) until the program has started or
//! the start failed, the closes of dups by other threads wait: they take
//! the registry lock through [`lock_for_closing`].
//!
//! The thread that carries never waits for itself; a signal handler cannot
//! run on it meanwhile (an exec holds every signal blocked, a spawn holds
//! them back). A waiting close holds no lock while it waits, and a carry
//! never waits for a close, so the wait ends with the carry.

use super::{Locked, lock};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Carries in flight in the process.
static CARRIES: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Of those, this thread's.
    static MINE: Cell<usize> = const { Cell::new(0) };
}

/// A carry in flight, from the collection of the state until dropped
/// (once the program started, or its start failed).
pub struct Carrying(());

/// Begin a carry; call with the registry lock held, before the dups are
/// read, so that a close that takes the lock later sees it.
pub fn begin(_held: &Locked) -> Carrying {
    CARRIES.fetch_add(1, Ordering::AcqRel);
    MINE.with(|m| m.set(m.get() + 1));
    Carrying(())
}

impl Drop for Carrying {
    fn drop(&mut self) {
        MINE.with(|m| m.set(m.get().saturating_sub(1)));
        CARRIES.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether a carry of another thread is in flight.
#[inline]
pub fn others_carrying() -> bool {
    // The thread-local count only when some carry is in flight at all.
    let all = CARRIES.load(Ordering::Acquire);
    all != 0 && all > mine()
}

/// This thread's carries in flight, out of line: inlined, the compiler
/// computes the thread-local's address (a `__tls_get_addr` call) on entry
/// to every caller, the hot `lock()` among them, carry or not.
#[cold]
#[inline(never)]
fn mine() -> usize {
    MINE.with(Cell::get)
}

/// The registry lock for forgetting and closing dups: while another
/// thread's carry is in flight, wait (yielding) until it ends.
pub fn lock_for_closing() -> Option<Locked> {
    loop {
        let st = lock()?;
        if !others_carrying() {
            return Some(st);
        }
        drop(st);
        // SAFETY: no preconditions.
        unsafe { libc::sched_yield() };
    }
}

/// In a fork's child only the forking thread exists: the other threads'
/// carries are not the child's.
pub fn after_fork_child() {
    CARRIES.store(MINE.with(Cell::get), Ordering::Release);
}
