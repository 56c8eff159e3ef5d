//! fdset-run's own loop in seccomp mode: QMP monitors on the `--qmp`
//! socket (the same `fdset_core::qmp` protocol code the shim serves),
//! process exits (pidfds), forwarded signals and the reaping of the tree,
//! and the periodic check of the dups' records.

use crate::ops::{self, LocalOps};
use crate::serve::Shared;
use crate::sys;
use crate::tree::PIDFD_TAG;
use fdset_core::qmp::{self, Connection, FdSetOps, Feed};
use fdset_core::registry::{RawFd, SetDetail, SetView};
use fdset_core::scm::{self, Received};
use std::collections::HashMap;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;

const SIGNAL_TAG: u64 = 1;
const LISTENER_TAG: u64 = 2;
const MONITOR_TAG: u64 = 1 << 41;
/// As the shim: more monitors than this at once are refused.
const MAX_MONITORS: usize = 64;

/// The QMP commands, on fdset-run's registry.
struct Ops<'a> {
    sh: &'a Shared,
}

impl Ops<'_> {
    /// Records brought up to date first, so what a client sees (and the
    /// cleanup a command runs) counts exactly the dups that are open.
    fn validated(&self) -> std::sync::MutexGuard<'_, crate::serve::State> {
        let mut st = self.sh.lock();
        let mut closed = Vec::new();
        let crate::serve::State { registry, tree } = &mut *st;
        tree.validate(registry, &mut closed);
        self.sh.sync_count(&st);
        self.sh.log_closed(&closed);
        st
    }
}

impl FdSetOps for Ops<'_> {
    fn add_fd(
        &mut self,
        fd: RawFd,
        set: Option<u64>,
        opaque: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        match ops::member_info(fd) {
            Ok(info) => {
                let id = self.sh.lock().registry.add_member(set, fd, opaque, info);
                if self.sh.verbose {
                    fdset_core::cli::warn(format_args!(
                        "fdset-run: monitor: add-fd: fd {fd} into set {id}"
                    ));
                }
                Ok((id, fd))
            }
            Err(e) => {
                sys::close(fd);
                Err(format!("Could not add fd: errno {e}"))
            }
        }
    }

    fn remove_fd(&mut self, set: u64, fd: Option<RawFd>) -> bool {
        let mut st = self.validated();
        let mut closed = Vec::new();
        let found = st
            .registry
            .remove(&mut LocalOps, set, fd, &mut closed)
            .is_ok();
        drop(st);
        self.sh.log_closed(&closed);
        found
    }

    fn query_fdsets(&mut self) -> Vec<SetView> {
        self.validated().registry.query()
    }

    fn query_fdset_members(&mut self) -> Vec<SetDetail> {
        // fstat under the lock: no member can be closed meanwhile.
        self.validated().registry.detail(ops::file_facts)
    }

    fn cont(&mut self) {
        // FDSET_WAIT belongs to the shim; a program served from outside
        // starts at once.
    }

    fn close_fd(&mut self, fd: RawFd) {
        sys::close(fd);
    }
}

struct Monitor {
    sock: UnixStream,
    conn: Connection,
    out: Vec<u8>,
    sent: usize,
    gone: bool,
    interest: u32,
}

impl Monitor {
    fn backlog(&self) -> usize {
        self.out.len() - self.sent
    }

    fn flush(&mut self) {
        while self.sent < self.out.len() {
            let rest = &self.out[self.sent..];
            // SAFETY: rest is valid for its length; nonblocking, no SIGPIPE.
            let n = unsafe {
                libc::send(
                    self.sock.as_raw_fd(),
                    rest.as_ptr().cast(),
                    rest.len(),
                    libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL,
                )
            };
            if n < 0 {
                match sys::errno() {
                    libc::EINTR => continue,
                    libc::EAGAIN => return,
                    _ => {
                        self.gone = true;
                        return;
                    }
                }
            }
            self.sent += n as usize;
        }
        self.out.clear();
        self.sent = 0;
    }
}

pub struct Control {
    pub sh: Arc<Shared>,
    pub epoll: OwnedFd,
    pub signals: OwnedFd,
    pub qmp: Option<UnixListener>,
    pub main_pid: i32,
    monitors: HashMap<u64, Monitor>,
    next_monitor: u64,
    main_status: Option<i32>,
}

fn epoll_add(epoll: RawFd, fd: RawFd, events: u32, tag: u64) {
    let mut ev = libc::epoll_event { events, u64: tag };
    // SAFETY: ev is valid; both descriptors are ours.
    unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_ADD, fd, &mut ev) };
}

