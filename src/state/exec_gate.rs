//! The exec gate (spec section 7): while one thread prepares an exec that
//! carries the sets, the members and the state memfd are inheritable for a
//! moment; no other thread may start a program meanwhile, or that program
//! would inherit them. Starting a program is a *share* of the gate (many at
//! once: `fork`, `vfork`, `_Fork`, `posix_spawn*`, `system`, `popen`, an
//! exec that carries nothing); preparing an exec that carries the sets
//! *holds* it alone, from before the members are made inheritable until the
//! exec has happened (the process image is gone) or failed (everything is
//! close-on-exec again, then the gate is released).
//!
//! A thread waits by yielding the CPU, as for the registry lock. A thread
//! that holds a share, holds the gate, or holds the registry lock (only a
//! signal handler that interrupted it can start a program then) never
//! waits on the gate at all: waiting could be waiting for itself, or for a
//! holder that waits for its share or its registry lock. What such a start
//! may overlap is handled where it lands: the child of a fork, and a
//! `vfork` child before its exec, make the exposed descriptors close-on-exec
//! in their own table ([`hide_exposed`]); an exec that cannot hold the gate
//! carries nothing and hides them first. A `vfork` child does not use the
//! gate otherwise: its descriptor table is its own copy, from which no other
//! thread starts programs.
//!
//! Lock order: the gate, then the registry lock (never the other way).

use fdset_core::registry::RawFd;
use std::cell::Cell;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// The holder's bit; the low bits count the shares.
const HELD: usize = 1 << (usize::BITS - 1);

/// `HELD | shares`.
pub(crate) static GATE: AtomicUsize = AtomicUsize::new(0);
/// `pthread_self()` of the thread holding the gate (0: none).
static HOLDER: AtomicUsize = AtomicUsize::new(0);

/// The descriptors the holder made inheritable (its own copy of
/// `Prepared::inherit`), for a fork child to make close-on-exec again.
static EXPOSED: AtomicPtr<RawFd> = AtomicPtr::new(std::ptr::null_mut());
static EXPOSED_LEN: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Shares this thread holds (more than one only when a signal handler
    /// started a program while its thread was starting one).
    static MY_SHARES: Cell<usize> = const { Cell::new(0) };
    /// Of those, the quiet ones (see [`QuietShare`]).
    static MY_QUIET_SHARES: Cell<usize> = const { Cell::new(0) };
}

fn this_thread() -> usize {
    // SAFETY: no preconditions.
    unsafe { libc::pthread_self() as usize }
}

fn relax() {
    // SAFETY: no preconditions.
    unsafe { libc::sched_yield() };
}

/// A share of the gate, released when dropped.
pub struct Share(());

/// Take a share: wait while another thread prepares an exec.
pub fn share() -> Share {
    share_begin();
    Share(())
}

impl Drop for Share {
    fn drop(&mut self) {
        share_end();
    }
}

/// Whether this thread must not wait on the gate (see the module's notes):
/// it holds a share or the gate, or the registry lock.
fn exempt() -> bool {
    MY_SHARES.with(Cell::get) > 0
        || HOLDER.load(Ordering::Acquire) == this_thread()
        || super::STATE.held_by_this_thread()
}

/// Take a share (see [`share`]; the fork handlers and the shim's `vfork`
/// pair this with [`share_end`] themselves).
pub extern "C" fn share_begin() {
    let exempt = exempt();
    loop {
        let g = GATE.load(Ordering::Acquire);
        if g & HELD == 0 || exempt {
            if GATE
                .compare_exchange_weak(g, g + 1, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                break;
            }
            continue;
        }
        relax();
    }
    MY_SHARES.with(|n| n.set(n.get() + 1));
}

/// End a share taken with [`share_begin`]; signals held back meanwhile
/// are raised again.
pub extern "C" fn share_end() {
    share_end_quietly();
    super::deferred_signals::release();
}

/// [`share_end`] without raising held-back signals: in a `vfork` child,
/// which ends the share its parent thread took (the same memory and
/// thread-local block); the parent raises them when it resumes.
pub extern "C" fn share_end_quietly() {
    MY_SHARES.with(|n| n.set(n.get().saturating_sub(1)));
    GATE.fetch_sub(1, Ordering::AcqRel);
}

/// Whether this thread holds a share that signals are held back for
/// (`deferred_signals`): a fork's or a spawn's. A quiet share is not one,
/// nor is the whole gate (held with signals blocked, see [`hold`]).
pub fn busy_here() -> bool {
    MY_SHARES.with(Cell::get) > MY_QUIET_SHARES.with(Cell::get)
}

/// A share during which signals are not held back: an exec's that carries
/// nothing (a signal held back there would be lost with the process
/// image), and libc's own `system` and `popen` (which may run for long:
/// the program's handlers must not wait for the command to end).
pub struct QuietShare(Share);

pub fn quiet_share() -> QuietShare {
    let s = share();
    MY_QUIET_SHARES.with(|n| n.set(n.get() + 1));
    QuietShare(s)
}

