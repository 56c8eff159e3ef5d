//! With `--qmp` fdset-run stays as the program's parent: the signals of
//! `fdset_core::launch::FORWARDED_SIGNALS` sent to it are forwarded to the
//! program.

use std::sync::atomic::{AtomicI32, Ordering};

pub(crate) const FORWARDED: [libc::c_int; 7] = fdset_core::launch::FORWARDED_SIGNALS;

static LAUNCHER_PID: AtomicI32 = AtomicI32::new(0);
pub(crate) static CHILD_PID: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // SAFETY: async-signal-safe calls only.
    unsafe {
        if libc::getpid() != LAUNCHER_PID.load(Ordering::Relaxed) {
            // The child between fork and exec: act as the default would.
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
            return;
        }
        // A terminal's signal (Ctrl-C) already reached the whole foreground
        // process group, the program included: sending it again would make
        // the program see two.
        if !info.is_null() && (*info).si_code == libc::SI_KERNEL {
            return;
        }
        let pid = CHILD_PID.load(Ordering::Relaxed);
        if pid > 0 {
            libc::kill(pid, sig);
        }
    }
}

pub(crate) fn forwarded_set() -> libc::sigset_t {
    // SAFETY: plain sigset manipulation.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in FORWARDED {
            libc::sigaddset(&mut set, s);
        }
        set
    }
}

/// Install the forwarding handlers with the signals blocked; they are
/// unblocked once the child's pid is known, so none is lost. A signal
/// fdset-run was started with ignored (`nohup`, a background job of a
/// shell) stays ignored, so the program inherits that as it would from
/// `env`: a handler would be reset to the default by the exec. Returns
/// the signal mask fdset-run was started with, which the program gets.
pub(crate) fn install_forwarding() -> libc::sigset_t {
    LAUNCHER_PID.store(std::process::id() as i32, Ordering::Relaxed);
    let set = forwarded_set();
    // SAFETY: plain signal-mask and sigaction calls with valid structs.
    unsafe {
        let mut started: libc::sigset_t = std::mem::zeroed();
        libc::sigprocmask(libc::SIG_BLOCK, &set, &mut started);
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = forward_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        libc::sigemptyset(&mut sa.sa_mask);
        for s in FORWARDED {
            let mut was: libc::sigaction = std::mem::zeroed();
            libc::sigaction(s, std::ptr::null(), &mut was);
            if was.sa_sigaction != libc::SIG_IGN {
                libc::sigaction(s, &sa, std::ptr::null_mut());
            }
        }
        started
    }
}