fn epoll_mod(epoll: RawFd, fd: RawFd, events: u32, tag: u64) {
    let mut ev = libc::epoll_event { events, u64: tag };
    // SAFETY: as above.
    unsafe { libc::epoll_ctl(epoll, libc::EPOLL_CTL_MOD, fd, &mut ev) };
}

/// A peer may speak to us only as our effective uid, or as root (as the
/// shim's control socket: README "Guarantees").
fn peer_allowed(sock: &UnixStream) -> bool {
    let mut cred: libc::ucred = sys::zeroed();
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: valid buffer and length.
    let r = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    // SAFETY: no preconditions.
    let ours = unsafe { libc::geteuid() };
    r == 0 && (cred.uid == ours || cred.uid == 0)
}

impl Control {
    pub fn new(
        sh: Arc<Shared>,
        epoll: OwnedFd,
        signals: OwnedFd,
        qmp: Option<UnixListener>,
        main_pid: i32,
    ) -> Control {
        epoll_add(
            epoll.as_raw_fd(),
            signals.as_raw_fd(),
            libc::EPOLLIN as u32,
            SIGNAL_TAG,
        );
        if let Some(l) = &qmp {
            let _ = l.set_nonblocking(true);
            epoll_add(
                epoll.as_raw_fd(),
                l.as_raw_fd(),
                libc::EPOLLIN as u32,
                LISTENER_TAG,
            );
        }
        Control {
            sh,
            epoll,
            signals,
            qmp,
            main_pid,
            monitors: HashMap::new(),
            next_monitor: 0,
            main_status: None,
        }
    }

    /// Serve until no process of the tree is left; the program's exit status.
    pub fn run(mut self) -> i32 {
        let mut events = [libc::epoll_event { events: 0, u64: 0 }; 32];
        let mut last_check = std::time::Instant::now();
        loop {
            self.turn_monitors();
            // Once a second, the records of dups a process lost where no
            // call showed it (an exec closed them).
            // SAFETY: events is a valid array of its length.
            let n = unsafe {
                libc::epoll_wait(
                    self.epoll.as_raw_fd(),
                    events.as_mut_ptr(),
                    events.len() as i32,
                    1000,
                )
            };
            if n < 0 {
                continue;
            }
            if last_check.elapsed() >= std::time::Duration::from_secs(1) {
                last_check = std::time::Instant::now();
                if self.sh.records.load(std::sync::atomic::Ordering::Acquire) > 0 {
                    self.validate();
                }
            }
            for ev in &events[..n as usize] {
                let tag = ev.u64;
                if tag == SIGNAL_TAG {
                    if let Some(code) = self.signals() {
                        return code;
                    }
                } else if tag == LISTENER_TAG {
                    self.accept();
                } else if tag & PIDFD_TAG != 0 && tag & MONITOR_TAG == 0 {
                    self.exited((tag & 0xffff_ffff) as i32);
                } else if tag & MONITOR_TAG != 0 {
                    self.service(tag);
                }
            }
        }
    }

    fn validate(&self) {
        let mut st = self.sh.lock();
        let mut closed = Vec::new();
        let crate::serve::State { registry, tree } = &mut *st;
        tree.validate(registry, &mut closed);
        self.sh.sync_count(&st);
        drop(st);
        self.sh.log_closed(&closed);
    }

    fn exited(&self, pid: i32) {
        let mut st = self.sh.lock();
        let mut closed = Vec::new();
        let crate::serve::State { registry, tree } = &mut *st;
        tree.exited(registry, pid, &mut closed);
        self.sh.sync_count(&st);
        drop(st);
        if self.sh.verbose {
            fdset_core::cli::warn(format_args!(
                "fdset-run: process {pid} ended: its dups are closed"
            ));
        }
        self.sh.log_closed(&closed);
    }

    /// Signals: forwarded ones go to the program; SIGCHLD reaps the tree.
    /// `Some(status)` once no process is left.
    fn signals(&mut self) -> Option<i32> {
        loop {
            let mut info: libc::signalfd_siginfo = sys::zeroed();
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: info is a valid buffer of `size` bytes.
            let n = unsafe {
                libc::read(
                    self.signals.as_raw_fd(),
                    (&mut info as *mut libc::signalfd_siginfo).cast(),
                    size,
                )
            };
            if n != size as isize {
                break;
            }
            let sig = info.ssi_signo as i32;
            if sig == libc::SIGCHLD {
                continue;
            }
            // A terminal's signal (Ctrl-C) already reached the program in
            // the same foreground process group (as in preload mode).
            if info.ssi_code == libc::SI_KERNEL || self.main_status.is_some() {
                continue;
            }
            // SAFETY: plain kill of our own child.
            unsafe { libc::kill(self.main_pid, sig) };
        }
        self.reap()
    }

