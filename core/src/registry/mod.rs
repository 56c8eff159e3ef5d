//! The fd-set registry and QEMU's reference-counting rules (spec section 2).
//!
//! Plain Rust: every effect on a real file descriptor goes through [`FdOps`],
//! so the rules can be tested with a recording fake and checked against a model.

use std::collections::BTreeMap;

pub type RawFd = i32;
/// An errno value (positive), as returned by a failed operation.
pub type Errno = i32;

/// Largest set id that QMP accepts (`int64`, non-negative).
pub const MAX_SET_ID: u64 = i64::MAX as u64;

const O_ACCMODE: i32 = libc::O_ACCMODE;
/// File-status flags that `F_SETFL` can change on Linux; the rest of an open's
/// flags are ignored by it, so comparing only these tells whether it would
/// change anything.
pub const SETFL_MASK: i32 =
    libc::O_APPEND | libc::O_ASYNC | libc::O_DIRECT | libc::O_NOATIME | libc::O_NONBLOCK;

/// The few operations on real descriptors the rules need. The shim implements
/// them with the real libc functions; tests implement them with a fake.
pub trait FdOps {
    /// A new descriptor for the same open file description (`F_DUPFD` or
    /// `F_DUPFD_CLOEXEC`).
    fn dup(&mut self, fd: RawFd, cloexec: bool) -> Result<RawFd, Errno>;
    /// Close a descriptor the registry owns (a member, or a dup it failed to hand out).
    fn close(&mut self, fd: RawFd);
    /// Current file-status flags (`F_GETFL`).
    fn get_status_flags(&mut self, fd: RawFd) -> Result<i32, Errno>;
    /// `F_SETFL`.
    fn set_status_flags(&mut self, fd: RawFd, flags: i32) -> Result<(), Errno>;
    /// `ftruncate(fd, 0)`.
    fn truncate(&mut self, fd: RawFd) -> Result<(), Errno>;
    /// `lseek(fd, 0, SEEK_SET)`.
    fn rewind(&mut self, fd: RawFd) -> Result<(), Errno>;
    /// What kind of file `fd` is (`fstat`; a failure counts as
    /// [`FileKind::Other`]).
    fn file_kind(&mut self, fd: RawFd) -> FileKind;
}

/// The kinds of file an open treats differently, as open(2) does: it
/// truncates only a regular file, starts a file, a directory or a block
/// device at offset 0, and refuses `O_CREAT` or `O_TRUNC` on a directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Regular,
    Directory,
    BlockDevice,
    /// A pipe, FIFO, socket, terminal or character device: no offset to
    /// rewind, nothing to truncate.
    Other,
}

impl FileKind {
    /// From `st_mode`.
    pub fn of_mode(mode: u32) -> FileKind {
        match mode & libc::S_IFMT {
            libc::S_IFREG => FileKind::Regular,
            libc::S_IFDIR => FileKind::Directory,
            libc::S_IFBLK => FileKind::BlockDevice,
            _ => FileKind::Other,
        }
    }
}

/// What the registry caches about a member: none of it can change while
/// the descriptor lives (Linux `F_SETFL` cannot touch the access mode or
/// `O_SYNC`, and a file's type is fixed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// `F_GETFL` at the time it was added.
    pub status_flags: i32,
    /// Its kind of file (whether an open truncates, rewinds, refuses).
    /// `None`: not asked yet. The member's first open asks (one `fstat`,
    /// with the caller's lock held, as for every open's choice) and keeps
    /// the answer, so that an `add-fd` and each member an exec carries
    /// cost one system call fewer, and a member never opened costs none.
    pub kind: Option<FileKind>,
}

/// What an open needs of the member it duplicates.
#[derive(Clone, Copy)]
struct MemberRef {
    fd: RawFd,
    info: MemberInfo,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub fd: RawFd,
    pub opaque: Option<String>,
    pub removed: bool,
    pub info: MemberInfo,
}

