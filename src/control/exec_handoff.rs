//! Handing the monitors to the next program image (an exec in this process).

use super::*;
use super::{monitor::*, startup::*};
use crate::libc_real;
use crate::state::control_fds::{self};
use crate::state::fdtable::FdKind;
use crate::state::{Locked, fdtable};
use fdset_core::qmp::{self, Connection};
use fdset_core::registry::RawFd;
use std::sync::MutexGuard;

/// Handing the monitors to the next program image (an exec in this
/// process): the exec'ing thread asks, the control thread parks at a point where no
/// command is half done and publishes its state.
pub(crate) enum Handoff {
    Idle,
    Requested,
    Parked(Option<(serde_json::Value, Vec<RawFd>)>),
    Resume,
}
pub(crate) static HANDOFF: Mutex<Handoff> = Mutex::new(Handoff::Idle);
pub(crate) static HANDOFF_CV: Condvar = Condvar::new();

pub(crate) fn lock_handoff() -> MutexGuard<'static, Handoff> {
    HANDOFF.lock().unwrap_or_else(|e| e.into_inner())
}

/// Before an exec in this process: park the control thread and return the
/// monitors' state with the descriptors that must survive the exec. Call
/// without the registry lock. `None`: nothing is served (or the control thread did
/// not answer in time). After this, the exec must be followed by
/// [`resume_after_failed_exec`] if it returns.
pub fn export_for_exec() -> Option<(serde_json::Value, Vec<RawFd>)> {
    if !serving() {
        return None;
    }
    let mut h = lock_handoff();
    *h = Handoff::Requested;
    control_fds::wake();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        if let Handoff::Parked(state) = &mut *h {
            return state.take();
        }
        let now = std::time::Instant::now();
        if now >= deadline {
            *h = Handoff::Idle;
            return None;
        }
        h = HANDOFF_CV
            .wait_timeout(h, deadline - now)
            .map(|(g, _)| g)
            .unwrap_or_else(|e| e.into_inner().0);
    }
}

/// The exec did not happen: the control thread serves on.
pub fn resume_after_failed_exec() {
    let mut h = lock_handoff();
    if matches!(*h, Handoff::Parked(_)) {
        *h = Handoff::Resume;
        HANDOFF_CV.notify_all();
    }
}

/// Take a carried descriptor as the shim's, at its number (spec section 7:
/// the new image sees the same monitors).
pub(crate) fn adopt(st: &mut Locked, fd: RawFd, socket: bool) -> Result<RawFd, String> {
    if (0..=2).contains(&fd) {
        return Err(format!(
            "FDSET_STATE: control fd {fd} is a standard I/O stream"
        ));
    }
    if !(3..(1 << 20)).contains(&fd) || libc_real::fcntl_int(fd, libc::F_GETFD, 0) < 0 {
        return Err(format!("FDSET_STATE: control fd {fd} is not open"));
    }
    if fdtable::kind(fd) != FdKind::Free {
        return Err(format!("FDSET_STATE: control fd {fd} is named twice"));
    }
    if socket && fdset_core::launch::control_fds::socket_option(fd, libc::SO_TYPE).is_none() {
        return Err(format!("FDSET_STATE: control fd {fd} is not a socket"));
    }
    libc_real::fcntl_int(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    fdtable::mark(fd, FdKind::Owned);
    st.extra_owned.push(fd);
    Ok(fd)
}

/// The sets follow the monitor rule from now on, and the control thread gets the
/// eventfd that wakes it (shared by a fresh start and a resumed one).
pub(crate) fn serve_from_now(st: &mut Locked, thread: &mut ControlThread) -> Result<(), String> {
    st.registry.set_always_in_use(false);
    // SAFETY: plain syscall.
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if efd < 0 {
        return Err("cannot create the control thread's eventfd".to_string());
    }
    thread.wake = own(st, efd).ok_or("cannot keep the control thread's eventfd")?;
    control_fds::set_wake_fd(thread.wake);
    Ok(())
}

/// In the new image after an exec in the same process: serve the carried
/// monitors on, with no second greeting and their unparsed input kept.
pub fn resume_from_exec(v: &serde_json::Value) -> Result<(), String> {
    let bad = |w: &str| format!("FDSET_STATE: {w}");
    let o = v
        .as_object()
        .ok_or_else(|| bad("control is not an object"))?;
    let mut thread = ControlThread {
        listeners: Vec::new(),
        broken_listeners: Vec::new(),
        monitors: Vec::new(),
        wake: -1,
    };
    let mut st = crate::state::lock().ok_or_else(|| bad("registry busy"))?;
    for l in o
        .get("listeners")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let fd = l
            .as_i64()
            .and_then(|n| RawFd::try_from(n).ok())
            .ok_or_else(|| bad("a listener is not an fd"))?;
        thread.listeners.push(adopt(&mut st, fd, true)?);
    }
    for m in o
        .get("monitors")
        .and_then(serde_json::Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        let fd = m
            .get("fd")
            .and_then(serde_json::Value::as_i64)
            .and_then(|n| RawFd::try_from(n).ok())
            .ok_or_else(|| bad("a monitor has no fd"))?;
        let fd = adopt(&mut st, fd, true)?;
        let conn = Connection::import(m.get("conn").unwrap_or(&serde_json::Value::Null))
            .map_err(|e| bad(&e))?;
        for q in conn.queued_fds() {
            adopt(&mut st, q, false)?;
        }
        let out = m
            .get("out")
            .and_then(serde_json::Value::as_str)
            .and_then(qmp::hex_decode)
            .ok_or_else(|| bad("a monitor's output is not hex"))?;
        // No bound of its own: one reply can be larger than any fixed bound
        // (a query-fdsets of many sets, not read yet when the program
        // execs), and the whole state's bound (MAX_STATE_BYTES) bounds it.
        st.registry.monitor_connected();
        thread.monitors.push(Monitor {
            fd,
            conn,
            out,
            sent: 0,
            gone: false,
            eof: false,
        });
    }
    serve_from_now(&mut st, &mut thread)?;
    drop(st);
    spawn_control_thread(thread)
}
