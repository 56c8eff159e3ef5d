//! The control thread's loop: poll, accept, receive, feed, send, reap.

use super::*;
use super::{exec_handoff::*, monitor::*, server_ops::*, startup::*};
use crate::libc_real;
use crate::state::RealOps;
use crate::state::control_fds::lock_moves;
use fdset_core::qmp::{self, Feed};
use fdset_core::registry::RawFd;
use std::sync::MutexGuard;

impl ControlThread {
    pub(crate) fn renumber(&mut self, old: RawFd, new: RawFd) {
        for fd in self
            .listeners
            .iter_mut()
            .chain(self.broken_listeners.iter_mut())
            .chain(std::iter::once(&mut self.wake))
        {
            // (A broken listener's number is in both lists.)
            if *fd == old {
                *fd = new;
            }
        }
        for m in &mut self.monitors {
            if m.fd == old {
                m.fd = new;
                return;
            }
            if m.conn.renumber_fd(old, new) {
                return;
            }
        }
    }

    pub(crate) fn apply(&mut self, moves: &mut Vec<(RawFd, RawFd)>) {
        for (old, new) in moves.drain(..) {
            self.renumber(old, new);
        }
    }

    /// Bring every number up to date and keep them so while the guard lives.
    pub(crate) fn sync(&mut self) -> MutexGuard<'static, Vec<(RawFd, RawFd)>> {
        let mut g = lock_moves();
        self.apply(&mut g);
        g
    }

    pub(crate) fn run(mut self) {
        let mut scratch = Scratch {
            buf: vec![0u8; READ_SIZE],
            pfds: Vec::new(),
            fds: Vec::new(),
        };
        loop {
            // A bug met by one request must not end the service for all.
            let turn =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.turn(&mut scratch)));
            if turn.is_err() {
                crate::log::log("internal error in the control thread; continuing");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }

    pub(crate) fn flush_all(&mut self) {
        let _g = self.sync();
        for m in &mut self.monitors {
            m.flush();
        }
    }

    /// If an exec in this process asked for the monitors: publish them and
    /// wait until the exec failed (if it succeeds this thread is gone).
    pub(crate) fn hand_off_if_asked(&mut self) {
        if !matches!(*lock_handoff(), Handoff::Requested) {
            return;
        }
        self.flush_all();
        self.reap();
        // Numbers brought up to date; the moves lock is not held while
        // parked (a program thread's dup2 may need it).
        drop(self.sync());
        let mut fds: Vec<RawFd> = self.listeners.clone();
        let monitors: Vec<serde_json::Value> = self
            .monitors
            .iter()
            .map(|m| {
                fds.push(m.fd);
                fds.extend(m.conn.queued_fds());
                serde_json::json!({
                    "fd": m.fd,
                    "conn": m.conn.export(),
                    "out": qmp::hex_encode(&m.out[m.sent..]),
                })
            })
            .collect();
        let state = serde_json::json!({"listeners": self.listeners, "monitors": monitors});
        let mut h = lock_handoff();
        *h = Handoff::Parked(Some((state, fds)));
        HANDOFF_CV.notify_all();
        while matches!(*h, Handoff::Parked(_)) {
            h = HANDOFF_CV.wait(h).unwrap_or_else(|e| e.into_inner());
        }
        // The exec failed. The exec'ing thread may already have asked again
        // (a shell trying each PATH directory in turn): that request stays,
        // to be served at the next turn.
        if matches!(*h, Handoff::Resume) {
            *h = Handoff::Idle;
        }
    }

    /// Flush, reap, wait for events, handle them.
    pub(crate) fn turn(&mut self, scratch: &mut Scratch) {
        self.hand_off_if_asked();
        // Commands held back while output piled up are run once it is sent:
        // no new input may come to wake us for them. Until none is left,
        // or the socket is full (then POLLOUT wakes us).
        loop {
            self.flush_all();
            let mut resumed = false;
            for i in 0..self.monitors.len() {
                let m = &mut self.monitors[i];
                if !m.gone && m.backlog() == 0 && m.conn.held_back() {
                    let mut ops = ServerOps { moved: Vec::new() };
                    if m.conn.feed(&[], &mut ops, &mut m.out) == Feed::Disconnect {
                        m.gone = true;
                    }
                    self.apply(&mut ops.moved);
                    resumed = true;
                }
            }
            if !resumed {
                break;
            }
        }
        self.reap();
        let pfds = &mut scratch.pfds;
        pfds.clear();
        pfds.push(libc::pollfd {
            fd: self.wake,
            events: libc::POLLIN,
            revents: 0,
        });
        for &l in &self.listeners {
            pfds.push(libc::pollfd {
                fd: l,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        for m in &self.monitors {
            let mut events = 0;
            if m.wants_input() {
                events |= libc::POLLIN;
            }
            if m.backlog() > 0 {
                events |= libc::POLLOUT;
            }
            pfds.push(libc::pollfd {
                fd: m.fd,
                events,
                revents: 0,
            });
        }
        // SAFETY: pfds is a valid array of its length.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, -1) };
        if n < 0 {
            return;
        }
        if pfds[0].revents != 0 {
            let _g = self.sync();
            let mut v = 0u64;
            // SAFETY: reads 8 bytes into v from the nonblocking eventfd.
            unsafe { libc::read(self.wake, (&mut v as *mut u64).cast(), 8) };
        }
        let nl = self.listeners.len();
        // Monitors accepted below were not polled this round.
        let nm = self.monitors.len();
        for j in 0..nl {
            if pfds[1 + j].revents != 0 {
                self.accept(j);
            }
        }
        for i in 0..nm {
            if pfds[1 + nl + i].revents != 0 {
                self.service(i, &mut scratch.buf, &mut scratch.fds);
            }
        }
    }

    pub(crate) fn accept(&mut self, j: usize) {
        loop {
            let fd = {
                let _g = self.sync();
                // SAFETY: plain syscall; no peer address wanted.
                unsafe {
                    libc::accept4(
                        self.listeners[j],
                        std::ptr::null_mut(),
                        std::ptr::null_mut(),
                        libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                    )
                }
            };
            if fd < 0 {
                match libc_real::errno() {
                    libc::EINTR | libc::ECONNABORTED => continue,
                    libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => {
                        // Out of descriptors: try again a little later
                        // instead of spinning on the pending connection.
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        return;
                    }
                    libc::EBADF | libc::EINVAL | libc::ENOTSOCK => {
                        // Not a listening socket any more: it would wake
                        // poll forever.
                        self.broken_listeners.push(self.listeners[j]);
                        return;
                    }
                    _ => return,
                }
            }
            if !peer_allowed(fd) || !room_for_a_monitor(self.monitors.len()) {
                libc_real::close(fd);
                continue;
            }
            let Some(mut st) = crate::state::lock() else {
                libc_real::close(fd);
                return;
            };
            self.apply(&mut lock_moves());
            let Some(fd) = own(&mut st, fd) else {
                continue;
            };
            st.registry.monitor_connected();
            drop(st);
            if crate::log::log_enabled() {
                crate::log::log(&format!("monitor connected (fd {fd})"));
            }
            self.monitors.push(Monitor::new(fd));
        }
    }

    /// Read and run what monitor `i` sent. The replies are sent as soon as
    /// the commands of a read have run (before the next read), and a read
    /// shorter than the buffer ends the turn: the socket was empty then,
    /// and poll (level-triggered) reports anything sent since. This saves
    /// a `recvmsg` that would only say EAGAIN for every command.
    pub(crate) fn service(&mut self, i: usize, buf: &mut [u8], fds: &mut Vec<RawFd>) {
        for _ in 0..READS_PER_TURN {
            let m = &self.monitors[i];
            if m.gone || !m.wants_input() {
                return;
            }
            let mut ops = ServerOps { moved: Vec::new() };
            let received = {
                let _g = self.sync();
                receive(self.monitors[i].fd, buf, fds)
            };
            if let Received::Data { truncated, .. } = received
                && !fds.is_empty()
            {
                self.take_fds(i, fds, truncated);
            }
            match received {
                Received::WouldBlock => return,
                Received::Closed => {
                    // The replies to what came before the EOF still go out.
                    let m = &mut self.monitors[i];
                    m.eof = true;
                    m.gone = m.answered();
                    return;
                }
                Received::Data { len, .. } => {
                    let m = &mut self.monitors[i];
                    if m.conn.feed(&buf[..len], &mut ops, &mut m.out) == Feed::Disconnect {
                        m.gone = true;
                        m.out.clear();
                        m.sent = 0;
                    }
                    self.apply(&mut ops.moved);
                    if self.monitors[i].backlog() > 0 {
                        let _g = self.sync();
                        self.monitors[i].flush();
                    }
                    if len < buf.len() {
                        return;
                    }
                }
            }
        }
    }

    /// Queue fds that arrived with SCM_RIGHTS; those beyond the queue's
    /// bound, and all of a truncated message, are closed.
    pub(crate) fn take_fds(&mut self, i: usize, fds: &[RawFd], truncated: bool) {
        let Some(mut st) = crate::state::lock() else {
            for &fd in fds {
                libc_real::close(fd);
            }
            return;
        };
        self.apply(&mut lock_moves());
        let mut room = qmp::MAX_QUEUED_FDS - self.monitors[i].conn.queued_fds().count();
        for &fd in fds {
            if truncated || room == 0 {
                libc_real::close(fd);
                continue;
            }
            if let Some(fd) = own(&mut st, fd) {
                self.monitors[i].conn.queue_fd(fd);
                room -= 1;
            }
        }
    }

    /// Disconnect the monitors marked gone: their queued fds and sockets are
    /// closed, and the last one leaving runs cleanup on every set.
    pub(crate) fn reap(&mut self) {
        for m in &mut self.monitors {
            m.gone |= m.eof && m.answered();
        }
        if !self.monitors.iter().any(|m| m.gone) && self.broken_listeners.is_empty() {
            return;
        }
        let Some(mut st) = crate::state::lock() else {
            return;
        };
        self.apply(&mut lock_moves());
        for fd in std::mem::take(&mut self.broken_listeners) {
            self.listeners.retain(|&l| l != fd);
            release(&mut st, fd);
        }
        let mut closed = Vec::new();
        let mut left = 0;
        self.monitors.retain_mut(|m| {
            if !m.gone {
                return true;
            }
            for fd in m.conn.take_queued_fds() {
                release(&mut st, fd);
            }
            release(&mut st, m.fd);
            st.registry.monitor_disconnected(&mut RealOps, &mut closed);
            left += 1;
            false
        });
        drop(st);
        if crate::log::log_enabled() {
            crate::log::log(&format!("{left} monitor(s) disconnected"));
        }
        crate::log::log_closed(&closed);
        if self.monitors.is_empty() && self.listeners.is_empty() {
            set_wait(Wait::Waiting, Wait::Hopeless);
        }
    }
}

/// The control thread's buffers, kept from turn to turn (no allocation
/// per command for them).
pub(crate) struct Scratch {
    /// What one `recvmsg` reads.
    pub(crate) buf: Vec<u8>,
    /// `poll`'s array, filled anew each turn.
    pub(crate) pfds: Vec<libc::pollfd>,
    /// The fds one `recvmsg` received.
    pub(crate) fds: Vec<RawFd>,
}

/// At most `qmp::MAX_MONITORS` monitors at once (spec section 3): each one
/// holds a descriptor of the program's, and idle peers must not exhaust its
/// `RLIMIT_NOFILE`. A further peer is closed at accept, and that is logged.
fn room_for_a_monitor(connected: usize) -> bool {
    if connected < qmp::MAX_MONITORS {
        return true;
    }
    if crate::log::log_enabled() {
        crate::log::log(&format!(
            "refused a control connection: {connected} monitors are connected (at most {} at once)",
            qmp::MAX_MONITORS
        ));
    }
    false
}
