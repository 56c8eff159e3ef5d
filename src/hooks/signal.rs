//! `sigaction`, `signal` and their kin: the program's handlers run behind
//! the shim's trampoline, which holds a signal back while its thread is
//! inside one of the shim's critical sections (`state::deferred_signals`):
//! a handler never runs, and never `siglongjmp`s away, while the registry
//! lock or the exec gate is held by its thread.
//!
//! To the program nothing changes: `sigaction` reports its own handler and
//! flags, `SA_SIGINFO`, `SA_RESETHAND`, `SA_NODEFER`, `SA_RESTART`,
//! `SA_ONSTACK` and the mask mean what they meant, and `SIG_DFL`/`SIG_IGN`
//! go to the kernel unchanged. A handler installed with a raw system call
//! is not wrapped (README "Threads, signals and fork").

use super::guarded;
use crate::libc_real;
use crate::state::deferred_signals;
use deferred_signals::{NSIG, mask_bits, program_action, set_program_action};
use libc::{c_int, c_void, sighandler_t, siginfo_t};

/// Whether `sig` is one whose handler the shim wraps: not SIGKILL/SIGSTOP
/// and not glibc's own (SIGCANCEL 32, SIGSETXID 33), which libc refuses.
fn wrappable(sig: c_int) -> bool {
    (1..NSIG as c_int).contains(&sig)
        && sig != libc::SIGKILL
        && sig != libc::SIGSTOP
        && !(32..=33).contains(&sig)
}

/// The handler the kernel calls for every wrapped signal.
unsafe extern "C-unwind" fn trampoline(sig: c_int, info: *mut siginfo_t, ctx: *mut c_void) {
    // SAFETY: `info` is the kernel's siginfo for this delivery.
    if unsafe { deferred_signals::hold_back(sig, info) } {
        return;
    }
    let (handler, flags, _) = program_action(sig);
    if handler == libc::SIG_DFL || handler == libc::SIG_IGN {
        // The program changed the disposition as this signal arrived.
        return;
    }
    if flags & libc::SA_RESETHAND != 0 {
        deferred_signals::reset_to_default(sig);
    }
    let outside = deferred_signals::step_outside_slow_paths();
    deferred_signals::call_handler(sig, handler, flags, info, ctx);
    deferred_signals::step_back(outside);
}

fn full_set() -> libc::sigset_t {
    let mut s = empty_set();
    // SAFETY: a valid set.
    unsafe { libc::sigfillset(&mut s) };
    s
}

fn empty_set() -> libc::sigset_t {
    // SAFETY: plain data, made empty by sigemptyset.
    let mut s: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: a valid set.
    unsafe { libc::sigemptyset(&mut s) };
    s
}

