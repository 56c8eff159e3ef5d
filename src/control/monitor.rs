use super::*;
use crate::libc_real;
use fdset_core::qmp::{self, Connection};
use fdset_core::registry::RawFd;
// ---------------------------------------------------------------- thread

pub(crate) struct Monitor {
    pub(crate) fd: RawFd,
    pub(crate) conn: Connection,
    pub(crate) out: Vec<u8>,
    pub(crate) sent: usize,
    /// Disconnect at the next reap: the peer closed or shut down its side,
    /// an error, or the input bound.
    pub(crate) gone: bool,
}

impl Monitor {
    pub(crate) fn new(fd: RawFd) -> Monitor {
        Monitor {
            fd,
            conn: Connection::new(),
            out: qmp::greeting().into_bytes(),
            sent: 0,
            gone: false,
        }
    }

    pub(crate) fn backlog(&self) -> usize {
        self.out.len() - self.sent
    }

    /// Read more only while replies are being taken and no command waits
    /// (a client that sends without reading is not buffered for).
    pub(crate) fn wants_input(&self) -> bool {
        self.backlog() < qmp::MAX_OUTPUT && !self.conn.held_back()
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

/// One `recvmsg`.
pub(crate) enum Received {
    /// `len` bytes; the fds that came with them are in `receive`'s `fds`.
    Data {
        len: usize,
        truncated: bool,
    },
    WouldBlock,
    Closed,
}

/// One `recvmsg` into `buf`; the fds received are put in `fds` (emptied first).
pub(crate) fn receive(fd: RawFd, buf: &mut [u8], fds: &mut Vec<RawFd>) -> Received {
    // u64 elements keep the control buffer aligned for cmsghdr. Not zeroed
    // (1 KB for every command): only what the kernel wrote is read below.
    const CMSG_WORDS: usize = (MAX_FDS_PER_MSG * 4 + 64) / 8;
    let mut cmsg = std::mem::MaybeUninit::<[u64; CMSG_WORDS]>::uninit();
    fds.clear();
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
        if n < 0 && libc_real::errno() == libc::EINTR {
            continue;
        }
        break n;
    };
    if n < 0 {
        return match libc_real::errno() {
            libc::EAGAIN => Received::WouldBlock,
            _ => Received::Closed,
        };
    }
    // SAFETY: walking the control messages the kernel wrote into msg: it
    // set msg_controllen to the bytes it filled, and CMSG_FIRSTHDR and
    // CMSG_NXTHDR return a header only when the whole header lies within
    // them (its data, cmsg_len long, was written with it), so no byte of
    // the uninitialised buffer beyond them is read.
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
        truncated,
    }
}
