use super::*;
use super::{exec_handoff::*, monitor::*};
use crate::libc_real;
use crate::state::fdtable::FdKind;
use crate::state::{Locked, fdtable};
use fdset_core::launch::control_fds::socket_option;
use fdset_core::registry::RawFd;
use std::sync::atomic::Ordering;
// ---------------------------------------------------------------- start-up

/// Take `fd` as the shim's: moved to a high close-on-exec number, marked
/// owned. On failure `fd` is closed.
pub(crate) fn own(st: &mut Locked, fd: RawFd) -> Option<RawFd> {
    match crate::state::move_high(fd) {
        Ok(new) => {
            fdtable::mark(new, FdKind::Owned);
            st.extra_owned.push(new);
            Some(new)
        }
        Err(_) => {
            libc_real::close(fd);
            None
        }
    }
}

/// Close a descriptor taken with [`own`].
pub(crate) fn release(st: &mut Locked, fd: RawFd) {
    st.extra_owned.retain(|&f| f != fd);
    fdtable::mark(fd, FdKind::Free);
    libc_real::close(fd);
}

/// Serve the control sockets `control` (checked by
/// [`fdset_core::launch::control_fds::parse_control_fds`]):
/// connected ones are monitors from now on. With `wait`, return only when a
/// monitor sent `cont`. Runs in the constructor, before `main`.
pub fn start(control: &[RawFd], wait: bool) -> Result<(), String> {
    let mut thread = ControlThread {
        listeners: Vec::new(),
        broken_listeners: Vec::new(),
        monitors: Vec::new(),
        wake: -1,
    };
    {
        let mut st = crate::state::lock().ok_or("internal error: registry locked at start-up")?;
        for &fd in control {
            let listening = socket_option(fd, libc::SO_ACCEPTCONN) == Some(1);
            let fd =
                own(&mut st, fd).ok_or_else(|| format!("FDSET_CONTROL_FD: cannot take fd {fd}"))?;
            if listening {
                // accept() must not block when another process sharing the
                // socket took the connection first.
                let fl = libc_real::fcntl_int(fd, libc::F_GETFL, 0);
                libc_real::fcntl_int(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                thread.listeners.push(fd);
            } else {
                // A monitor from the first instruction of the program.
                st.registry.monitor_connected();
                thread.monitors.push(Monitor::new(fd));
            }
        }
        serve_from_now(&mut st, &mut thread)?;
    }
    if wait {
        *WAIT.lock().unwrap_or_else(|e| e.into_inner()) = Wait::Waiting;
    }
    spawn_control_thread(thread)?;
    if wait {
        let mut w = WAIT.lock().unwrap_or_else(|e| e.into_inner());
        while *w == Wait::Waiting {
            w = WAIT_CV.wait(w).unwrap_or_else(|e| e.into_inner());
        }
        if *w == Wait::Hopeless {
            return Err("FDSET_WAIT=1: every control connection closed before 'cont'".to_string());
        }
    }
    Ok(())
}

pub(crate) fn set_wait(from: Wait, to: Wait) {
    let mut w = WAIT.lock().unwrap_or_else(|e| e.into_inner());
    if *w == from {
        *w = to;
        WAIT_CV.notify_all();
    }
}

/// The control thread runs with every signal blocked: the program's handlers must
/// run on the program's threads, never on one that may hold the shim's locks.
pub(crate) fn spawn_control_thread(thread: ControlThread) -> Result<(), String> {
    // SAFETY: sigset_t is plain data initialised by sigfillset.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: valid pointers to signal sets.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    // An explicit stack size keeps std from reading RUST_MIN_STACK with
    // getenv, which may be the program's own (bash's) and not ready yet.
    let r = std::thread::Builder::new()
        .name("fdset-qmp".into())
        .stack_size(512 * 1024)
        .spawn(move || {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| thread.run()));
        });
    // SAFETY: restores this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if r.is_ok() {
        SERVING.store(true, Ordering::Release);
    }
    r.map(|_| ())
        .map_err(|e| format!("cannot start the control thread: {e}"))
}
