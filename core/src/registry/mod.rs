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
}

/// What the registry caches about a member when it is added: none of it can
/// change while the descriptor lives (Linux `F_SETFL` cannot touch the access
/// mode or `O_SYNC`, and a file's type is fixed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberInfo {
    /// `F_GETFL` at the time it was added.
    pub status_flags: i32,
    /// A regular file (its offset is rewound on open).
    pub regular: bool,
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

/// Which set each open dup came from, and where it stands in that set's
/// `dups`, indexed by descriptor number: closing a dup finds its set and
/// takes it out of the list without a search, and the numbers the kernel
/// hands out are small and dense, so the table stays short.
#[derive(Clone, Debug, Default)]
struct DupOwners {
    by_fd: Vec<DupSlot>,
    /// The serial the next recorded dup gets.
    next_serial: u32,
}

/// One number's entry: `set` is [`NO_SET`] when the number is no dup.
#[derive(Clone, Copy, Debug)]
struct DupSlot {
    set: u64,
    pos: u32,
    /// Tells this record from a later one of the same number (wrapping).
    serial: u32,
}

/// No set has this id (ids are at most [`MAX_SET_ID`]).
const NO_SET: u64 = u64::MAX;

impl DupOwners {
    const fn new() -> Self {
        DupOwners {
            by_fd: Vec::new(),
            next_serial: 0,
        }
    }

    fn slot(&self, fd: RawFd) -> Option<&DupSlot> {
        let i = usize::try_from(fd).ok()?;
        self.by_fd.get(i).filter(|e| e.set != NO_SET)
    }

    fn get(&self, fd: RawFd) -> Option<u64> {
        self.slot(fd).map(|e| e.set)
    }

    /// The set and the position in its `dups`.
    fn entry(&self, fd: RawFd) -> Option<(u64, usize)> {
        self.slot(fd).map(|e| (e.set, e.pos as usize))
    }

    /// The serial of `fd`'s record.
    fn serial(&self, fd: RawFd) -> Option<u32> {
        self.slot(fd).map(|e| e.serial)
    }

    /// Record `fd` at `pos` of set `set`'s `dups`; returns its serial.
    fn insert(&mut self, fd: RawFd, set: u64, pos: usize) -> u32 {
        let serial = self.next_serial;
        self.next_serial = serial.wrapping_add(1);
        let Ok(i) = usize::try_from(fd) else {
            return serial;
        };
        if i >= self.by_fd.len() {
            self.by_fd.resize(
                i + 1,
                DupSlot {
                    set: NO_SET,
                    pos: 0,
                    serial: 0,
                },
            );
        }
        self.by_fd[i] = DupSlot {
            set,
            pos: pos as u32,
            serial,
        };
        serial
    }

    /// `fd` moved to `pos` in its set's `dups` (when `fd` is that set's dup).
    fn moved(&mut self, fd: RawFd, set: u64, pos: usize) {
        if let Ok(i) = usize::try_from(fd)
            && let Some(e) = self.by_fd.get_mut(i)
            && e.set == set
        {
            e.pos = pos as u32;
        }
    }

    fn remove(&mut self, fd: RawFd) -> Option<(u64, usize)> {
        let i = usize::try_from(fd).ok()?;
        let e = self.by_fd.get_mut(i)?;
        if e.set == NO_SET {
            return None;
        }
        let was = (e.set, e.pos as usize);
        e.set = NO_SET;
        Some(was)
    }

    fn clear(&mut self) {
        self.by_fd.clear();
    }

    /// The dups' numbers, ascending.
    fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.by_fd
            .iter()
            .enumerate()
            .filter(|(_, e)| e.set != NO_SET)
            .map(|(i, _)| i as RawFd)
    }
}

impl FdSet {
    /// Take the dup at `pos` out of `dups` (the last one moves there) and
    /// tell the owner table where the moved one now is.
    fn take_dup_at(&mut self, set: u64, pos: usize, owners: &mut DupOwners) {
        self.dups.swap_remove(pos);
        if let Some(&moved) = self.dups.get(pos) {
            owners.moved(moved, set, pos);
        }
    }

