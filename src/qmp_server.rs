//! The control sockets (`FDSET_CONTROL_FD`, spec section 3): a helper thread
//! does the socket I/O around `qmp_protocol`.
//!
//! Every descriptor the helper holds (control sockets, accepted connections,
//! queued received fds, its wake-up eventfd) is the shim's: marked `OWNED`
//! and listed in `State::extra_owned`, so the program cannot close it. When
//! the program `dup2`s onto one, `shim::disown` moves it, under the registry
//! lock, and calls [`control_fd_moved`]. The helper takes note of such moves
//! before every use of a number: socket calls (all nonblocking) run while
//! `MOVES` is held, and fds are created or closed only under the registry
//! lock, after the moves recorded so far are applied. Lock order: registry,
//! then `MOVES`; the helper never takes the registry lock while holding
//! `MOVES`, and never holds the registry lock during socket I/O.

use crate::fdtable;
use crate::shim::{self, Locked, RealOps};
use crate::sys;
use fdset_core::qmp::{self, Connection, FdSetOps, Feed};
use fdset_core::registry::{QuerySnapshot, RawFd, SetView};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

/// Renumberings `(old, new)` of shim-owned fds not yet applied by the helper.
static MOVES: Mutex<Vec<(RawFd, RawFd)>> = Mutex::new(Vec::new());
/// The helper's eventfd, written to wake it after a move.
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// This process is a forked child: nothing is served (spec section 7).
static IN_CHILD: AtomicBool = AtomicBool::new(false);

/// The helper thread is running in this process.
static SERVING: AtomicBool = AtomicBool::new(false);

/// Handing the monitors to the next program image (an exec in this
/// process): the exec'ing thread asks, the helper parks at a point where no
/// command is half done and publishes its state.
enum Handoff {
    Idle,
    Requested,
    Parked(Option<(serde_json::Value, Vec<RawFd>)>),
    Resume,
}
static HANDOFF: Mutex<Handoff> = Mutex::new(Handoff::Idle);
static HANDOFF_CV: Condvar = Condvar::new();

fn lock_handoff() -> MutexGuard<'static, Handoff> {
    HANDOFF.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether the helper thread serves monitors in this process.
pub fn serving() -> bool {
    SERVING.load(Ordering::Acquire) && !IN_CHILD.load(Ordering::Acquire)
}

/// Before an exec in this process: park the helper thread and return the
/// monitors' state with the descriptors that must survive the exec. Call
/// without the registry lock. `None`: nothing is served (or the helper did
/// not answer in time). After this, the exec must be followed by
/// [`resume_after_failed_exec`] if it returns.
pub fn export_for_exec() -> Option<(serde_json::Value, Vec<RawFd>)> {
    if !serving() {
        return None;
    }
    let mut h = lock_handoff();
    *h = Handoff::Requested;
    wake();
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

/// The exec did not happen: the helper serves on.
pub fn resume_after_failed_exec() {
    let mut h = lock_handoff();
    if matches!(*h, Handoff::Parked(_)) {
        *h = Handoff::Resume;
        HANDOFF_CV.notify_all();
    }
}

/// Take a carried descriptor as the shim's, at its number (spec section 7:
/// the new image sees the same monitors).
fn adopt(st: &mut Locked, fd: RawFd, socket: bool) -> Result<RawFd, String> {
    if !(3..(1 << 20)).contains(&fd) || sys::fcntl_int(fd, libc::F_GETFD, 0) < 0 {
        return Err(format!("FDSET_STATE: control fd {fd} is not open"));
    }
    if fdtable::kind(fd) != fdtable::FREE {
        return Err(format!("FDSET_STATE: control fd {fd} is named twice"));
    }
    if socket && sockopt_int(fd, libc::SO_TYPE).is_none() {
        return Err(format!("FDSET_STATE: control fd {fd} is not a socket"));
    }
    sys::fcntl_int(fd, libc::F_SETFD, libc::FD_CLOEXEC);
    fdtable::mark(fd, fdtable::OWNED);
    st.extra_owned.push(fd);
    Ok(fd)
}

/// The sets follow the monitor rule from now on, and the helper gets the
/// eventfd that wakes it (shared by a fresh start and a resumed one).
fn serve_from_now(st: &mut Locked, helper: &mut Helper) -> Result<(), String> {
    st.registry.set_always_in_use(false);
    // SAFETY: plain syscall.
    let efd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if efd < 0 {
        return Err("cannot create the control thread's eventfd".to_string());
    }
    helper.wake = own(st, efd).ok_or("cannot keep the control thread's eventfd")?;
    WAKE_FD.store(helper.wake, Ordering::Release);
    Ok(())
}

/// In the new image after an exec in the same process: serve the carried
/// monitors on, with no second greeting and their unparsed input kept.
pub fn resume_from_exec(v: &serde_json::Value) -> Result<(), String> {
    let bad = |w: &str| format!("FDSET_STATE: {w}");
    let o = v
        .as_object()
        .ok_or_else(|| bad("control is not an object"))?;
    let mut helper = Helper {
        listeners: Vec::new(),
        broken_listeners: Vec::new(),
        monitors: Vec::new(),
        wake: -1,
    };
    let mut st = shim::lock().ok_or_else(|| bad("registry busy"))?;
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
        helper.listeners.push(adopt(&mut st, fd, true)?);
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
        if out.len() > 2 * qmp::MAX_OUTPUT {
            return Err(bad("a monitor's output is too large"));
        }
        st.registry.monitor_connected();
        helper.monitors.push(Monitor {
            fd,
            conn,
            out,
            sent: 0,
            gone: false,
        });
    }
    serve_from_now(&mut st, &mut helper)?;
    drop(st);
    spawn_helper(helper)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Wait {
    Idle,
    Waiting,
    Released,
    /// No listener and no connection is left that could send `cont`.
    Hopeless,
}
static WAIT: Mutex<Wait> = Mutex::new(Wait::Idle);
static WAIT_CV: Condvar = Condvar::new();

/// Bytes asked of one `recvmsg`.
const READ_SIZE: usize = 64 * 1024;
/// The kernel passes at most this many fds in one message (SCM_MAX_FD).
const MAX_FDS_PER_MSG: usize = 253;
/// Reads from one connection before the others get their turn.
const READS_PER_TURN: usize = 16;

fn lock_moves() -> MutexGuard<'static, Vec<(RawFd, RawFd)>> {
    MOVES.lock().unwrap_or_else(|e| e.into_inner())
}

