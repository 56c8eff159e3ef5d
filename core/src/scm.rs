//! Descriptors over a Unix socket (`SCM_RIGHTS`), as QMP clients send them
//! for `add-fd`: the one sender (fdset-ctl, the tests, fdset-run's seccomp
//! hand-over of its listener) and the one receiver (the shim's monitors,
//! fdset-run's in seccomp mode). Neither allocates to send, so the sender
//! also runs between fork and exec.

use std::os::fd::RawFd;

/// The longest path a Unix socket address holds (`sun_path` is 108 bytes,
/// the last one a NUL).
pub const MAX_SOCKET_PATH: usize = 107;

/// Largest number of fds one message carries (the kernel's `SCM_MAX_FD`).
pub const MAX_FDS_PER_MESSAGE: usize = 253;

/// Control space for [`MAX_FDS_PER_MESSAGE`] descriptors and the header,
/// in u64 words: the buffer stays aligned for `cmsghdr`.
const CONTROL_WORDS: usize = (MAX_FDS_PER_MESSAGE * 4 + 64) / 8;

/// `sendmsg` of `bytes` (at least one byte: a message with no data carries no
/// fds on a stream socket) with `fds` attached as one `SCM_RIGHTS` message.
/// No allocation.
pub fn send_fds(sock: RawFd, fds: &[RawFd], bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() || fds.len() > MAX_FDS_PER_MESSAGE {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    let payload = std::mem::size_of_val(fds) as u32;
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
    let mut cbuf = [0u64; CONTROL_WORDS];
    let mut iov = libc::iovec {
        iov_base: bytes.as_ptr() as *mut _,
        iov_len: bytes.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is its empty value.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !fds.is_empty() {
        msg.msg_control = cbuf.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: msg_control points at `space` bytes (no more than the
        // buffer holds), aligned for cmsghdr, so the first header and its
        // CMSG_LEN(payload) data fit in it.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(payload) as usize;
            std::ptr::copy_nonoverlapping(fds.as_ptr(), libc::CMSG_DATA(c).cast(), fds.len());
        }
    }
    // SAFETY: msg describes the iovec and control buffer above, which outlive the call.
    if unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// What one [`receive_fds`] got.
#[derive(Debug)]
pub enum Received {
    /// `len` bytes, and the descriptors that came with them (close-on-exec,
    /// now the caller's). `truncated`: the kernel dropped some
    /// (`MSG_CTRUNC`); the caller should close the ones it got.
    Data {
        len: usize,
        fds: Vec<RawFd>,
        truncated: bool,
    },
    /// Nothing to read (only with `dontwait`).
    WouldBlock,
    /// The peer closed its side, or an error.
    Closed,
}

fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// What one [`receive_fds_into`] got; the descriptors are in its `fds`.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// `len` bytes. `truncated`: the kernel dropped some descriptors
    /// (`MSG_CTRUNC`); the caller should close the ones it got.
    Data { len: usize, truncated: bool },
    /// Nothing to read (only with `dontwait`).
    WouldBlock,
    /// The peer closed its side, or an error.
    Closed,
}

/// One `recvmsg` into `buf` (nonblocking when `dontwait`), with room for
/// [`MAX_FDS_PER_MESSAGE`] descriptors; received descriptors are
/// close-on-exec.
pub fn receive_fds(sock: RawFd, buf: &mut [u8], dontwait: bool) -> Received {
    let mut fds = Vec::new();
    match receive_fds_into(sock, buf, dontwait, &mut fds) {
        Incoming::Data { len, truncated } => Received::Data {
            len,
            fds,
            truncated,
        },
        Incoming::WouldBlock => Received::WouldBlock,
        Incoming::Closed => Received::Closed,
    }
}

/// [`receive_fds`] with the descriptors put in `fds` (emptied first), for a
/// loop that keeps one vector across messages.
pub fn receive_fds_into(
    sock: RawFd,
    buf: &mut [u8],
    dontwait: bool,
    fds: &mut Vec<RawFd>,
) -> Incoming {
    // u64 elements keep the control buffer aligned for cmsghdr. Not zeroed
    // (1 KB for every message): only what the kernel wrote is read below.
    let mut cbuf = std::mem::MaybeUninit::<[u64; CONTROL_WORDS]>::uninit();
    fds.clear();
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: msghdr is plain data; the pointers set below outlive the call.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&cbuf);
    let flags = libc::MSG_CMSG_CLOEXEC | if dontwait { libc::MSG_DONTWAIT } else { 0 };
    let n = loop {
        // SAFETY: msg describes valid buffers that outlive the call.
        let n = unsafe { libc::recvmsg(sock, &mut msg, flags) };
        if n < 0 && errno() == libc::EINTR {
            continue;
        }
        break n;
    };
    if n < 0 {
        return match errno() {
            libc::EAGAIN => Incoming::WouldBlock,
            _ => Incoming::Closed,
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
        return Incoming::Closed;
    }
    Incoming::Data {
        len: n as usize,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::fs::MetadataExt;
    use std::os::unix::net::UnixStream;

    fn inode(fd: RawFd) -> (u64, u64) {
        // SAFETY: fd is open for the whole test; ManuallyDrop keeps it open.
        let f = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
        let m = f.metadata().expect("fstat");
        (m.dev(), m.ino())
    }

    #[test]
    fn descriptors_sent_arrive_close_on_exec_with_their_bytes() {
        let (a, b) = UnixStream::pair().unwrap();
        let files = [
            std::fs::File::open("/proc/self/status").unwrap(),
            std::fs::File::open("/").unwrap(),
        ];
        let raw: Vec<RawFd> = files.iter().map(|f| f.as_raw_fd()).collect();
        send_fds(a.as_raw_fd(), &raw, b"add").unwrap();
        let mut buf = [0u8; 16];
        let Received::Data {
            len,
            fds,
            truncated,
        } = receive_fds(b.as_raw_fd(), &mut buf, false)
        else {
            panic!("no data");
        };
        assert_eq!((&buf[..len], fds.len(), truncated), (&b"add"[..], 2, false));
        for (got, sent) in fds.iter().zip(&raw) {
            assert_ne!(got, sent, "a new number in the receiver");
            assert_eq!(inode(*got), inode(*sent), "the same file");
            // SAFETY: F_GETFD on a descriptor of ours.
            let fl = unsafe { libc::fcntl(*got, libc::F_GETFD) };
            assert_eq!(fl & libc::FD_CLOEXEC, libc::FD_CLOEXEC);
            // SAFETY: received just now, ours.
            drop(unsafe { OwnedFd::from_raw_fd(*got) });
        }
    }

    #[test]
    fn an_empty_socket_would_block_and_a_closed_peer_is_closed() {
        let (a, b) = UnixStream::pair().unwrap();
        let mut buf = [0u8; 4];
        assert!(matches!(
            receive_fds(b.as_raw_fd(), &mut buf, true),
            Received::WouldBlock
        ));
        send_fds(a.as_raw_fd(), &[], b"x").unwrap();
        assert!(matches!(
            receive_fds(b.as_raw_fd(), &mut buf, true),
            Received::Data { len: 1, ref fds, truncated: false } if fds.is_empty()
        ));
        drop(a);
        assert!(matches!(
            receive_fds(b.as_raw_fd(), &mut buf, true),
            Received::Closed
        ));
    }

    #[test]
    fn a_message_without_bytes_or_with_too_many_fds_is_refused() {
        let (a, _b) = UnixStream::pair().unwrap();
        let e = send_fds(a.as_raw_fd(), &[0], b"").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        let many = vec![0; MAX_FDS_PER_MESSAGE + 1];
        let e = send_fds(a.as_raw_fd(), &many, b"x").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }
}
