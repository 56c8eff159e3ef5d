//! The registry's descriptor operations done with the real libc functions.

use crate::libc_real;
use crate::state::fdtable::FdKind;
use crate::state::{OWNED_FD_BASE, fdtable};
use fdset_core::registry::{Errno, FdOps, FileKind, MemberInfo, RawFd};

/// The registry's operations done with the real libc functions.
pub struct RealOps;

impl FdOps for RealOps {
    fn dup(&mut self, fd: RawFd, cloexec: bool) -> Result<RawFd, Errno> {
        libc_real::direct::dup_lowest(fd, cloexec)
    }
    fn close(&mut self, fd: RawFd) {
        fdtable::mark(fd, FdKind::Free);
        libc_real::close_nocancel(fd);
    }
    fn get_status_flags(&mut self, fd: RawFd) -> Result<i32, Errno> {
        libc_real::direct::status_flags(fd)
    }
    fn set_status_flags(&mut self, fd: RawFd, flags: i32) -> Result<(), Errno> {
        libc_real::direct::set_status_flags(fd, flags)
    }
    fn truncate(&mut self, fd: RawFd) -> Result<(), Errno> {
        // SAFETY: plain syscall wrapper, not hooked.
        if unsafe { libc::ftruncate(fd, 0) } < 0 {
            Err(libc_real::errno())
        } else {
            Ok(())
        }
    }
    fn rewind(&mut self, fd: RawFd) -> Result<(), Errno> {
        libc_real::direct::rewind(fd)
    }
    fn file_kind(&mut self, fd: RawFd) -> FileKind {
        libc_real::direct::file_kind(fd)
    }
}

/// What a descriptor's member entry caches (spec: the access mode never
/// changes and may be cached when it is added). The file's type is asked
/// at the member's first open (`MemberInfo::kind`).
pub fn member_info(fd: RawFd) -> Result<MemberInfo, Errno> {
    // A direct system call: no variadic wrapper (carrying 1,000 sets
    // across an exec asks this of every member).
    let flags = libc_real::direct::status_flags(fd)?;
    Ok(MemberInfo {
        status_flags: flags,
        kind: None,
    })
}

/// Move an owned descriptor to a close-on-exec number at or above
/// `OWNED_FD_BASE` (the original is closed).
pub fn move_high(fd: RawFd) -> Result<RawFd, Errno> {
    let new = dup_high(fd)?;
    libc_real::close(fd);
    Ok(new)
}

/// A close-on-exec duplicate of `fd` at or above `OWNED_FD_BASE`; `fd` stays.
pub fn dup_high(fd: RawFd) -> Result<RawFd, Errno> {
    let mut new = libc_real::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, OWNED_FD_BASE);
    if new < 0 {
        // A low RLIMIT_NOFILE: any number will do.
        new = libc_real::fcntl_int(fd, libc::F_DUPFD_CLOEXEC, 3);
    }
    if new < 0 {
        Err(libc_real::errno())
    } else {
        Ok(new)
    }
}
