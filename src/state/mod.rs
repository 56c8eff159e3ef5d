//! The shim's process-wide state: the registry behind the owner lock, the
//! settings read at load, and the closes deferred from signal handlers.
//! Hooks and slow paths reach the registry only through [`lock`].

pub mod carry_in_flight;
pub mod control_fds;
pub mod deferred_signals;
pub mod exec_gate;
pub mod fdtable;
pub mod owner_lock;
pub mod process_owner;
mod real_ops;

pub use real_ops::{RealOps, dup_high, member_info, move_high};

use crate::libc_real;
use crate::log::log_closed;
use crate::state::fdtable::FdKind;
use fdset_core::paths::PathConfig;
use fdset_core::registry::{RawFd, Registry};
use once_cell::sync::OnceCell;
use owner_lock::{OwnerGuard, OwnerLock};
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};

/// Numbers at or above this are used for descriptors the shim owns, away from
/// the low numbers programs expect `open()` to hand out.
pub const OWNED_FD_BASE: RawFd = 100;

pub struct State {
    pub registry: Registry,
    /// Shim-owned descriptors that are not set members: control sockets
    /// and the `FDSET_LOG` file.
    pub extra_owned: Vec<RawFd>,
}

pub(crate) static STATE: OwnerLock<State> = OwnerLock::new(State {
    registry: Registry::new(),
    extra_owned: Vec::new(),
});

/// Settings read once from the environment at load.
#[derive(Default)]
pub struct Config {
    pub paths: PathConfig,
}

pub(crate) static CONFIG: OnceCell<Config> = OnceCell::new();
pub(crate) static DEFAULT_CONFIG: Config = Config {
    paths: PathConfig {
        prefixes: Vec::new(),
        aliases: Vec::new(),
    },
};

pub fn config() -> &'static Config {
    CONFIG.get().unwrap_or(&DEFAULT_CONFIG)
}

pub fn set_config(c: Config) {
    let _ = CONFIG.set(c);
}

/// Dups closed by a signal handler while its thread held the lock.
pub(crate) const PENDING_SLOTS: usize = 64;
pub(crate) static PENDING: [AtomicI32; PENDING_SLOTS] =
    [const { AtomicI32::new(-1) }; PENDING_SLOTS];
pub(crate) static PENDING_COUNT: AtomicUsize = AtomicUsize::new(0);

/// The registry lock. Dropping it first forgets the dups closed meanwhile by
/// signal handlers, then unlocks, then raises the signals held back while
/// it was held (`deferred_signals`).
pub struct Locked {
    guard: std::mem::ManuallyDrop<OwnerGuard<'static, State>>,
}

impl std::ops::Deref for Locked {
    type Target = State;
    #[inline]
    fn deref(&self) -> &State {
        &self.guard
    }
}
impl std::ops::DerefMut for Locked {
    #[inline]
    fn deref_mut(&mut self) -> &mut State {
        &mut self.guard
    }
}

impl Drop for Locked {
    #[inline]
    fn drop(&mut self) {
        drain_pending(&mut self.guard);
        // SAFETY: the guard is dropped here, once; `self` is not used after.
        unsafe { std::mem::ManuallyDrop::drop(&mut self.guard) };
        deferred_signals::release();
    }
}

/// Take the registry lock; `None` when this thread already holds it (a signal
/// handler running inside the shim), where waiting would deadlock.
#[inline]
pub fn lock() -> Option<Locked> {
    let mut guard = STATE.lock().ok()?;
    drain_pending(&mut guard);
    Some(Locked {
        guard: std::mem::ManuallyDrop::new(guard),
    })
}

#[inline]
pub(crate) fn drain_pending(st: &mut State) {
    // Closes a handler deferred wait, as other closes do, while another
    // thread's exec or spawn carries the dups.
    if PENDING_COUNT.load(Ordering::Acquire) != 0 && !carry_in_flight::others_carrying() {
        drain_pending_now(st);
    }
}

#[cold]
pub(crate) fn drain_pending_now(st: &mut State) {
    let mut closed = Vec::new();
    for slot in &PENDING {
        let fd = slot.swap(-1, Ordering::AcqRel);
        if fd < 0 {
            continue;
        }
        PENDING_COUNT.fetch_sub(1, Ordering::AcqRel);
        st.registry.forget_dup(&mut RealOps, fd, &mut closed);
        fdtable::mark(fd, FdKind::Free);
        libc_real::close_nocancel(fd);
    }
    log_closed(&closed);
}

/// Queue a dup closed from a signal handler; false when the queue is full.
pub fn defer_close(fd: RawFd) -> bool {
    for slot in &PENDING {
        if slot
            .compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            fdtable::mark(fd, FdKind::PendingClose);
            PENDING_COUNT.fetch_add(1, Ordering::AcqRel);
            return true;
        }
    }
    false
}

/// The dups whose close a signal handler deferred, not yet done.
pub fn pending_closes() -> impl Iterator<Item = RawFd> {
    PENDING
        .iter()
        .map(|slot| slot.load(Ordering::Acquire))
        .filter(|&fd| fd >= 0)
}

/// Release the registry lock that `process::fork`'s prepare handler took
/// and forgot, on both sides of the fork.
///
/// # Safety
/// Only the thread that took the lock before the fork (or the child's only
/// thread) may call this, once.
pub unsafe fn force_unlock_after_fork() {
    // SAFETY: the caller took the lock and forgot the guard.
    unsafe { STATE.force_unlock() };
}
