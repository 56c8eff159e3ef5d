//! The registry lock: a spin lock whose word holds the holding thread's
//! `pthread_self()`.
//!
//! A hook entered again on the thread that holds the lock can only be a
//! signal handler that interrupted the shim; waiting would deadlock, so the
//! lock says so instead. Keeping the holder in the lock word itself makes
//! that check part of the one atomic instruction that takes the lock: no
//! thread-local lookup on the hot path, and no window between "locked" and
//! "locked by me" for a signal to fall into.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Rounds of `spin_loop` (PAUSE) a waiter spends before it starts yielding
/// the CPU: the hot paths make no system call under this lock, so a holder
/// running on another CPU is usually out within this (about half a
/// microsecond), and a `sched_yield` that switches to another runnable
/// thread costs more than that. A holder that was preempted is not out:
/// then the waiter yields, so that the holder gets to run.
const SPINS_BEFORE_YIELD: u32 = 20;

/// No thread holds the lock. `pthread_self()` is never 0 (it is the address
/// of the thread's descriptor on glibc and musl).
const UNLOCKED: usize = 0;

pub struct OwnerLock<T> {
    holder: AtomicUsize,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and one guard exists at
// a time (the holder word is taken with compare-exchange).
unsafe impl<T: Send> Sync for OwnerLock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for OwnerLock<T> {}

/// Why [`OwnerLock::lock`] gave no guard.
#[derive(Debug, PartialEq, Eq)]
pub struct HeldByThisThread;

#[inline]
fn this_thread() -> usize {
    // SAFETY: no preconditions; reads the thread pointer.
    unsafe { libc::pthread_self() as usize }
}

impl<T> OwnerLock<T> {
    pub const fn new(value: T) -> Self {
        OwnerLock {
            holder: AtomicUsize::new(UNLOCKED),
            value: UnsafeCell::new(value),
        }
    }

    /// Take the lock, waiting (spinning briefly, then yielding the CPU, so
    /// that a preempted holder gets to run) while another thread holds it.
    #[inline]
    pub fn lock(&self) -> Result<OwnerGuard<'_, T>, HeldByThisThread> {
        let me = this_thread();
        match self
            .holder
            .compare_exchange(UNLOCKED, me, Ordering::Acquire, Ordering::Relaxed)
        {
            Ok(_) => Ok(OwnerGuard { lock: self }),
            Err(holder) => self.lock_contended(me, holder),
        }
    }

    #[cold]
    fn lock_contended(
        &self,
        me: usize,
        mut holder: usize,
    ) -> Result<OwnerGuard<'_, T>, HeldByThisThread> {
        let mut spins = SPINS_BEFORE_YIELD;
        let mut yields = 0u32;
        loop {
            if holder == me {
                return Err(HeldByThisThread);
            }
            if holder == UNLOCKED {
                match self.holder.compare_exchange_weak(
                    UNLOCKED,
                    me,
                    Ordering::Acquire,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => return Ok(OwnerGuard { lock: self }),
                    Err(h) => {
                        holder = h;
                        continue;
                    }
                }
            }
            if spins > 0 {
                spins -= 1;
                std::hint::spin_loop();
            } else {
                yields = yields.wrapping_add(1);
                if yields.is_multiple_of(256) && super::process_owner::orphaned_copy() {
                    // A child of a raw fork/clone system call: the holder was a
                    // thread of the parent and does not exist here.
                    return Err(HeldByThisThread);
                }
                // SAFETY: no preconditions.
                unsafe { libc::sched_yield() };
            }
            holder = self.holder.load(Ordering::Relaxed);
        }
    }

    /// Whether this very thread holds the lock (so a signal handler runs
    /// on it, which interrupted the shim).
    pub fn held_by_this_thread(&self) -> bool {
        self.holder.load(Ordering::Relaxed) == this_thread()
    }

    /// Release a lock whose guard was forgotten (held across `fork()`).
    ///
    /// # Safety
    /// No guard of this lock may be alive.
    pub unsafe fn force_unlock(&self) {
        self.holder.store(UNLOCKED, Ordering::Release);
    }
}

pub struct OwnerGuard<'a, T> {
    lock: &'a OwnerLock<T>,
}

impl<T> Deref for OwnerGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: this guard is the only one (see `Sync`).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for OwnerGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as above, and `&mut self` makes the borrow unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for OwnerGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.lock.holder.store(UNLOCKED, Ordering::Release);
    }
}
