//! The system calls the supervisor makes, each behind a small safe wrapper:
//! the seccomp listener's ioctls, the caller's memory (`process_vm_readv`,
//! `process_vm_writev`), `kcmp`, `pidfd_open`, and the descriptor calls of
//! [`LocalOps`](crate::ops::LocalOps).

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

pub type Errno = i32;

pub fn errno() -> Errno {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// `r` as a result: `Err(errno)` when negative.
pub fn check(r: libc::c_long) -> Result<libc::c_long, Errno> {
    if r < 0 { Err(errno()) } else { Ok(r) }
}

/// A zeroed value of a plain C struct.
pub fn zeroed<T: Copy>() -> T {
    // SAFETY: only used for the libc structs below (seccomp_notif, stat,
    // statx, ...), for which all-zero bytes are a valid value.
    unsafe { std::mem::zeroed() }
}

// ------------------------------------------------------------ listener

/// Receive one notification (blocks until there is one). `ENOENT`: it was
/// withdrawn (the caller was interrupted) before we read it.
pub fn notif_recv(listener: RawFd, req: &mut libc::seccomp_notif) -> Result<(), Errno> {
    *req = zeroed();
    // SAFETY: req is a valid seccomp_notif the kernel fills in.
    let r = unsafe { libc::ioctl(listener, libc::SECCOMP_IOCTL_NOTIF_RECV, req as *mut _) };
    check(r as libc::c_long).map(|_| ())
}

/// Answer a notification: `flags` 0 with `val`/`error`, or
/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`.
pub fn notif_send(listener: RawFd, id: u64, val: i64, error: i32, flags: u32) -> Result<(), Errno> {
    let mut resp = libc::seccomp_notif_resp {
        id,
        val,
        error,
        flags,
    };
    // SAFETY: resp is a valid, initialised seccomp_notif_resp.
    let r = unsafe {
        libc::ioctl(
            listener,
            libc::SECCOMP_IOCTL_NOTIF_SEND,
            &mut resp as *mut _,
        )
    };
    check(r as libc::c_long).map(|_| ())
}

/// Whether notification `id` is still pending: its caller is alive and
/// still inside the system call, so data read from its memory was its own.
pub fn notif_id_valid(listener: RawFd, id: u64) -> bool {
    let mut id = id;
    // SAFETY: the ioctl reads one u64 from the pointer.
    let r = unsafe {
        libc::ioctl(
            listener,
            libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
            &mut id as *mut u64,
        )
    };
    r == 0
}

/// Install `src` in the caller of notification `id` and answer the call with
/// the new number (`SECCOMP_ADDFD_FLAG_SEND`): both happen atomically.
pub fn notif_addfd_send(
    listener: RawFd,
    id: u64,
    src: RawFd,
    cloexec: bool,
) -> Result<RawFd, Errno> {
    let mut addfd = libc::seccomp_notif_addfd {
        id,
        flags: libc::SECCOMP_ADDFD_FLAG_SEND as u32,
        srcfd: src as u32,
        newfd: 0,
        newfd_flags: if cloexec { libc::O_CLOEXEC as u32 } else { 0 },
    };
    // SAFETY: addfd is a valid, initialised seccomp_notif_addfd.
    let r = unsafe {
        libc::ioctl(
            listener,
            libc::SECCOMP_IOCTL_NOTIF_ADDFD,
            &mut addfd as *mut _,
        )
    };
    check(r as libc::c_long).map(|n| n as RawFd)
}

/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6): the caller's thread
/// hands its CPU straight to the supervisor. A hint; older kernels refuse it.
pub fn notif_sync_wakeup(listener: RawFd) -> bool {
    const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
    // SAFETY: SET_FLAGS takes the flags as the ioctl's integer argument.
    let r = unsafe {
        libc::ioctl(
            listener,
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP,
        )
    };
    r == 0
}

/// After a receive said `ENOENT`: wait until the listener has a
/// notification again (`false`: receive it) or no process uses the filter
/// any more (`true`, `POLLHUP`: nothing will arrive).
pub fn listener_ended(listener: RawFd) -> bool {
    let mut p = libc::pollfd {
        fd: listener,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: p is one valid pollfd.
        let r = unsafe { libc::poll(&mut p, 1, -1) };
        if r < 0 && errno() == libc::EINTR {
            continue;
        }
        // A failed poll: the next receive reports the listener's error.
        return r > 0 && p.revents & libc::POLLHUP != 0 && p.revents & libc::POLLIN == 0;
    }
}

// ------------------------------------------------------------ caller memory

const PAGE: usize = 4096;

/// Read a NUL-terminated string of at most `buf.len()` bytes at `addr` in
/// thread `tid`; returns its length without the NUL. The read is split at
/// page boundaries, so a string that ends just before an unmapped page is
/// read. `EFAULT`: unreadable; `ENAMETOOLONG`: no NUL within `buf`.
pub fn read_cstr(tid: i32, addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut done = 0usize;
    while done < buf.len() {
        let at = addr.checked_add(done as u64).ok_or(libc::EFAULT)?;
        let in_page = PAGE - (at as usize % PAGE);
        // Most paths are short: the first read stops at 256 bytes or the
        // page end, whichever comes first.
        let want = if done == 0 { in_page.min(256) } else { in_page }.min(buf.len() - done);
        let n = read_mem(tid, at, &mut buf[done..done + want]).map_err(|_| libc::EFAULT)?;
        if n == 0 {
            return Err(libc::EFAULT);
        }
        if let Some(p) = buf[done..done + n].iter().position(|&b| b == 0) {
            return Ok(done + p);
        }
        done += n;
    }
    Err(libc::ENAMETOOLONG)
}

/// `process_vm_readv` of `buf.len()` bytes at `addr` in `tid`.
pub fn read_mem(tid: i32, addr: u64, buf: &mut [u8]) -> Result<usize, Errno> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: buf.len(),
    };
    // SAFETY: local describes our own writable buffer; the remote range is
    // only read by the kernel, which checks it.
    let r = unsafe { libc::process_vm_readv(tid, &local, 1, &remote, 1, 0) };
    check(r as libc::c_long).map(|n| n as usize)
}

/// `process_vm_writev` of `data` to `addr` in `tid`; all of it or `EFAULT`.
pub fn write_mem(tid: i32, addr: u64, data: &[u8]) -> Result<(), Errno> {
    let local = libc::iovec {
        iov_base: data.as_ptr() as *mut libc::c_void,
        iov_len: data.len(),
    };
    let remote = libc::iovec {
        iov_base: addr as *mut libc::c_void,
        iov_len: data.len(),
    };
    // SAFETY: local describes our own readable buffer; the kernel checks
    // the remote range.
    let r = unsafe { libc::process_vm_writev(tid, &local, 1, &remote, 1, 0) };
    match check(r as libc::c_long) {
        Ok(n) if n as usize == data.len() => Ok(()),
        Ok(_) => Err(libc::EFAULT),
        Err(e) => Err(e),
    }
}

/// The bytes of a plain C struct, for [`write_mem`].
pub fn bytes_of<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: T is a plain C struct (stat, statx): reading its bytes is
    // sound, and the slice borrows v.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}

/// Read a plain C struct (`open_how`) from the caller; bytes it does not
/// have (a short `size`) stay zero.
pub fn read_struct<T: Copy>(tid: i32, addr: u64, size: usize) -> Result<T, Errno> {
    let mut v: T = zeroed();
    let n = size.min(std::mem::size_of::<T>());
    // SAFETY: the slice covers the first n bytes of v, a plain C struct for
    // which any bytes are a valid value.
    let buf = unsafe { std::slice::from_raw_parts_mut((&mut v as *mut T).cast::<u8>(), n) };
    match read_mem(tid, addr, buf)? {
        got if got == n => Ok(v),
        _ => Err(libc::EFAULT),
    }
}

// ------------------------------------------------------------ processes

const KCMP_FILE: libc::c_long = 0;
const KCMP_FILES: libc::c_long = 2;

/// Whether descriptor `fd1` of `pid1` and `fd2` of `pid2` are the same
/// open file description. `Err(ESRCH)`: a process is gone; `Err(EBADF)`: a
/// number is not open.
pub fn same_file(pid1: i32, fd1: RawFd, pid2: i32, fd2: RawFd) -> Result<bool, Errno> {
    // SAFETY: kcmp only compares kernel objects; no memory is passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            pid1 as libc::c_long,
            pid2 as libc::c_long,
            KCMP_FILE,
            fd1 as libc::c_long,
            fd2 as libc::c_long,
        )
    };
    check(r).map(|v| v == 0)
}

/// Whether tasks `a` and `b` share one descriptor table (threads of one
/// process do).
pub fn same_fd_table(a: i32, b: i32) -> bool {
    // SAFETY: as above.
    let r = unsafe {
        libc::syscall(
            libc::SYS_kcmp,
            a as libc::c_long,
            b as libc::c_long,
            KCMP_FILES,
            0,
            0,
        )
    };
    r == 0
}

pub fn pidfd_open(pid: i32) -> Result<OwnedFd, Errno> {
    // SAFETY: plain system call; a returned descriptor is ours.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::c_long, 0 as libc::c_long) };
    // SAFETY: r is a new descriptor nobody else owns.
    check(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

// ------------------------------------------------------------ descriptors

pub fn dup_cloexec(fd: RawFd) -> Result<RawFd, Errno> {
    // SAFETY: F_DUPFD_CLOEXEC on any number is harmless.
    let r = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    check(r as libc::c_long).map(|n| n as RawFd)
}

pub fn close(fd: RawFd) {
    // SAFETY: callers pass descriptors they own (tokens, members, temporaries).
    unsafe { libc::close(fd) };
}

pub fn fstat(fd: RawFd) -> Result<libc::stat, Errno> {
    let mut st: libc::stat = zeroed();
    // SAFETY: st is a valid buffer for one struct stat.
    let r = unsafe { libc::fstat(fd, &mut st) };
    check(r as libc::c_long).map(|_| st)
}

pub fn fstatx(fd: RawFd, sync: i32, mask: u32) -> Result<libc::statx, Errno> {
    let mut st: libc::statx = zeroed();
    // SAFETY: an empty path with AT_EMPTY_PATH names fd; st is a valid buffer.
    let r = unsafe {
        libc::statx(
            fd,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | (sync & libc::AT_STATX_SYNC_TYPE),
            mask,
            &mut st,
        )
    };
    check(r as libc::c_long).map(|_| st)
}

/// `stat(path)`.
pub fn stat_path(path: &std::ffi::CStr) -> Result<libc::stat, Errno> {
    let mut st: libc::stat = zeroed();
    // SAFETY: a NUL-terminated path and a writable stat.
    check(unsafe { libc::stat(path.as_ptr(), &mut st) } as libc::c_long)?;
    Ok(st)
}

/// `fstatvfs(fd).f_flag` (`ST_NOEXEC` and the other mount flags).
pub fn fstatvfs_flags(fd: RawFd) -> Result<libc::c_ulong, Errno> {
    let mut v: libc::statvfs = zeroed();
    // SAFETY: v is a writable statvfs.
    check(unsafe { libc::fstatvfs(fd, &mut v) } as libc::c_long)?;
    Ok(v.f_flag)
}

pub fn fstatfs(fd: RawFd) -> Result<libc::statfs, Errno> {
    let mut st: libc::statfs = zeroed();
    // SAFETY: st is a valid buffer for one struct statfs.
    let r = unsafe { libc::fstatfs(fd, &mut st) };
    check(r as libc::c_long).map(|_| st)
}