    fn reap(&mut self) -> Option<i32> {
        loop {
            let mut status = 0;
            // SAFETY: plain waitpid; fdset-run is the tree's subreaper, so
            // orphans of the tree come here too.
            let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
            if pid == 0 {
                return None;
            }
            if pid < 0 {
                if sys::errno() == libc::EINTR {
                    continue;
                }
                // ECHILD: nobody is left to serve.
                return Some(self.main_status.unwrap_or(125));
            }
            if pid == self.main_pid {
                let code = if libc::WIFEXITED(status) {
                    libc::WEXITSTATUS(status)
                } else if libc::WIFSIGNALED(status) {
                    128 + libc::WTERMSIG(status)
                } else {
                    125
                };
                self.main_status = Some(code);
            }
        }
    }

    fn accept(&mut self) {
        let Some(l) = &self.qmp else {
            return;
        };
        loop {
            let sock = match l.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => return,
            };
            if !peer_allowed(&sock) {
                if self.sh.verbose {
                    fdset_core::cli::warn(format_args!(
                        "fdset-run: refused a control connection from another uid"
                    ));
                }
                continue;
            }
            if self.monitors.len() >= MAX_MONITORS {
                fdset_core::cli::warn(format_args!(
                    "fdset-run: refused a control connection: {MAX_MONITORS} monitors are connected"
                ));
                continue;
            }
            let _ = sock.set_nonblocking(true);
            let tag = MONITOR_TAG | self.next_monitor;
            self.next_monitor += 1;
            epoll_add(
                self.epoll.as_raw_fd(),
                sock.as_raw_fd(),
                libc::EPOLLIN as u32,
                tag,
            );
            self.sh.lock().registry.monitor_connected();
            if self.sh.verbose {
                fdset_core::cli::warn(format_args!("fdset-run: monitor connected"));
            }
            self.monitors.insert(
                tag,
                Monitor {
                    sock,
                    conn: Connection::new(),
                    out: qmp::greeting().into_bytes(),
                    sent: 0,
                    gone: false,
                    interest: libc::EPOLLIN as u32,
                },
            );
        }
    }

    fn service(&mut self, tag: u64) {
        let sh = Arc::clone(&self.sh);
        let Some(m) = self.monitors.get_mut(&tag) else {
            return;
        };
        let mut buf = vec![0u8; 64 * 1024];
        for _ in 0..16 {
            if m.gone || m.backlog() >= qmp::MAX_OUTPUT || m.conn.held_back() {
                break;
            }
            match scm::receive_fds(m.sock.as_raw_fd(), &mut buf, true) {
                Received::WouldBlock => break,
                Received::Closed => {
                    m.gone = true;
                    break;
                }
                Received::Data {
                    len,
                    fds,
                    truncated,
                } => {
                    for fd in fds {
                        if truncated || !m.conn.queue_fd(fd) {
                            sys::close(fd);
                        }
                    }
                    let mut ops = Ops { sh: &sh };
                    if m.conn.feed(&buf[..len], &mut ops, &mut m.out) == Feed::Disconnect {
                        m.gone = true;
                    }
                }
            }
        }
    }

    /// Send what waits, resume held-back commands, drop monitors that left.
    fn turn_monitors(&mut self) {
        let sh = Arc::clone(&self.sh);
        let epoll = self.epoll.as_raw_fd();
        let mut left = Vec::new();
        for (&tag, m) in self.monitors.iter_mut() {
            loop {
                m.flush();
                if m.gone || m.backlog() > 0 || !m.conn.held_back() {
                    break;
                }
                let mut ops = Ops { sh: &sh };
                if m.conn.feed(&[], &mut ops, &mut m.out) == Feed::Disconnect {
                    m.gone = true;
                }
            }
            if m.gone {
                left.push(tag);
                continue;
            }
            let mut want = 0;
            if m.backlog() < qmp::MAX_OUTPUT && !m.conn.held_back() {
                want |= libc::EPOLLIN as u32;
            }
            if m.backlog() > 0 {
                want |= libc::EPOLLOUT as u32;
            }
            if want != m.interest {
                epoll_mod(epoll, m.sock.as_raw_fd(), want, tag);
                m.interest = want;
            }
        }
        for tag in left {
            if let Some(mut m) = self.monitors.remove(&tag) {
                // Dropping `m` closes its socket.
                for fd in m.conn.take_queued_fds() {
                    sys::close(fd);
                }
                let mut st = sh.lock();
                let mut closed = Vec::new();
                st.registry.monitor_disconnected(&mut LocalOps, &mut closed);
                drop(st);
                sh.log_closed(&closed);
                if sh.verbose {
                    fdset_core::cli::warn(format_args!("fdset-run: monitor disconnected"));
                }
            }
        }
    }
}
