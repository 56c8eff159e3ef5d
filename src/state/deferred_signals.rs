//! Signals held back while their thread is inside one of the shim's
//! critical sections (spec section 6: no lock that a signal handler could
//! wait on for ever; a handler that `siglongjmp`s out of a signal would
//! leave such a lock held for good).
//!
//! The program's handlers, installed through libc (`sigaction`, `signal`,
//! ...; `hooks::signal`), run behind the shim's trampoline; their own
//! handler, flags and mask are kept here. When a signal arrives while its
//! thread holds the registry lock or a share of the exec gate, the
//! trampoline records it (with its siginfo) and returns at once; when the
//! section ends, the handler is called right there, outside the shim, as
//! the kernel would have called it: the handler's mask (and the signal
//! itself, unless `SA_NODEFER`) blocked while it runs, `SA_RESETHAND`
//! applied, the original siginfo. Jumping out of it then leaves nothing
//! held. A disposition changed to `SIG_DFL` meanwhile is left to the
//! kernel (`tgkill`); `SIG_IGN` drops it. Faults (`SIGSEGV` and the like,
//! raised by an instruction) are never held back: returning would re-run
//! the instruction. The handler runs on the thread's own stack (not an
//! alternate one) and gets a context of the place it runs from.
//!
//! Checking for held-back signals when a section ends is one atomic load.

use super::exec_gate::{block_all, set_mask};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicI32, AtomicU32, AtomicU64, AtomicUsize, Ordering};

const SLOTS: usize = 32;

/// Signals 1..=64.
pub const NSIG: usize = 65;

/// The program's own handler, flags and mask for one signal, behind a
/// sequence count (odd while being written; writers block every signal
/// meanwhile, so a handler on the writing thread never sees it odd).
struct ProgramAction {
    seq: AtomicU32,
    handler: AtomicUsize,
    flags: AtomicI32,
    /// The first 64 bits of `sa_mask` (the kernel's signal set).
    mask: AtomicU64,
}

static ACTIONS: [ProgramAction; NSIG] = [const {
    ProgramAction {
        seq: AtomicU32::new(0),
        handler: AtomicUsize::new(0),
        flags: AtomicI32::new(0),
        mask: AtomicU64::new(0),
    }
}; NSIG];

/// The program's handler (`SIG_DFL` when none is wrapped), flags and mask
/// for `sig` (1..=64).
pub fn program_action(sig: libc::c_int) -> (usize, libc::c_int, u64) {
    let a = &ACTIONS[sig as usize];
    loop {
        let s1 = a.seq.load(Ordering::Acquire);
        if s1 & 1 == 0 {
            let h = a.handler.load(Ordering::Acquire);
            let f = a.flags.load(Ordering::Acquire);
            let m = a.mask.load(Ordering::Acquire);
            if a.seq.load(Ordering::Acquire) == s1 {
                return (h, f, m);
            }
        }
        std::hint::spin_loop();
    }
}

/// Record the program's action for `sig`. Call with every signal blocked
/// on this thread.
pub fn set_program_action(sig: libc::c_int, handler: usize, flags: libc::c_int, mask: u64) {
    let a = &ACTIONS[sig as usize];
    a.seq.fetch_add(1, Ordering::AcqRel);
    a.handler.store(handler, Ordering::Release);
    a.flags.store(flags, Ordering::Release);
    a.mask.store(mask, Ordering::Release);
    a.seq.fetch_add(1, Ordering::AcqRel);
}

/// The first 64 bits of a signal set (all the kernel has).
pub fn mask_bits(set: &libc::sigset_t) -> u64 {
    // SAFETY: sigset_t is at least 8 bytes of plain data.
    unsafe { std::ptr::read_unaligned((set as *const libc::sigset_t).cast::<u64>()) }
}

fn set_of(bits: u64) -> libc::sigset_t {
    // SAFETY: plain data, emptied, then its first 64 bits set.
    let mut s: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid set; sigset_t is at least 8 bytes.
    unsafe {
        libc::sigemptyset(&mut s);
        std::ptr::write_unaligned((&mut s as *mut libc::sigset_t).cast::<u64>(), bits);
    }
    s
}

struct Slot {
    /// `pthread_self()` of the thread the signal is for (0: free).
    owner: AtomicUsize,
    /// The signal; 0 while the slot is being filled.
    sig: AtomicI32,
    info: UnsafeCell<libc::siginfo_t>,
}

