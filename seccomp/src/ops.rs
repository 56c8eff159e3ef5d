//! The registry's descriptor operations on descriptors that live in
//! fdset-run: members, and one token per dup a process holds (a
//! close-on-exec duplicate of the member, which is also what ADDFD installs).

use crate::sys::{self, Errno};
use fdset_core::registry::{FdOps, FileFacts, FileKind, MemberInfo, RawFd};

pub struct LocalOps;

impl FdOps for LocalOps {
    fn dup(&mut self, fd: RawFd, _cloexec: bool) -> Result<RawFd, Errno> {
        // The token never reaches a program of fdset-run's own: always
        // close-on-exec here; the caller's copy gets the open's O_CLOEXEC.
        sys::dup_cloexec(fd)
    }

    fn close(&mut self, fd: RawFd) {
        sys::close(fd);
    }

    fn get_status_flags(&mut self, fd: RawFd) -> Result<i32, Errno> {
        // SAFETY: F_GETFL on a descriptor of ours.
        let r = unsafe { libc::fcntl(fd, libc::F_GETFL) };
        sys::check(r as libc::c_long).map(|f| f as i32)
    }

    fn set_status_flags(&mut self, fd: RawFd, flags: i32) -> Result<(), Errno> {
        // SAFETY: F_SETFL on a descriptor of ours.
        let r = unsafe { libc::fcntl(fd, libc::F_SETFL, flags) };
        sys::check(r as libc::c_long).map(|_| ())
    }

    fn truncate(&mut self, fd: RawFd) -> Result<(), Errno> {
        // SAFETY: plain system call on a descriptor of ours.
        let r = unsafe { libc::ftruncate(fd, 0) };
        sys::check(r as libc::c_long).map(|_| ())
    }

    fn rewind(&mut self, fd: RawFd) -> Result<(), Errno> {
        // SAFETY: plain system call on a descriptor of ours.
        let r = unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
        sys::check(r as libc::c_long).map(|_| ())
    }

    fn file_kind(&mut self, fd: RawFd) -> FileKind {
        sys::fstat(fd).map_or(FileKind::Other, |st| FileKind::of_mode(st.st_mode))
    }
}

/// What the registry caches about a new member.
pub fn member_info(fd: RawFd) -> Result<MemberInfo, Errno> {
    let status_flags = LocalOps.get_status_flags(fd)?;
    let st = sys::fstat(fd)?;
    Ok(MemberInfo {
        status_flags,
        kind: Some(FileKind::of_mode(st.st_mode)),
    })
}

pub fn is_directory(fd: RawFd) -> bool {
    sys::fstat(fd).is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFDIR)
}

/// What `fstat` says of a member's file, for `x-query-fdset-members`.
pub fn file_facts(fd: RawFd) -> Option<FileFacts> {
    sys::fstat(fd).ok().map(|st| FileFacts::of_stat(&st))
}
