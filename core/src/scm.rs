//! Sending descriptors over a Unix socket (`SCM_RIGHTS`), as QMP clients do
//! for `add-fd`: fdset-ctl and the tests share this one sender.

use std::os::fd::RawFd;

/// Largest number of fds one message carries (the kernel's `SCM_MAX_FD`).
pub const MAX_FDS_PER_MESSAGE: usize = 253;

/// `sendmsg` of `bytes` (at least one byte: a message with no data carries no
/// fds on a stream socket) with `fds` attached as one `SCM_RIGHTS` message.
pub fn send_fds(sock: RawFd, fds: &[RawFd], bytes: &[u8]) -> std::io::Result<()> {
    if bytes.is_empty() || fds.len() > MAX_FDS_PER_MESSAGE {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    let payload = std::mem::size_of_val(fds) as u32;
    // u64 words keep the control buffer aligned for cmsghdr.
    // SAFETY: CMSG_SPACE only computes a size.
    let space = unsafe { libc::CMSG_SPACE(payload) } as usize;
    let mut cbuf = vec![0u64; space.div_ceil(8)];
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
        // SAFETY: msg_control points at `space` bytes, aligned for cmsghdr,
        // so the first header and its CMSG_LEN(payload) data fit in it.
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