impl Member {
    fn access_mode(&self) -> i32 {
        self.info.status_flags & O_ACCMODE
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FdSet {
    /// In the order they were added.
    pub members: Vec<Member>,
    /// Dups handed out and still open; the set's refcount is their number.
    pub dups: Vec<RawFd>,
    /// How many times cleanup ran on this set (wrapping): an open in two
    /// steps (`two_step.rs`) tells by it whether a cleanup saw its dup.
    cleanups: u32,
}

impl FdSet {
    pub fn refcount(&self) -> usize {
        self.dups.len()
    }

    /// The members not removed, oldest first: what every look, pick and
    /// query of the set sees (the newest is the last).
    pub fn visible_members(&self) -> impl DoubleEndedIterator<Item = &Member> + '_ {
        self.members.iter().filter(|m| !m.removed)
    }
}

/// One set as `query-fdsets` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetView {
    pub id: u64,
    /// `(fd, opaque)` of the members not removed, in the order they were added.
    pub fds: Vec<(RawFd, Option<String>)>,
}

/// Why an open of `/dev/fdset/N` chose what it chose or failed; the shim logs
/// it with `FDSET_LOG=1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OpenOutcome {
    Opened {
        set: u64,
        member: RawFd,
        dup: RawFd,
    },
    NoSuchSet {
        set: u64,
    },
    /// No visible member has the open's access mode; `present` tells which
    /// modes the set does have (for the log line).
    NoMemberForMode {
        set: u64,
        accmode: i32,
        present: PresentModes,
    },
    SyncMismatch {
        set: u64,
        member: RawFd,
    },
    /// `O_CREAT` or `O_TRUNC` of a directory member: what open(2) says of
    /// the directory (`EEXIST` for `O_CREAT|O_EXCL`, else `EISDIR`).
    DirectoryMember {
        set: u64,
        member: RawFd,
        errno: Errno,
    },
    SyscallFailed {
        set: u64,
        member: RawFd,
        errno: Errno,
        what: &'static str,
    },
}

impl OpenOutcome {
    pub fn result(&self) -> Result<RawFd, Errno> {
        match *self {
            OpenOutcome::Opened { dup, .. } => Ok(dup),
            OpenOutcome::NoSuchSet { .. } => Err(libc::ENOENT),
            OpenOutcome::NoMemberForMode { .. } => Err(libc::EACCES),
            OpenOutcome::SyncMismatch { .. } => Err(libc::EINVAL),
            OpenOutcome::DirectoryMember { errno, .. } => Err(errno),
            OpenOutcome::SyscallFailed { errno, .. } => Err(errno),
        }
    }
}

/// A member closed by cleanup, and why (for `FDSET_LOG`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClosedMember {
    pub set: u64,
    pub fd: RawFd,
    pub removed: bool,
    /// The member's access mode (`O_RDONLY`, `O_WRONLY` or `O_RDWR`).
    pub accmode: i32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotFound;

mod dup_owners;
use dup_owners::DupOwners;

#[derive(Clone, Debug, Default)]
pub struct Registry {
    sets: BTreeMap<u64, FdSet>,
    /// Which set each open dup came from.
    dup_owner: DupOwners,
    monitors: usize,
    /// Sets stay in use with no monitor (a process that has no control socket:
    /// nobody could ever remove its sets).
    always_in_use: bool,
    /// Changes whenever a member's number may stop naming that member (a
    /// member closed or renumbered, everything dropped): an open that
    /// duplicates a member without the lock checks by it that it duplicated
    /// the right one (`two_step.rs`).
    member_epoch: u64,
}

impl Registry {
    pub const fn new() -> Self {
        Registry {
            sets: BTreeMap::new(),
            dup_owner: DupOwners::new(),
            monitors: 0,
            always_in_use: false,
            member_epoch: 0,
        }
    }

    /// Sets stay in use with no monitor connected (no control socket at all).
    pub fn set_always_in_use(&mut self, on: bool) {
        self.always_in_use = on;
    }

    pub fn always_in_use(&self) -> bool {
        self.always_in_use
    }

    pub fn monitors(&self) -> usize {
        self.monitors
    }

    pub fn in_use(&self) -> bool {
        self.always_in_use || self.monitors > 0
    }

    pub fn sets(&self) -> &BTreeMap<u64, FdSet> {
        &self.sets
    }