impl Drop for QuietShare {
    fn drop(&mut self) {
        MY_QUIET_SHARES.with(|n| n.set(n.get().saturating_sub(1)));
    }
}

/// What [`hold`] got.
pub enum Hold {
    /// This thread holds the gate alone: it may expose the members.
    Held(Held),
    /// A signal handler that interrupted this thread while it was starting
    /// a program, or inside the shim, execs: it must not wait, so the exec
    /// carries nothing (and hides what a holder exposed, [`hide_exposed`]).
    Plain,
}

/// The gate held by this thread for an exec that carries the sets. Every
/// signal is blocked on the thread from before the gate is taken until the
/// exec is called, and again from its return (it failed) until the gate is
/// released: no handler runs (or jumps away) while the members are
/// inheritable; the signals wait, as pending signals do, and reach the
/// program's handlers (or the new image) as they would have.
pub struct Held {
    /// False when this thread held it already (a handler that interrupted
    /// its own exec preparation): nothing to release then.
    owner: bool,
    /// What the exec made inheritable, for a fork child to hide.
    exposed: Vec<RawFd>,
    /// The thread's signal mask before the gate was taken.
    mask: libc::sigset_t,
}

/// Block every signal on this thread; the mask it had.
pub(crate) fn block_all() -> libc::sigset_t {
    // SAFETY: plain data, filled by sigfillset / pthread_sigmask.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid signal sets.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
    }
    old
}

/// This thread's signal mask `mask` again.
pub(crate) fn set_mask(mask: &libc::sigset_t) {
    // SAFETY: a valid signal set.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, mask, std::ptr::null_mut()) };
}

/// Hold the gate alone: wait for another holder, then for every other
/// thread's share to end.
pub fn hold() -> Hold {
    let me = this_thread();
    if HOLDER.load(Ordering::Acquire) == me {
        // A signal handler execs while its thread prepares an exec: what
        // that one made inheritable must not reach this exec's program.
        hide_exposed();
        // SAFETY: plain data; unused for a nested hold.
        let mask = unsafe { std::mem::zeroed() };
        return Hold::Held(Held {
            owner: false,
            exposed: Vec::new(),
            mask,
        });
    }
    if exempt() {
        return Hold::Plain;
    }
    let mask = block_all();
    loop {
        let g = GATE.load(Ordering::Acquire);
        if g & HELD == 0
            && GATE
                .compare_exchange_weak(g, g | HELD, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            break;
        }
        relax();
    }
    HOLDER.store(me, Ordering::Release);
    while GATE.load(Ordering::Acquire) & !HELD > 0 {
        relax();
    }
    Hold::Held(Held {
        owner: true,
        exposed: Vec::new(),
        mask,
    })
}

impl Held {
    /// The program's signal mask again, for the exec itself.
    pub fn unblock(&self) {
        if self.owner {
            set_mask(&self.mask);
        }
    }

    /// Every signal blocked again (the exec failed).
    pub fn block(&self) {
        if self.owner {
            block_all();
        }
    }

    /// Record what is about to be made inheritable.
    pub fn exposing(&mut self, fds: &[RawFd]) {
        if !self.owner {
            return;
        }
        EXPOSED_LEN.store(0, Ordering::Release);
        self.exposed = fds.to_vec();
        EXPOSED.store(self.exposed.as_mut_ptr(), Ordering::Release);
        EXPOSED_LEN.store(self.exposed.len(), Ordering::Release);
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.owner {
            EXPOSED_LEN.store(0, Ordering::Release);
            EXPOSED.store(std::ptr::null_mut(), Ordering::Release);
            HOLDER.store(0, Ordering::Release);
            GATE.fetch_and(!HELD, Ordering::AcqRel);
            set_mask(&self.mask);
        }
    }
}

/// Make close-on-exec, in this process's descriptor table, what the gate's
/// holder made inheritable: in the child of a fork made while an exec was
/// being prepared (by a handler on the preparing thread), in a `vfork`
/// child, or before a nested exec. The holder's own table is not touched
/// when this runs in a child.
pub fn hide_exposed() {
    let len = EXPOSED_LEN.load(Ordering::Acquire);
    let p = EXPOSED.load(Ordering::Acquire);
    if len == 0 || p.is_null() {
        return;
    }
    // SAFETY: the holder keeps `p..p+len` alive until it clears the record
    // (in this memory or its copy); a child reads its copy.
    let fds = unsafe { std::slice::from_raw_parts(p, len) };
    for &fd in fds {
        crate::libc_real::fcntl_int(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    }
}

/// In the child of a fork: only this thread exists. What the parent's
/// threads held of the gate is theirs, not the child's; whatever an exec
/// being prepared made inheritable is made close-on-exec again.
pub fn after_fork_child() {
    hide_exposed();
    EXPOSED_LEN.store(0, Ordering::Release);
    EXPOSED.store(std::ptr::null_mut(), Ordering::Release);
    HOLDER.store(0, Ordering::Release);
    GATE.store(0, Ordering::Release);
    MY_SHARES.with(|n| n.set(0));
    MY_QUIET_SHARES.with(|n| n.set(0));
}
