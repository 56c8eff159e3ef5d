use crate::libc_real;
use fdset_core::qmp::{self, Connection};
use fdset_core::registry::RawFd;
// ---------------------------------------------------------------- thread

pub(crate) struct Monitor {
    pub(crate) fd: RawFd,
    pub(crate) conn: Connection,
    pub(crate) out: Vec<u8>,
    pub(crate) sent: usize,
    /// Disconnect at the next reap: the peer closed, an error, or the input
    /// bound.
    pub(crate) gone: bool,
    /// The peer shut down its side (EOF): nothing more is read, and the
    /// monitor is gone once every reply to what it sent before is out (a
    /// client such as `socat` half-closes at the end of its input, then
    /// reads).
    pub(crate) eof: bool,
}

impl Monitor {
    pub(crate) fn new(fd: RawFd) -> Monitor {
        room_for_a_large_reply(fd);
        Monitor {
            fd,
            conn: Connection::new(),
            out: qmp::greeting().into_bytes(),
            sent: 0,
            gone: false,
            eof: false,
        }
    }

    pub(crate) fn backlog(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Read more only while replies are being taken and no command waits
    /// (a client that sends without reading is not buffered for).
    pub(crate) fn wants_input(&self) -> bool {
        !self.eof && self.backlog() < qmp::MAX_OUTPUT && !self.conn.held_back()
    }

    /// Every reply owed is out: nothing to send, no command waiting.
    pub(crate) fn answered(&self) -> bool {
        self.backlog() == 0 && !self.conn.held_back()
    }

    /// Send what the socket takes now. Call with `MOVES` held.
    pub(crate) fn flush(&mut self) {
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
                match libc_real::errno() {
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

/// What the socket may hold of replies not yet read: room for the largest
/// reply (`qmp::MAX_OUTPUT`, a `query-fdsets` of about 25,000 sets), so
/// that it leaves in one `send` instead of in pieces, each waiting for the
/// client to read the last. The kernel caps it at `net.core.wmem_max`
/// (then the reply still goes out in pieces, as before).
fn room_for_a_large_reply(fd: RawFd) {
    let size = fdset_core::qmp::MAX_OUTPUT as libc::c_int;
    // SAFETY: a valid int option for a socket this thread owns.
    unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_SNDBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

pub(crate) struct ControlThread {
    pub(crate) listeners: Vec<RawFd>,
    /// Listeners `accept` failed on for good, closed at the next reap.
    pub(crate) broken_listeners: Vec<RawFd>,
    pub(crate) monitors: Vec<Monitor>,
    pub(crate) wake: RawFd,
}

/// A peer accepted on a listening socket may speak to us only when it runs
/// as our effective uid, or as root (who could reach us anyway): the socket
/// file's mode 0600 is the first guard, this one holds even when the file's
/// mode or owner was changed (README "Guarantees").
pub(crate) fn peer_allowed(fd: RawFd) -> bool {
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
    if !allowed && crate::log::log_enabled() {
        crate::log::log(&format!(
            "refused a control connection from uid {} (not uid {ours} or root)",
            cred.uid
        ));
    }
    allowed
}

pub(crate) use fdset_core::scm::Incoming as Received;

/// One nonblocking `recvmsg` (the receiver fdset-run's monitors use too);
/// the fds received are put in `fds` (emptied first).
pub(crate) fn receive(fd: RawFd, buf: &mut [u8], fds: &mut Vec<RawFd>) -> Received {
    fdset_core::scm::receive_fds_into(fd, buf, true, fds)
}