/// A control descriptor moved from `old` to `new` (the program claimed
/// `old`). Called with the registry lock held.
pub fn control_fd_moved(old: RawFd, new: RawFd) {
    if IN_CHILD.load(Ordering::Acquire) {
        return;
    }
    lock_moves().push((old, new));
    if WAKE_FD.load(Ordering::Acquire) == old {
        WAKE_FD.store(new, Ordering::Release);
    }
    wake();
}

/// In a forked child no monitor is served; the helper thread did not survive
/// the fork, and its locks may have been held by it, so they are never
/// touched again.
pub fn after_fork_child() {
    IN_CHILD.store(true, Ordering::Release);
    WAKE_FD.store(-1, Ordering::Release);
}

fn wake() {
    let fd = WAKE_FD.load(Ordering::Acquire);
    if fd >= 0 {
        let one: u64 = 1;
        // SAFETY: 8 bytes to an eventfd; write is not hooked. A full counter
        // (EAGAIN) already means "wake up".
        unsafe { libc::write(fd, (&one as *const u64).cast(), 8) };
    }
}

// ---------------------------------------------------------------- start-up

fn sockopt_int(fd: RawFd, opt: libc::c_int) -> Option<libc::c_int> {
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: valid pointers to an int and its length.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            (&mut v as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    (r == 0).then_some(v)
}

/// `FDSET_CONTROL_FD`: comma-separated inherited fds, each an open stream
/// socket (checked here, before anything changes).
pub fn parse_control_fds(text: &str, launch_fds: &[i64]) -> Result<Vec<RawFd>, String> {
    let mut fds = Vec::new();
    for item in text.split(',') {
        let fd = item
            .parse::<RawFd>()
            .ok()
            .filter(|&fd| fd >= 0 && item.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(|| format!("FDSET_CONTROL_FD: '{item}' is not a file descriptor number"))?;
        let what = |s: &str| format!("FDSET_CONTROL_FD: fd {fd} {s}");
        if fd <= 2 {
            return Err(what("is a standard I/O stream"));
        }
        if fds.contains(&fd) {
            return Err(what("is named twice"));
        }
        if launch_fds.contains(&(fd as i64)) {
            return Err(what("is also named in FDSET_ADD_FD"));
        }
        if sys::fcntl_int(fd, libc::F_GETFD, 0) < 0 {
            return Err(what("is not open"));
        }
        // SAFETY: plain data filled by fstat.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: valid pointer to a stat buffer.
        if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_mode & libc::S_IFMT != libc::S_IFSOCK {
            return Err(what("is not a socket"));
        }
        if sockopt_int(fd, libc::SO_TYPE) != Some(libc::SOCK_STREAM) {
            return Err(what("is not a stream socket"));
        }
        fds.push(fd);
    }
    Ok(fds)
}

/// `FDSET_WAIT`: `1` waits for `cont`; unset, empty or `0` does not.
pub fn parse_wait(value: Option<&str>) -> Result<bool, String> {
    match value {
        None | Some("") | Some("0") => Ok(false),
        Some("1") => Ok(true),
        Some(v) => Err(format!("FDSET_WAIT: expected 0 or 1, got '{v}'")),
    }
}

/// Take `fd` as the shim's: moved to a high close-on-exec number, marked
/// owned. On failure `fd` is closed.
fn own(st: &mut Locked, fd: RawFd) -> Option<RawFd> {
    match shim::move_high(fd) {
        Ok(new) => {
            fdtable::mark(new, fdtable::OWNED);
            st.extra_owned.push(new);
            Some(new)
        }
        Err(_) => {
            // SAFETY: fd was handed to the shim and is nobody else's.
            unsafe { sys::close(fd) };
            None
        }
    }
}

/// Close a descriptor taken with [`own`].
fn release(st: &mut Locked, fd: RawFd) {
    st.extra_owned.retain(|&f| f != fd);
    fdtable::mark(fd, fdtable::FREE);
    // SAFETY: the shim's own descriptor.
    unsafe { sys::close(fd) };
}

/// Serve the control sockets `control` (checked by [`parse_control_fds`]):
/// connected ones are monitors from now on. With `wait`, return only when a
/// monitor sent `cont`. Runs in the constructor, before `main`.
pub fn start(control: &[RawFd], wait: bool) -> Result<(), String> {
    let mut helper = Helper {
        listeners: Vec::new(),
        broken_listeners: Vec::new(),
        monitors: Vec::new(),
        wake: -1,
    };
    {
        let mut st = shim::lock().ok_or("internal error: registry locked at start-up")?;
        for &fd in control {
            let listening = sockopt_int(fd, libc::SO_ACCEPTCONN) == Some(1);
            let fd =
                own(&mut st, fd).ok_or_else(|| format!("FDSET_CONTROL_FD: cannot take fd {fd}"))?;
            if listening {
                // accept() must not block when another process sharing the
                // socket took the connection first.
                let fl = sys::fcntl_int(fd, libc::F_GETFL, 0);
                sys::fcntl_int(fd, libc::F_SETFL, fl | libc::O_NONBLOCK);
                helper.listeners.push(fd);
            } else {
                // A monitor from the first instruction of the program.
                st.registry.monitor_connected();
                helper.monitors.push(Monitor::new(fd));
            }
        }
        serve_from_now(&mut st, &mut helper)?;
    }
    if wait {
        *WAIT.lock().unwrap_or_else(|e| e.into_inner()) = Wait::Waiting;
    }
    spawn_helper(helper)?;
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

fn set_wait(from: Wait, to: Wait) {
    let mut w = WAIT.lock().unwrap_or_else(|e| e.into_inner());
    if *w == from {
        *w = to;
        WAIT_CV.notify_all();
    }
}

/// The helper runs with every signal blocked: the program's handlers must
/// run on the program's threads, never on one that may hold the shim's locks.
fn spawn_helper(helper: Helper) -> Result<(), String> {
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
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| helper.run()));
        });
    // SAFETY: restores this thread's mask.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    if r.is_ok() {
        SERVING.store(true, Ordering::Release);
    }
    r.map(|_| ())
        .map_err(|e| format!("cannot start the control thread: {e}"))
}