/// `sigaction` for a wrapped signal.
///
/// # Safety
/// As for sigaction.
unsafe fn wrapped_sigaction(
    sig: c_int,
    act: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    let all = full_set();
    let mut mask = empty_set();
    // SAFETY: valid signal sets.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut mask) };
    // SAFETY: plain data filled by sigaction.
    let mut cur: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a query into a local struct.
    let mut r = unsafe { libc_real::sigaction(sig, std::ptr::null(), &mut cur) };
    let tramp = trampoline as *const () as usize;
    let mut view = cur;
    if r == 0 && cur.sa_sigaction == tramp {
        let (h, f, _) = program_action(sig);
        let own = libc::SA_SIGINFO | libc::SA_RESETHAND;
        view.sa_sigaction = h;
        view.sa_flags = (cur.sa_flags & !own) | (f & own);
    }
    if r == 0 && !act.is_null() {
        // SAFETY: the caller's action.
        let new = unsafe { *act };
        if new.sa_sigaction == libc::SIG_DFL || new.sa_sigaction == libc::SIG_IGN {
            set_program_action(sig, new.sa_sigaction, new.sa_flags, 0);
            // SAFETY: the caller's action, unchanged.
            r = unsafe { libc_real::sigaction(sig, act, std::ptr::null_mut()) };
        } else {
            let (old_h, old_f, old_m) = program_action(sig);
            set_program_action(sig, new.sa_sigaction, new.sa_flags, mask_bits(&new.sa_mask));
            let mut k = new;
            k.sa_sigaction = tramp;
            k.sa_flags = (new.sa_flags | libc::SA_SIGINFO) & !libc::SA_RESETHAND;
            // SAFETY: the caller's action with the trampoline as handler.
            r = unsafe { libc_real::sigaction(sig, &k, std::ptr::null_mut()) };
            if r != 0 {
                set_program_action(sig, old_h, old_f, old_m);
            }
        }
    }
    let e = libc_real::errno();
    // SAFETY: restores this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &mask, std::ptr::null_mut()) };
    if r == 0 && !old.is_null() {
        // SAFETY: the caller's buffer.
        unsafe { *old = view };
    }
    libc_real::set_errno(e);
    r
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn sigaction(
    sig: c_int,
    act: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    if !wrappable(sig) {
        // SAFETY: the caller's arguments, for libc to judge.
        return unsafe { libc_real::sigaction(sig, act, old) };
    }
    // SAFETY: the caller's arguments.
    guarded(-1, || unsafe { wrapped_sigaction(sig, act, old) })
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn __sigaction(
    sig: c_int,
    act: *const libc::sigaction,
    old: *mut libc::sigaction,
) -> c_int {
    // SAFETY: the same function.
    unsafe { sigaction(sig, act, old) }
}

/// `signal` and its names: glibc's BSD semantics, through `sigaction`.
///
/// # Safety
/// As for signal.
unsafe fn install(
    sig: c_int,
    handler: sighandler_t,
    flags: c_int,
    self_masked: bool,
) -> sighandler_t {
    if handler == libc::SIG_ERR {
        libc_real::set_errno(libc::EINVAL);
        return libc::SIG_ERR;
    }
    // SAFETY: plain data.
    let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
    act.sa_sigaction = handler;
    act.sa_mask = empty_set();
    if self_masked && (1..NSIG as c_int).contains(&sig) {
        // SAFETY: a valid set and signal number.
        unsafe { libc::sigaddset(&mut act.sa_mask, sig) };
    }
    act.sa_flags = flags;
    // SAFETY: plain data filled by sigaction.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers.
    if unsafe { sigaction(sig, &act, &mut old) } < 0 {
        return libc::SIG_ERR;
    }
    old.sa_sigaction
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    // SAFETY: as for signal.
    unsafe { install(sig, handler, libc::SA_RESTART, true) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn bsd_signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    // SAFETY: as for signal.
    unsafe { install(sig, handler, libc::SA_RESTART, true) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn ssignal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    // SAFETY: glibc's ssignal is its signal.
    unsafe { install(sig, handler, libc::SA_RESTART, true) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn sysv_signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    // SAFETY: System V semantics: one shot, not masked while it runs.
    unsafe { install(sig, handler, libc::SA_RESETHAND | libc::SA_NODEFER, false) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn __sysv_signal(sig: c_int, handler: sighandler_t) -> sighandler_t {
    // SAFETY: as sysv_signal.
    unsafe { install(sig, handler, libc::SA_RESETHAND | libc::SA_NODEFER, false) }
}

/// `SIG_HOLD` (glibc's value).
const SIG_HOLD: sighandler_t = 2;

#[unsafe(no_mangle)]
pub unsafe extern "C-unwind" fn sigset(sig: c_int, disp: sighandler_t) -> sighandler_t {
    if !(1..NSIG as c_int).contains(&sig) || disp == libc::SIG_ERR {
        libc_real::set_errno(libc::EINVAL);
        return libc::SIG_ERR;
    }
    let mut one = empty_set();
    // SAFETY: a valid set and signal number.
    unsafe { libc::sigaddset(&mut one, sig) };
    let mut before = empty_set();
    // SAFETY: a query of this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut before) };
    // SAFETY: a valid set.
    let was_held = unsafe { libc::sigismember(&before, sig) } == 1;
    // SAFETY: plain data filled by sigaction.
    let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
    if disp == SIG_HOLD {
        // SAFETY: valid pointers.
        if unsafe { sigaction(sig, std::ptr::null(), &mut old) } < 0 {
            return libc::SIG_ERR;
        }
        // SAFETY: a valid set.
        unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &one, std::ptr::null_mut()) };
    } else {
        // SAFETY: plain data.
        let mut act: libc::sigaction = unsafe { std::mem::zeroed() };
        act.sa_sigaction = disp;
        act.sa_mask = empty_set();
        // SAFETY: valid pointers.
        if unsafe { sigaction(sig, &act, &mut old) } < 0 {
            return libc::SIG_ERR;
        }
        // SAFETY: a valid set.
        unsafe { libc::pthread_sigmask(libc::SIG_UNBLOCK, &one, std::ptr::null_mut()) };
    }
    if was_held { SIG_HOLD } else { old.sa_sigaction }
}
