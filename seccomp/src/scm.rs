//! Descriptors over Unix sockets: the child hands its seccomp listener to
//! fdset-run (between fork and exec, so without allocating), and QMP
//! clients send members (`SCM_RIGHTS` on any byte of the stream).

use crate::sys::{self, Errno};
use std::os::fd::RawFd;

/// Enough control space for this many descriptors in one message.
pub const MAX_FDS: usize = 64;

#[repr(C, align(8))]
struct Control([u8; 512]);

/// `sendmsg` of `data` (not empty) with `fd` attached (none when `fd < 0`).
/// No allocation: safe between fork and exec.
pub fn send_with_fd(sock: RawFd, data: &[u8], fd: RawFd) -> Result<(), Errno> {
    let mut iov = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let mut cbuf = Control([0; 512]);
    let mut msg: libc::msghdr = sys::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if fd >= 0 {
        // SAFETY: CMSG_SPACE only computes a size.
        let space = unsafe { libc::CMSG_SPACE(4) } as usize;
        msg.msg_control = cbuf.0.as_mut_ptr().cast();
        msg.msg_controllen = space;
        // SAFETY: the control buffer is aligned and larger than `space`, so
        // the first header and its 4 data bytes fit.
        unsafe {
            let c = libc::CMSG_FIRSTHDR(&msg);
            (*c).cmsg_level = libc::SOL_SOCKET;
            (*c).cmsg_type = libc::SCM_RIGHTS;
            (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(c).cast::<RawFd>(), fd);
        }
    }
    // SAFETY: msg describes the buffers above, which outlive the call.
    let r = unsafe { libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) };
    sys::check(r as libc::c_long).map(|_| ())
}

pub enum Received {
    Data {
        len: usize,
        fds: Vec<RawFd>,
        truncated: bool,
    },
    WouldBlock,
    Closed,
}

/// One `recvmsg` (nonblocking when `dontwait`), received descriptors
/// close-on-exec.
pub fn receive(sock: RawFd, buf: &mut [u8], dontwait: bool) -> Received {
    let mut cbuf = Control([0; 512]);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut msg: libc::msghdr = sys::zeroed();
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.0.as_mut_ptr().cast();
    msg.msg_controllen = (MAX_FDS * 4 + 64).min(512);
    let flags = libc::MSG_CMSG_CLOEXEC | if dontwait { libc::MSG_DONTWAIT } else { 0 };
    let n = loop {
        // SAFETY: msg describes valid buffers that outlive the call.
        let n = unsafe { libc::recvmsg(sock, &mut msg, flags) };
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