// ---------------------------------------------------------------- helper

struct Monitor {
    fd: RawFd,
    conn: Connection,
    out: Vec<u8>,
    sent: usize,
    /// Disconnect at the next reap: the peer closed or shut down its side,
    /// an error, or the input bound.
    gone: bool,
}

impl Monitor {
    fn new(fd: RawFd) -> Monitor {
        Monitor {
            fd,
            conn: Connection::new(),
            out: qmp::greeting().into_bytes(),
            sent: 0,
            gone: false,
        }
    }

    fn backlog(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Read more only while replies are being taken and no command waits
    /// (a client that sends without reading is not buffered for).
    fn wants_input(&self) -> bool {
        self.backlog() < qmp::MAX_OUTPUT && !self.conn.held_back()
    }

    /// Send what the socket takes now. Call with `MOVES` held.
    fn flush(&mut self) {
        while self.sent < self.out.len() {
            let rest = &self.out[self.sent..];
            // SAFETY: rest is valid for its length; nonblocking, and no
            // SIGPIPE for the program when the peer is gone.
            let n = unsafe {
                libc::send(
                    self.fd,
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
                        self.out.clear();
                        self.sent = 0;
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

struct Helper {
    listeners: Vec<RawFd>,
    /// Listeners `accept` failed on for good, closed at the next reap.
    broken_listeners: Vec<RawFd>,
    monitors: Vec<Monitor>,
    wake: RawFd,
}

/// A peer accepted on a listening socket may speak to us only when it runs
/// as our effective uid, or as root (who could reach us anyway): the socket
/// file's mode 0600 is the first guard, this one holds even when the file's
/// mode or owner was changed (README "Guarantees").
fn peer_allowed(fd: RawFd) -> bool {
    // SAFETY: ucred is plain data filled by getsockopt.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: valid buffer and length; getsockopt is not hooked.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    // SAFETY: no preconditions.
    let ours = unsafe { libc::geteuid() };
    let allowed = r == 0 && (cred.uid == ours || cred.uid == 0);
    if !allowed && shim::log_enabled() {
        shim::log(&format!(
            "refused a control connection from uid {} (not uid {ours} or root)",
            cred.uid
        ));
    }
    allowed
}

/// One `recvmsg`.
enum Received {
    Data {
        len: usize,
        fds: Vec<RawFd>,
        truncated: bool,
    },
    WouldBlock,
    Closed,
}

fn receive(fd: RawFd, buf: &mut [u8]) -> Received {
    // u64 elements keep the control buffer aligned for cmsghdr.
    const CMSG_WORDS: usize = (MAX_FDS_PER_MSG * 4 + 64) / 8;
    let mut cmsg = [0u64; CMSG_WORDS];
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cmsg.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cmsg);
    let n = loop {
        // SAFETY: msg describes valid buffers.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
        if n < 0 && sys::errno() == libc::EINTR {
            continue;
        }
        break n;
    };
    if n < 0 {
        return match sys::errno() {
            libc::EAGAIN => Received::WouldBlock,
            _ => Received::Closed,
        };
    }
    let mut fds = Vec::new();
    // SAFETY: walking the control messages the kernel wrote into msg.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_RIGHTS {
                let data = libc::CMSG_DATA(c) as *const RawFd;
                let count = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
                for i in 0..count {
                    fds.push(std::ptr::read_unaligned(data.add(i)));
                }
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    let truncated = msg.msg_flags & libc::MSG_CTRUNC != 0;
    if n == 0 && fds.is_empty() {
        return Received::Closed;
    }
    Received::Data {
        len: n as usize,
        fds,
        truncated,
    }
}

/// The protocol's commands, done on the registry (one short lock each).
struct ServerOps {
    /// Moves taken from `MOVES` during the commands, for the helper to apply.
    moved: Vec<(RawFd, RawFd)>,
}

impl ServerOps {
    /// Where a queued fd is now (call with the registry lock held, so that
    /// no further move can happen).
    fn resolve(&mut self, fd: RawFd) -> RawFd {
        self.moved.append(&mut lock_moves());
        self.moved
            .iter()
            .fold(fd, |cur, &(old, new)| if old == cur { new } else { cur })
    }
}

impl FdSetOps for ServerOps {
    fn add_fd(
        &mut self,
        fd: RawFd,
        set: Option<u64>,
        opaque: Option<String>,
    ) -> Result<(u64, RawFd), String> {
        let Some(mut st) = shim::lock() else {
            return Err("internal error: registry locked".to_string());
        };
        let fd = self.resolve(fd);
        match shim::member_info(fd) {
            Ok(info) => {
                // Already owned and high: from a queued fd it becomes a member.
                st.extra_owned.retain(|&f| f != fd);
                let id = st.registry.add_member(set, fd, opaque.clone(), info);
                drop(st);
                if shim::log_enabled() {
                    shim::log(&format!("monitor: add-fd: fd {fd} into set {id}"));
                }
                Ok((id, fd))
            }
            Err(e) => {
                release(&mut st, fd);
                Err(format!("Could not add fd: errno {e}"))
            }
        }
    }

    fn remove_fd(&mut self, set: u64, fd: Option<RawFd>) -> bool {
        let Some(mut st) = shim::lock() else {
            return false;
        };
        let mut closed = Vec::new();
        let found = st
            .registry
            .remove(&mut RealOps, set, fd, &mut closed)
            .is_ok();
        drop(st);
        shim::log_closed(&closed);
        found
    }

    fn query_fdsets(&mut self) -> Vec<SetView> {
        shim::lock()
            .map(|st| st.registry.query())
            .unwrap_or_default()
    }

    /// Copied flat under the lock (no allocation per set); the reply text
    /// is written after it is released.
    fn query_fdsets_snapshot(&mut self, into: &mut QuerySnapshot) {
        into.clear();
        if let Some(st) = shim::lock() {
            st.registry.query_snapshot(into);
        }
    }

    fn cont(&mut self) {
        set_wait(Wait::Waiting, Wait::Released);
    }

    fn close_fd(&mut self, fd: RawFd) {
        if let Some(mut st) = shim::lock() {
            let fd = self.resolve(fd);
            release(&mut st, fd);
        }
    }
}

impl Helper {
    fn renumber(&mut self, old: RawFd, new: RawFd) {
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

    fn apply(&mut self, moves: &mut Vec<(RawFd, RawFd)>) {
        for (old, new) in moves.drain(..) {
            self.renumber(old, new);
        }
    }

    /// Bring every number up to date and keep them so while the guard lives.
    fn sync(&mut self) -> MutexGuard<'static, Vec<(RawFd, RawFd)>> {
        let mut g = lock_moves();
        self.apply(&mut g);
        g
    }

    fn run(mut self) {
        let mut buf = vec![0u8; READ_SIZE];
        loop {
            // A bug met by one request must not end the service for all.
            let turn =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.turn(&mut buf)));
            if turn.is_err() {
                shim::log("internal error in the control thread; continuing");
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
    }

    fn flush_all(&mut self) {
        let _g = self.sync();
        for m in &mut self.monitors {
            m.flush();
        }
    }

    /// If an exec in this process asked for the monitors: publish them and
    /// wait until the exec failed (if it succeeds this thread is gone).
    fn hand_off_if_asked(&mut self) {
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
        *h = Handoff::Idle;
    }

    /// Flush, reap, wait for events, handle them.
    fn turn(&mut self, buf: &mut [u8]) {
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
        let mut pfds = Vec::with_capacity(1 + self.listeners.len() + self.monitors.len());
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
                self.service(i, buf);
            }
        }
    }

    fn accept(&mut self, j: usize) {
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
                match sys::errno() {
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
            if !peer_allowed(fd) {
                // SAFETY: the refused connection is nobody's yet.
                unsafe { sys::close(fd) };
                continue;
            }
            let Some(mut st) = shim::lock() else {
                // SAFETY: the new connection is nobody's yet.
                unsafe { sys::close(fd) };
                return;
            };
            self.apply(&mut lock_moves());
            let Some(fd) = own(&mut st, fd) else {
                continue;
            };
            st.registry.monitor_connected();
            drop(st);
            if shim::log_enabled() {
                shim::log(&format!("monitor connected (fd {fd})"));
            }
            self.monitors.push(Monitor::new(fd));
        }
    }

    /// Read and run what monitor `i` sent. The replies are sent as soon as
    /// the commands of a read have run (before the next read), and a read
    /// shorter than the buffer ends the turn: the socket was empty then,
    /// and poll (level-triggered) reports anything sent since. This saves
    /// a `recvmsg` that would only say EAGAIN for every command.
    fn service(&mut self, i: usize, buf: &mut [u8]) {
        for _ in 0..READS_PER_TURN {
            let m = &self.monitors[i];
            if m.gone || !m.wants_input() {
                return;
            }
            let mut ops = ServerOps { moved: Vec::new() };
            let received = {
                let _g = self.sync();
                receive(self.monitors[i].fd, buf)
            };
            match received {
                Received::WouldBlock => return,
                Received::Closed => {
                    self.monitors[i].gone = true;
                    return;
                }
                Received::Data {
                    len,
                    fds,
                    truncated,
                } => {
                    if !fds.is_empty() {
                        self.take_fds(i, fds, truncated);
                    }
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
    fn take_fds(&mut self, i: usize, fds: Vec<RawFd>, truncated: bool) {
        let Some(mut st) = shim::lock() else {
            for fd in fds {
                // SAFETY: received just now, nobody else's.
                unsafe { sys::close(fd) };
            }
            return;
        };
        self.apply(&mut lock_moves());
        let mut room = qmp::MAX_QUEUED_FDS - self.monitors[i].conn.queued_fds().count();
        for fd in fds {
            if truncated || room == 0 {
                // SAFETY: as above.
                unsafe { sys::close(fd) };
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
    fn reap(&mut self) {
        if !self.monitors.iter().any(|m| m.gone) && self.broken_listeners.is_empty() {
            return;
        }
        let Some(mut st) = shim::lock() else {
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
        if shim::log_enabled() {
            shim::log(&format!("{left} monitor(s) disconnected"));
        }
        shim::log_closed(&closed);
        if self.monitors.is_empty() && self.listeners.is_empty() {
            set_wait(Wait::Waiting, Wait::Hopeless);
        }
    }
}