// SAFETY: `info` is written only by the thread that claimed the slot (its
// `owner`) before it publishes `sig`, and read only by that same thread.
unsafe impl Sync for Slot {}

static HELD: [Slot; SLOTS] = [const {
    Slot {
        owner: AtomicUsize::new(0),
        sig: AtomicI32::new(0),
        // SAFETY: siginfo_t is plain data; all-zero is a valid value.
        info: UnsafeCell::new(unsafe { std::mem::zeroed() }),
    }
}; SLOTS];

/// Signals held back, all threads together.
static COUNT: AtomicUsize = AtomicUsize::new(0);

fn this_thread() -> usize {
    // SAFETY: no preconditions.
    unsafe { libc::pthread_self() as usize }
}

/// Whether this thread is inside a section that a signal handler must not
/// interrupt: it holds the registry lock, or the exec gate, or it is inside
/// the open or close of a set (a handler that jumps out between the dup and
/// its record, or between the record's end and the close, would leave a
/// descriptor the registry does not know; spec section 6, exact).
pub fn in_critical_section() -> bool {
    super::STATE.held_by_this_thread()
        || super::exec_gate::busy_here()
        || SLOW_PATHS.with(|n| n.get() >= HOLDING)
}

/// A fault raised by an instruction (held back, it would be raised again
/// by the same instruction for ever).
fn synchronous(sig: libc::c_int, info: &libc::siginfo_t) -> bool {
    matches!(
        sig,
        libc::SIGSEGV | libc::SIGBUS | libc::SIGFPE | libc::SIGILL | libc::SIGTRAP | libc::SIGSYS
    ) && info.si_code > 0
}

/// Called by the trampoline: hold `sig` back when this thread is inside a
/// critical section; false when it must be handled now.
///
/// # Safety
/// `info` is the kernel's siginfo for this delivery (or NULL).
pub unsafe fn hold_back(sig: libc::c_int, info: *const libc::siginfo_t) -> bool {
    if info.is_null() || !in_critical_section() {
        return false;
    }
    // SAFETY: per the contract.
    let info = unsafe { &*info };
    if synchronous(sig, info) {
        return false;
    }
    let me = this_thread();
    if sig < libc::SIGRTMIN() {
        // A standard signal is pending once at most, as in the kernel.
        let already = HELD
            .iter()
            .any(|s| s.owner.load(Ordering::Acquire) == me && s.sig.load(Ordering::Acquire) == sig);
        if already {
            return true;
        }
    }
    // Claimed and filled with every signal blocked: a second signal that
    // found no room would have its handler run at once, and one that jumps
    // out between the claim and the store would leave the slot ours and
    // empty for ever (and this signal lost). The kernel restores the mask
    // on return from the trampoline; it is restored here as well, for a
    // signal that must be handled now.
    let mask = block_all();
    let held = HELD.iter().any(|slot| {
        let claimed = slot
            .owner
            .compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if claimed {
            // SAFETY: the slot is ours (claimed above); see `Slot`.
            unsafe { *slot.info.get() = *info };
            slot.sig.store(sig, Ordering::Release);
            COUNT.fetch_add(1, Ordering::AcqRel);
        }
        claimed
    });
    set_mask(&mask);
    // Without room it is handled now (the section may be left held, as
    // without the shim's help).
    held
}