    /// Take `fd`, recorded at `pos`, out of `dups`; a `pos` that does not
    /// hold `fd` (never, if the table is right) falls back to a search.
    fn take_dup(&mut self, set: u64, fd: RawFd, pos: usize, owners: &mut DupOwners) {
        let pos = if self.dups.get(pos) == Some(&fd) {
            Some(pos)
        } else {
            self.dups.iter().position(|&d| d == fd)
        };
        if let Some(pos) = pos {
            self.take_dup_at(set, pos, owners);
        }
    }
}

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
                    .members
                    .iter()
                    .filter(|m| !m.removed)
                    .map(|m| (m.fd, m.opaque.clone()))
                    .collect(),
            })
            .collect()
    }

    /// Choose the member an open with `flags` would duplicate: the newest one
    /// not removed with the same access mode, preferring a matching `O_DIRECT`.
    fn choose(s: &FdSet, ops: &mut (impl FdOps + ?Sized), flags: i32) -> Option<MemberRef> {
        let want = flags & O_ACCMODE;
        let eligible = |m: &&Member| !m.removed && m.access_mode() == want;
        let mut candidates = s.members.iter().rev().filter(eligible);
        let newest = candidates.next()?;
        let newest_ref = MemberRef {
            fd: newest.fd,
            info: newest.info,
        };
        if candidates.next().is_none() {
            return Some(newest_ref);
        }
        // O_DIRECT can be changed with F_SETFL, so it is asked for only when
        // there is a choice to make.
        s.members
            .iter()
            .rev()
            .filter(eligible)
            .find(|m| {
                let cur = ops.get_status_flags(m.fd).unwrap_or(m.info.status_flags);
                cur & libc::O_DIRECT == flags & libc::O_DIRECT
            })
            .map(|m| MemberRef {
                fd: m.fd,
                info: m.info,
            })
            .or(Some(newest_ref))
    }

    /// Open set `set` with open(2) `flags` (spec section 2, "Open"). On failure
    /// nothing is left behind.
    pub fn open(&mut self, ops: &mut (impl FdOps + ?Sized), set: u64, flags: i32) -> OpenOutcome {
        self.open_with_closed(ops, set, flags, &mut Vec::new())
    }

    /// [`Registry::open`], also telling which members it closed: the dup's
    /// number may have been a stale record's (see below), whose set is then
    /// cleaned up.
    pub fn open_with_closed(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
        closed: &mut Vec<ClosedMember>,
    ) -> OpenOutcome {
        let (member, dup) = match self.dup_member(ops, set, flags) {
            Ok(made) => made,
            Err(outcome) => return outcome,
        };
        if let Err((errno, what)) = Self::apply_open_flags(ops, dup, &member, flags) {
            ops.close(dup);
            return OpenOutcome::SyscallFailed {
                set,
                member: member.fd,
                errno,
                what,
            };
        }
        self.record_new_dup(ops, set, dup, closed);
        OpenOutcome::Opened {
            set,
            member: member.fd,
            dup,
        }
    }

    /// Steps 2 to 4 of an open up to the dup: the member chosen, the
    /// `O_SYNC` check, the new descriptor. Nothing is recorded yet.
    fn dup_member(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
    ) -> Result<(MemberRef, RawFd), OpenOutcome> {
        let member = self.choose_member(ops, set, flags)?;
        let cloexec = flags & libc::O_CLOEXEC != 0;
        let dup = match ops.dup(member.fd, cloexec) {
            Ok(fd) => fd,
            Err(errno) => {
                return Err(OpenOutcome::SyscallFailed {
                    set,
                    member: member.fd,
                    errno,
                    what: "dup",
                });
            }
        };
        Ok((member, dup))
    }

    /// Steps 2 and 3 of an open and its `O_SYNC` check: the member to duplicate.
    fn choose_member(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        flags: i32,
    ) -> Result<MemberRef, OpenOutcome> {
        let Some(s) = self.sets.get_mut(&set) else {
            return Err(OpenOutcome::NoSuchSet { set });
        };
        // Only the number and the cached flags: no copy of the opaque text
        // on the hot path.
        let Some(member) = Self::choose(s, ops, flags) else {
            return Err(OpenOutcome::NoMemberForMode {
                set,
                accmode: flags & O_ACCMODE,
                present: PresentModes::of(s),
            });
        };
        if (flags & libc::O_SYNC) != (member.info.status_flags & libc::O_SYNC) {
            return Err(OpenOutcome::SyncMismatch {
                set,
                member: member.fd,
            });
        }
        Ok(member)
    }

    /// Record `dup`, just made from a member of `set`, in that set. Returns
    /// the record's serial and the set's cleanup count after it, or `None`
    /// when there is no such set (nothing recorded).
    fn record_new_dup(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        dup: RawFd,
        closed: &mut Vec<ClosedMember>,
    ) -> Option<(u32, u32)> {
        let s = self.sets.get_mut(&set)?;
        // Counted first: the cleanup below must see this dup.
        s.dups.push(dup);
        let pos = s.dups.len() - 1;
        // The number is free, so a record of it is stale: the program closed
        // that dup where no hook sees it (fcloseall, closedir of an
        // fdopendir). Forget it, or its set would count it forever.
        if self.dup_owner.get(dup).is_none() {
            let cleanups = s.cleanups;
            return Some((self.dup_owner.insert(dup, set, pos), cleanups));
        }
        self.forget_dup(ops, dup, closed);
        // In the same set, the stale record's removal moved the new one.
        let s = &self.sets[&set];
        let pos = s.dups.iter().rposition(|&d| d == dup).unwrap_or(pos);
        let cleanups = s.cleanups;
        Some((self.dup_owner.insert(dup, set, pos), cleanups))
    }

    /// What open(2) would do to a fresh description, done to the shared one:
    /// status flags, truncation, offset 0. Calls skipped when they would
    /// change nothing.
    fn apply_open_flags(
        ops: &mut (impl FdOps + ?Sized),
        dup: RawFd,
        member: &MemberRef,
        flags: i32,
    ) -> Result<(), (Errno, &'static str)> {
        let cur = ops.get_status_flags(dup).map_err(|e| (e, "F_GETFL"))?;
        if cur & SETFL_MASK != flags & SETFL_MASK {
            ops.set_status_flags(dup, flags)
                .map_err(|e| (e, "F_SETFL"))?;
        }
        let excl_create = libc::O_CREAT | libc::O_EXCL;
        if flags & libc::O_TRUNC != 0 || flags & excl_create == excl_create {
            ops.truncate(dup).map_err(|e| (e, "ftruncate"))?;
        }
        if member.info.regular && flags & libc::O_APPEND == 0 {
            ops.rewind(dup).map_err(|e| (e, "lseek"))?;
        }
        Ok(())
    }

    /// Forget dup `fd` (the caller closes it) and run its set's cleanup.
    /// Returns whether `fd` was a dup.
    pub fn forget_dup(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        fd: RawFd,
        closed: &mut Vec<ClosedMember>,
    ) -> bool {
        let Some((set, pos)) = self.dup_owner.remove(fd) else {
            return false;
        };
        let in_use = self.in_use();
        let Some(s) = self.sets.get_mut(&set) else {
            return true;
        };
        s.take_dup(set, fd, pos, &mut self.dup_owner);
        if Self::cleanup_set(ops, set, s, in_use, closed, &mut self.member_epoch) {
            self.sets.remove(&set);
        }
        true
    }

    pub fn monitor_connected(&mut self) {
        self.monitors += 1;
    }

    /// The last monitor leaving runs cleanup on every set.
    pub fn monitor_disconnected(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        closed: &mut Vec<ClosedMember>,
    ) {
        self.monitors = self.monitors.saturating_sub(1);
        if self.monitors == 0 {
            let ids: Vec<u64> = self.sets.keys().copied().collect();
            for id in ids {
                self.cleanup(ops, id, closed);
            }
        }
    }

    /// Close and drop every member with `refcount == 0 && (!in_use || removed)`;
    /// drop the set once it has no members and no dups.
    pub fn cleanup(
        &mut self,
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        closed: &mut Vec<ClosedMember>,
    ) {
        let in_use = self.in_use();
        if let Some(s) = self.sets.get_mut(&set)
            && Self::cleanup_set(ops, set, s, in_use, closed, &mut self.member_epoch)
        {
            self.sets.remove(&set);
        }
    }

    /// [`Registry::cleanup`] of one set already found; true when the set is
    /// left with no members and no dups (the caller drops it).
    #[inline]
    fn cleanup_set(
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        s: &mut FdSet,
        in_use: bool,
        closed: &mut Vec<ClosedMember>,
        member_epoch: &mut u64,
    ) -> bool {
        s.cleanups = s.cleanups.wrapping_add(1);
        if s.dups.is_empty() && (!in_use || s.members.iter().any(|m| m.removed)) {
            Self::close_unused_members(ops, set, s, in_use, closed);
            *member_epoch += 1;
        }
        s.members.is_empty() && s.dups.is_empty()
    }

    /// The closing part of cleanup (refcount 0): members removed, or all of
    /// them when the set is not in use.
    #[cold]
    fn close_unused_members(
        ops: &mut (impl FdOps + ?Sized),
        set: u64,
        s: &mut FdSet,
        in_use: bool,
        closed: &mut Vec<ClosedMember>,
    ) {
        s.members.retain(|m| {
            let drop = !in_use || m.removed;
            if drop {
                ops.close(m.fd);
                closed.push(ClosedMember {
                    set,
                    fd: m.fd,
                    removed: m.removed,
                    accmode: m.access_mode(),
                });
            }
            !drop
        });
    }

    /// A member moved to another descriptor number (the program claimed its
    /// old number with `dup2`).
    pub fn renumber(&mut self, old: RawFd, new: RawFd) -> bool {
        self.member_epoch += 1;
        for s in self.sets.values_mut() {
            if let Some(m) = s.members.iter_mut().find(|m| m.fd == old) {
                m.fd = new;
                return true;
            }
        }
        false
    }

    /// A forked child: no monitor of its own, and nobody who could remove
    /// its sets, so they stay in use for its life.
    pub fn child_after_fork(&mut self) {
        self.monitors = 0;
        self.always_in_use = true;
    }

    /// A dup moved to another number (freopen puts it where the stream's
    /// descriptor was).
    pub fn renumber_dup(&mut self, old: RawFd, new: RawFd) -> bool {
        let Some((set, pos)) = self.dup_owner.remove(old) else {
            return false;
        };
        // A record of `new` is stale (the number was free): it stops counting.
        self.drop_record(new);
        let Some(s) = self.sets.get_mut(&set) else {
            return true;
        };
        let pos = if s.dups.get(pos) == Some(&old) {
            Some(pos)
        } else {
            s.dups.iter().position(|&d| d == old)
        };
        if let Some(pos) = pos {
            s.dups[pos] = new;
            self.dup_owner.insert(new, set, pos);
        }
        true
    }

    /// Take `fd`'s record out of the owner table and its set's `dups`,
    /// without cleanup.
    fn drop_record(&mut self, fd: RawFd) {
        if let Some((set, pos)) = self.dup_owner.remove(fd)
            && let Some(s) = self.sets.get_mut(&set)
        {
            s.take_dup(set, fd, pos, &mut self.dup_owner);
        }
    }

    /// Drop everything without closing (a forked child's registry is
    /// replaced, or state is rebuilt from an exec).
    pub fn clear(&mut self) {
        self.member_epoch += 1;
        self.sets.clear();
        self.dup_owner.clear();
        self.monitors = 0;
    }

    /// Record a dup that already exists (state carried across exec).
    pub fn restore_dup(&mut self, set: u64, fd: RawFd) {
        self.drop_record(fd);
        let s = self.sets.entry(set).or_default();
        s.dups.push(fd);
        self.dup_owner.insert(fd, set, s.dups.len() - 1);
    }

    /// Whether the owner table and the sets' `dups` agree: every dup listed
    /// once, at the position its entry names (for tests).
    pub fn dup_index_consistent(&self) -> bool {
        let listed: usize = self.sets.values().map(|s| s.dups.len()).sum();
        listed == self.dup_owner.fds().count()
            && self.sets.iter().all(|(&id, s)| {
                s.dups
                    .iter()
                    .enumerate()
                    .all(|(pos, &fd)| self.dup_owner.entry(fd) == Some((id, pos)))
            })
    }

    /// Restore a member exactly as it was (state carried across exec).
    pub fn restore_member(&mut self, set: u64, member: Member) {
        self.sets.entry(set).or_default().members.push(member);
    }
}

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