    pub fn set(&self, id: u64) -> Option<&FdSet> {
        self.sets.get(&id)
    }

    pub fn is_dup(&self, fd: RawFd) -> bool {
        self.dup_owner.get(fd).is_some()
    }

    pub fn dup_owner(&self, fd: RawFd) -> Option<u64> {
        self.dup_owner.get(fd)
    }

    /// Every descriptor the registry owns (members, removed or not).
    pub fn member_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.sets
            .values()
            .flat_map(|s| s.members.iter().map(|m| m.fd))
    }

    pub fn dup_fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.dup_owner.fds()
    }

    pub fn is_member(&self, fd: RawFd) -> bool {
        self.member_fds().any(|m| m == fd)
    }

    /// The lowest id not in use (gaps filled, from 0), as `add-fd` without
    /// `fdset-id` picks it.
    pub fn lowest_free_id(&self) -> u64 {
        let mut want = 0u64;
        for &id in self.sets.keys() {
            if id != want {
                break;
            }
            want += 1;
        }
        want
    }

    /// Take `fd` into set `set` (created if missing; the lowest free id when
    /// `None`). The registry owns `fd` from now on. Returns the set id.
    pub fn add_member(
        &mut self,
        set: Option<u64>,
        fd: RawFd,
        opaque: Option<String>,
        info: MemberInfo,
    ) -> u64 {
        let id = set.unwrap_or_else(|| self.lowest_free_id());
        self.sets.entry(id).or_default().members.push(Member {
            fd,
            opaque,
            removed: false,
            info,
        });
        id
    }

    /// `remove-fd`: mark one visible member (or all members) of a set removed,
    /// then run the set's cleanup.
    pub fn remove(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        fd: Option<RawFd>,
        closed: &mut Vec<ClosedMember>,
    ) -> Result<(), NotFound> {
        let s = self.sets.get_mut(&set).ok_or(NotFound)?;
        match fd {
            Some(fd) => {
                let m = s
                    .members
                    .iter_mut()
                    .find(|m| m.fd == fd && !m.removed)
                    .ok_or(NotFound)?;
                m.removed = true;
            }
            None => s.members.iter_mut().for_each(|m| m.removed = true),
        }
        self.cleanup(ops, set, closed);
        Ok(())
    }

    /// `query-fdsets`: sets in descending id order, visible members in the
    /// order they were added.
    pub fn query(&self) -> Vec<SetView> {
        self.sets
            .iter()
            .rev()
            .map(|(&id, s)| SetView {
                id,
                fds: s
                    .visible_members()
                    .map(|m| (m.fd, m.opaque.clone()))
                    .collect(),
            })
            .collect()
    }
}

mod cleanup;
mod open;
mod renumber;

mod detail;
mod look;
pub use detail::{FileFacts, MemberDetail, PresentModes, SetDetail, no_member_text, present_text};
pub use look::{LookOutcome, ServedModes, access_allowed, exec_permitted};
mod two_step;
pub use two_step::{PlannedOpen, Recorded, RecordedDup};

mod pick;
pub use pick::{Need, PickOutcome, directory_check};
mod snapshot;
pub use snapshot::QuerySnapshot;

#[cfg(test)]
mod no_ops {
    //! A fake whose operations all succeed, for the unit tests of the
    //! look-up rules (which never act on a descriptor).
    use super::*;

    pub(super) struct NoOps;
    impl FdOps for NoOps {
        fn dup(&mut self, fd: RawFd, _: bool) -> Result<RawFd, Errno> {
            Ok(fd + 1000)
        }
        fn close(&mut self, _: RawFd) {}
        fn get_status_flags(&mut self, _: RawFd) -> Result<i32, Errno> {
            Ok(0)
        }
        fn set_status_flags(&mut self, _: RawFd, _: i32) -> Result<(), Errno> {
            Ok(())
        }
        fn truncate(&mut self, _: RawFd) -> Result<(), Errno> {
            Ok(())
        }
        fn rewind(&mut self, _: RawFd) -> Result<(), Errno> {
            Ok(())
        }
        fn file_kind(&mut self, _: RawFd) -> FileKind {
            FileKind::Regular
        }
    }
}