thread_local! {
    /// Slow paths of hooks this thread is inside (`hooks::guarded`): held
    /// signals wait for the hook's exit, outside its `catch_unwind`, where a
    /// handler may be cancelled or jump away like after any libc call. The
    /// low 32 bits count them all; from [`HOLDING`] up, those during which
    /// signals are held back (the open and close of sets). (A jump out of
    /// a slow path that does not hold them leaves its count behind: the
    /// low half has room for as many as a thread could ever make.)
    static SLOW_PATHS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// One slow path during which signals are held back, in [`SLOW_PATHS`].
const HOLDING: u64 = 1 << 32;

/// This thread's count of [`SLOW_PATHS`], from [`enter_slow_path`] to
/// [`leave_slow_path`], and what this slow path added to it: the
/// thread-local is looked up once per slow path (a `__tls_get_addr` call
/// in a shared library), not twice. A raw pointer, so that it cannot leave
/// the thread.
pub struct SlowPath(*const std::cell::Cell<u64>, u64);

/// A hook's slow path begins; with `holding`, signals that arrive until it
/// ends are held back and their handlers called at its end (the open and
/// close of sets, which make only system calls that do not block).
#[inline]
pub fn enter_slow_path(holding: bool) -> SlowPath {
    let add = if holding { 1 + HOLDING } else { 1 };
    SLOW_PATHS.with(|n| {
        n.set(n.get() + add);
        SlowPath(n, add)
    })
}

/// Run `f`, part of a hook's slow path, with signals held back (their
/// handlers are called at the slow path's end): the open of a set inside
/// `fopen`, `freopen` and `opendir`, whose slow paths go on into libc.
pub fn holding<R>(f: impl FnOnce() -> R) -> R {
    struct Held(*const std::cell::Cell<u64>);
    impl Drop for Held {
        fn drop(&mut self) {
            // SAFETY: this thread's own counter, as in `leave_slow_path`.
            let n = unsafe { &*self.0 };
            n.set(n.get().saturating_sub(HOLDING));
        }
    }
    let _held = SLOW_PATHS.with(|n| {
        n.set(n.get() + HOLDING);
        Held(n)
    });
    f()
}

/// What [`step_outside_slow_paths`] took away, for [`step_back`].
pub struct Outside(u64);

/// Before the program's handler runs inside a slow path that does not hold
/// signals back (the trampoline's direct call): the handler runs as
/// outside the shim, so the slow paths it interrupted count for nothing
/// meanwhile. A handler that jumps out then leaves no count behind (a
/// count left behind would keep every signal held back later on this
/// thread waiting for a slow path that ended long ago).
pub fn step_outside_slow_paths() -> Outside {
    Outside(SLOW_PATHS.with(|n| n.replace(0)))
}

/// The handler returned: the interrupted slow paths count again.
pub fn step_back(outside: Outside) {
    SLOW_PATHS.with(|n| n.set(n.get() + outside.0));
}

/// A hook's slow path ended (its `catch_unwind` is behind): call the
/// handlers of what was held back (errno is left as it is).
#[inline]
pub fn leave_slow_path(this: SlowPath) {
    // SAFETY: the counter of this very thread (`SlowPath` is not `Send`),
    // which lives as long as the thread; a `Cell` without `Drop` is never
    // destroyed while the thread runs.
    let n = unsafe { &*this.0 };
    n.set(n.get().saturating_sub(this.1));
    release();
}

/// A critical section ended: call the handlers of what was held back for
/// this thread, unless it is still inside another section (or a hook's
/// slow path, which calls them when it ends).
#[inline]
pub fn release() {
    if COUNT.load(Ordering::Acquire) != 0 {
        release_now();
    }
}

#[cold]
fn release_now() {
    if in_critical_section() || SLOW_PATHS.with(|n| n.get()) > 0 {
        return;
    }
    let me = this_thread();
    let saved = crate::libc_real::errno();
    for slot in &HELD {
        if slot.owner.load(Ordering::Acquire) != me {
            continue;
        }
        // Emptied with every signal blocked: a handler that ran in between
        // and jumped out would leave the slot ours and empty for ever, and
        // once every slot is, nothing could be held back any more.
        let mask = block_all();
        let sig = slot.sig.swap(0, Ordering::AcqRel);
        // SAFETY: our own slot (see `Slot`).
        let mut info = unsafe { *slot.info.get() };
        if sig != 0 {
            slot.owner.store(0, Ordering::Release);
            COUNT.fetch_sub(1, Ordering::AcqRel);
        }
        set_mask(&mask);
        if sig != 0 {
            deliver(sig, &mut info);
        }
    }
    crate::libc_real::set_errno(saved);
}

/// Call the program's handler for a signal held back, as the kernel would.
fn deliver(sig: libc::c_int, info: &mut libc::siginfo_t) {
    let (handler, flags, mask) = program_action(sig);
    if handler == libc::SIG_IGN {
        return;
    }
    if handler == libc::SIG_DFL {
        // The default action is the kernel's to take.
        raise_again(sig, info);
        return;
    }
    if flags & libc::SA_RESETHAND != 0 {
        reset_to_default(sig);
    }
    let mut block = mask;
    if flags & libc::SA_NODEFER == 0 {
        block |= 1 << (sig - 1);
    }
    let block = set_of(block);
    let mut old = set_of(0);
    // SAFETY: valid signal sets.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old) };
    // SAFETY: plain data, filled by getcontext.
    let mut uc: libc::ucontext_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid buffer.
    unsafe { libc::getcontext(&mut uc) };
    call_handler(
        sig,
        handler,
        flags,
        info,
        (&mut uc as *mut libc::ucontext_t).cast(),
    );
    // SAFETY: restores the mask (the handler may also have jumped away,
    // as out of a signal the kernel delivered).
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
}

/// Call `handler` the way its flags say (one or three arguments).
pub fn call_handler(
    sig: libc::c_int,
    handler: usize,
    flags: libc::c_int,
    info: *mut libc::siginfo_t,
    ctx: *mut libc::c_void,
) {
    if flags & libc::SA_SIGINFO != 0 {
        // SAFETY: the program installed this handler with SA_SIGINFO.
        let h: unsafe extern "C-unwind" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
            unsafe { std::mem::transmute(handler) };
        // SAFETY: a signal number, its siginfo and a context.
        unsafe { h(sig, info, ctx) }
    } else {
        // SAFETY: the program installed this one-argument handler.
        let h: unsafe extern "C-unwind" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
        // SAFETY: as above.
        unsafe { h(sig) }
    }
}

/// `SA_RESETHAND`, applied when the handler is called (the kernel's own
/// reset, at delivery, would also undo a signal held back).
pub fn reset_to_default(sig: libc::c_int) {
    let saved = crate::libc_real::errno();
    // SAFETY: plain data; a default disposition.
    let mut dfl: libc::sigaction = unsafe { std::mem::zeroed() };
    dfl.sa_sigaction = libc::SIG_DFL;
    let old = block_all();
    set_program_action(sig, libc::SIG_DFL, 0, 0);
    // SAFETY: a valid action.
    unsafe { crate::libc_real::sigaction(sig, &dfl, std::ptr::null_mut()) };
    set_mask(&old);
    crate::libc_real::set_errno(saved);
}

thread_local! {
    /// This thread's id, once asked (0: not yet).
    static TID: std::cell::Cell<libc::pid_t> = const { std::cell::Cell::new(0) };
}

/// This process's and this thread's ids. Cached (two system calls fewer per
/// signal raised again), except while a `vfork` is under way, where the
/// caller may be the child, running on its parent's memory.
fn ids() -> (libc::pid_t, libc::pid_t) {
    use super::process_owner::{OWNER_PID, VFORKS_ACTIVE};
    if VFORKS_ACTIVE.load(Ordering::Acquire) != 0 || OWNER_PID.load(Ordering::Acquire) == 0 {
        // SAFETY: no preconditions.
        return unsafe { (libc::getpid(), libc::gettid()) };
    }
    let tid = TID.with(|t| {
        if t.get() == 0 {
            // SAFETY: no preconditions.
            t.set(unsafe { libc::gettid() });
        }
        t.get()
    });
    (OWNER_PID.load(Ordering::Acquire), tid)
}

/// Queue `sig` to this very thread with its original siginfo (for the
/// kernel's default action); the kernel refuses that for a positive
/// `si_code` on a thread other than the main one, where `tgkill` sends it
/// plainly.
fn raise_again(sig: libc::c_int, info: &mut libc::siginfo_t) {
    let (pid, tid) = ids();
    let (pid, tid, sig) = (
        pid as libc::c_long,
        tid as libc::c_long,
        sig as libc::c_long,
    );
    // libc's own `syscall` through its resolved slot: `libc::syscall` here
    // would bind to the shim's own hook.
    // SAFETY: our own process and thread; `info` is a valid siginfo.
    let r = unsafe {
        crate::libc_real::syscall(
            libc::SYS_rt_tgsigqueueinfo,
            pid,
            tid,
            sig,
            info as *mut libc::siginfo_t as libc::c_long,
            0,
            0,
        )
    };
    if r != 0 {
        // SAFETY: as above.
        unsafe { crate::libc_real::syscall(libc::SYS_tgkill, pid, tid, sig, 0, 0, 0) };
    }
}

/// In the child of a fork: the parent's held-back signals are not the
/// child's (a child starts with no pending signal).
pub fn after_fork_child() {
    TID.with(|t| t.set(0));
    for slot in &HELD {
        slot.sig.store(0, Ordering::Release);
        slot.owner.store(0, Ordering::Release);
    }
    COUNT.store(0, Ordering::Release);
}
